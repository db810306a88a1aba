import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EntityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTITY_TYPE_UNSPECIFIED: _ClassVar[EntityType]
    ENTITY_TYPE_PERSON: _ClassVar[EntityType]
    ENTITY_TYPE_ORGANIZATION: _ClassVar[EntityType]
    ENTITY_TYPE_VESSEL: _ClassVar[EntityType]
    ENTITY_TYPE_AIRCRAFT: _ClassVar[EntityType]

class PartyRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTY_ROLE_UNSPECIFIED: _ClassVar[PartyRole]
    PARTY_ROLE_SHIPPER: _ClassVar[PartyRole]
    PARTY_ROLE_SUPPLIER: _ClassVar[PartyRole]
    PARTY_ROLE_CONSIGNEE: _ClassVar[PartyRole]
    PARTY_ROLE_INTERMEDIATE_CONSIGNEE: _ClassVar[PartyRole]
    PARTY_ROLE_END_USER: _ClassVar[PartyRole]
    PARTY_ROLE_NOTIFY_PARTY: _ClassVar[PartyRole]
    PARTY_ROLE_FREIGHT_FORWARDER: _ClassVar[PartyRole]
    PARTY_ROLE_CARRIER: _ClassVar[PartyRole]
    PARTY_ROLE_BANK: _ClassVar[PartyRole]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_CLEAR: _ClassVar[Decision]
    DECISION_REVIEW: _ClassVar[Decision]
    DECISION_BLOCK: _ClassVar[Decision]

class DesignationDateBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DESIGNATION_DATE_BASIS_UNSPECIFIED: _ClassVar[DesignationDateBasis]
    DESIGNATION_DATE_BASIS_OFFICIAL: _ClassVar[DesignationDateBasis]
    DESIGNATION_DATE_BASIS_FIRST_SEEN: _ClassVar[DesignationDateBasis]
    DESIGNATION_DATE_BASIS_NOT_LATER_THAN: _ClassVar[DesignationDateBasis]

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_INFO: _ClassVar[Severity]
    SEVERITY_LOW: _ClassVar[Severity]
    SEVERITY_MEDIUM: _ClassVar[Severity]
    SEVERITY_HIGH: _ClassVar[Severity]
    SEVERITY_CRITICAL: _ClassVar[Severity]

class AcceptanceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCEPTANCE_STATUS_UNSPECIFIED: _ClassVar[AcceptanceStatus]
    ACCEPTANCE_STATUS_ACTIVE: _ClassVar[AcceptanceStatus]
    ACCEPTANCE_STATUS_EXPIRED: _ClassVar[AcceptanceStatus]
    ACCEPTANCE_STATUS_REVOKED: _ClassVar[AcceptanceStatus]
    ACCEPTANCE_STATUS_VOIDED: _ClassVar[AcceptanceStatus]
ENTITY_TYPE_UNSPECIFIED: EntityType
ENTITY_TYPE_PERSON: EntityType
ENTITY_TYPE_ORGANIZATION: EntityType
ENTITY_TYPE_VESSEL: EntityType
ENTITY_TYPE_AIRCRAFT: EntityType
PARTY_ROLE_UNSPECIFIED: PartyRole
PARTY_ROLE_SHIPPER: PartyRole
PARTY_ROLE_SUPPLIER: PartyRole
PARTY_ROLE_CONSIGNEE: PartyRole
PARTY_ROLE_INTERMEDIATE_CONSIGNEE: PartyRole
PARTY_ROLE_END_USER: PartyRole
PARTY_ROLE_NOTIFY_PARTY: PartyRole
PARTY_ROLE_FREIGHT_FORWARDER: PartyRole
PARTY_ROLE_CARRIER: PartyRole
PARTY_ROLE_BANK: PartyRole
DECISION_UNSPECIFIED: Decision
DECISION_CLEAR: Decision
DECISION_REVIEW: Decision
DECISION_BLOCK: Decision
DESIGNATION_DATE_BASIS_UNSPECIFIED: DesignationDateBasis
DESIGNATION_DATE_BASIS_OFFICIAL: DesignationDateBasis
DESIGNATION_DATE_BASIS_FIRST_SEEN: DesignationDateBasis
DESIGNATION_DATE_BASIS_NOT_LATER_THAN: DesignationDateBasis
SEVERITY_UNSPECIFIED: Severity
SEVERITY_INFO: Severity
SEVERITY_LOW: Severity
SEVERITY_MEDIUM: Severity
SEVERITY_HIGH: Severity
SEVERITY_CRITICAL: Severity
ACCEPTANCE_STATUS_UNSPECIFIED: AcceptanceStatus
ACCEPTANCE_STATUS_ACTIVE: AcceptanceStatus
ACCEPTANCE_STATUS_EXPIRED: AcceptanceStatus
ACCEPTANCE_STATUS_REVOKED: AcceptanceStatus
ACCEPTANCE_STATUS_VOIDED: AcceptanceStatus

class Identifier(_message.Message):
    __slots__ = ("type", "value", "country")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    type: str
    value: str
    country: str
    def __init__(self, type: _Optional[str] = ..., value: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...

class Address(_message.Message):
    __slots__ = ("street", "city", "region", "postal_code", "country", "full")
    STREET_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    street: str
    city: str
    region: str
    postal_code: str
    country: str
    full: str
    def __init__(self, street: _Optional[str] = ..., city: _Optional[str] = ..., region: _Optional[str] = ..., postal_code: _Optional[str] = ..., country: _Optional[str] = ..., full: _Optional[str] = ...) -> None: ...

class Party(_message.Message):
    __slots__ = ("name", "entity_type", "aliases", "birth_date", "country", "address", "identifiers", "role", "party_ref")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PARTY_REF_FIELD_NUMBER: _ClassVar[int]
    name: str
    entity_type: EntityType
    aliases: _containers.RepeatedScalarFieldContainer[str]
    birth_date: str
    country: str
    address: Address
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    role: PartyRole
    party_ref: str
    def __init__(self, name: _Optional[str] = ..., entity_type: _Optional[_Union[EntityType, str]] = ..., aliases: _Optional[_Iterable[str]] = ..., birth_date: _Optional[str] = ..., country: _Optional[str] = ..., address: _Optional[_Union[Address, _Mapping]] = ..., identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ..., role: _Optional[_Union[PartyRole, str]] = ..., party_ref: _Optional[str] = ...) -> None: ...

class ScreenPartyRequest(_message.Message):
    __slots__ = ("party", "min_score", "sources", "client_ref", "max_results")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REF_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    party: Party
    min_score: float
    sources: _containers.RepeatedScalarFieldContainer[str]
    client_ref: str
    max_results: int
    def __init__(self, party: _Optional[_Union[Party, _Mapping]] = ..., min_score: _Optional[float] = ..., sources: _Optional[_Iterable[str]] = ..., client_ref: _Optional[str] = ..., max_results: _Optional[int] = ...) -> None: ...

class ScoreComponent(_message.Message):
    __slots__ = ("feature", "contribution", "detail")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    feature: str
    contribution: float
    detail: str
    def __init__(self, feature: _Optional[str] = ..., contribution: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...

class Match(_message.Message):
    __slots__ = ("entity_id", "source", "source_ref", "name", "matched_name", "entity_type", "score", "programs", "designation_date", "designation_date_basis", "countries", "explanation", "query_name", "accepted", "acceptance_id", "designation_summary", "absent_from_publication")
    ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REF_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MATCHED_NAME_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PROGRAMS_FIELD_NUMBER: _ClassVar[int]
    DESIGNATION_DATE_FIELD_NUMBER: _ClassVar[int]
    DESIGNATION_DATE_BASIS_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    QUERY_NAME_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    DESIGNATION_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ABSENT_FROM_PUBLICATION_FIELD_NUMBER: _ClassVar[int]
    entity_id: str
    source: str
    source_ref: str
    name: str
    matched_name: str
    entity_type: EntityType
    score: float
    programs: _containers.RepeatedScalarFieldContainer[str]
    designation_date: str
    designation_date_basis: DesignationDateBasis
    countries: _containers.RepeatedScalarFieldContainer[str]
    explanation: _containers.RepeatedCompositeFieldContainer[ScoreComponent]
    query_name: str
    accepted: bool
    acceptance_id: str
    designation_summary: str
    absent_from_publication: str
    def __init__(self, entity_id: _Optional[str] = ..., source: _Optional[str] = ..., source_ref: _Optional[str] = ..., name: _Optional[str] = ..., matched_name: _Optional[str] = ..., entity_type: _Optional[_Union[EntityType, str]] = ..., score: _Optional[float] = ..., programs: _Optional[_Iterable[str]] = ..., designation_date: _Optional[str] = ..., designation_date_basis: _Optional[_Union[DesignationDateBasis, str]] = ..., countries: _Optional[_Iterable[str]] = ..., explanation: _Optional[_Iterable[_Union[ScoreComponent, _Mapping]]] = ..., query_name: _Optional[str] = ..., accepted: _Optional[bool] = ..., acceptance_id: _Optional[str] = ..., designation_summary: _Optional[str] = ..., absent_from_publication: _Optional[str] = ...) -> None: ...

class ScreenPartyResponse(_message.Message):
    __slots__ = ("screening_id", "decision", "risk_score", "matches", "data_version", "screened_at", "client_ref", "min_score", "data_age")
    SCREENING_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    RISK_SCORE_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    DATA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCREENED_AT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REF_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    DATA_AGE_FIELD_NUMBER: _ClassVar[int]
    screening_id: str
    decision: Decision
    risk_score: int
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    data_version: str
    screened_at: _timestamp_pb2.Timestamp
    client_ref: str
    min_score: float
    data_age: DataAge
    def __init__(self, screening_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., risk_score: _Optional[int] = ..., matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ..., data_version: _Optional[str] = ..., screened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., client_ref: _Optional[str] = ..., min_score: _Optional[float] = ..., data_age: _Optional[_Union[DataAge, _Mapping]] = ...) -> None: ...

class DataAge(_message.Message):
    __slots__ = ("oldest_source", "oldest_publication_date", "oldest_age_days", "stale_sources", "sources")
    OLDEST_SOURCE_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PUBLICATION_DATE_FIELD_NUMBER: _ClassVar[int]
    OLDEST_AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    STALE_SOURCES_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    oldest_source: str
    oldest_publication_date: str
    oldest_age_days: int
    stale_sources: _containers.RepeatedScalarFieldContainer[str]
    sources: _containers.RepeatedCompositeFieldContainer[SourceAge]
    def __init__(self, oldest_source: _Optional[str] = ..., oldest_publication_date: _Optional[str] = ..., oldest_age_days: _Optional[int] = ..., stale_sources: _Optional[_Iterable[str]] = ..., sources: _Optional[_Iterable[_Union[SourceAge, _Mapping]]] = ...) -> None: ...

class SourceAge(_message.Message):
    __slots__ = ("source", "publication_date", "age_days", "stale")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_DATE_FIELD_NUMBER: _ClassVar[int]
    AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    source: str
    publication_date: str
    age_days: int
    stale: bool
    def __init__(self, source: _Optional[str] = ..., publication_date: _Optional[str] = ..., age_days: _Optional[int] = ..., stale: _Optional[bool] = ...) -> None: ...

class GoodsItem(_message.Message):
    __slots__ = ("hs_code", "description", "value", "currency", "origin_country", "quantity", "unit")
    HS_CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    hs_code: str
    description: str
    value: float
    currency: str
    origin_country: str
    quantity: float
    unit: str
    def __init__(self, hs_code: _Optional[str] = ..., description: _Optional[str] = ..., value: _Optional[float] = ..., currency: _Optional[str] = ..., origin_country: _Optional[str] = ..., quantity: _Optional[float] = ..., unit: _Optional[str] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ("origin_country", "destination_country", "transit_countries", "ports")
    ORIGIN_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRANSIT_COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    origin_country: str
    destination_country: str
    transit_countries: _containers.RepeatedScalarFieldContainer[str]
    ports: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, origin_country: _Optional[str] = ..., destination_country: _Optional[str] = ..., transit_countries: _Optional[_Iterable[str]] = ..., ports: _Optional[_Iterable[str]] = ...) -> None: ...

class ScreenShipmentRequest(_message.Message):
    __slots__ = ("shipment_ref", "parties", "vessels", "goods", "route", "client_ref", "min_score")
    SHIPMENT_REF_FIELD_NUMBER: _ClassVar[int]
    PARTIES_FIELD_NUMBER: _ClassVar[int]
    VESSELS_FIELD_NUMBER: _ClassVar[int]
    GOODS_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REF_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    shipment_ref: str
    parties: _containers.RepeatedCompositeFieldContainer[Party]
    vessels: _containers.RepeatedCompositeFieldContainer[Party]
    goods: _containers.RepeatedCompositeFieldContainer[GoodsItem]
    route: Route
    client_ref: str
    min_score: float
    def __init__(self, shipment_ref: _Optional[str] = ..., parties: _Optional[_Iterable[_Union[Party, _Mapping]]] = ..., vessels: _Optional[_Iterable[_Union[Party, _Mapping]]] = ..., goods: _Optional[_Iterable[_Union[GoodsItem, _Mapping]]] = ..., route: _Optional[_Union[Route, _Mapping]] = ..., client_ref: _Optional[str] = ..., min_score: _Optional[float] = ...) -> None: ...

class PartyResult(_message.Message):
    __slots__ = ("index", "is_vessel", "role", "name", "party_ref", "decision", "risk_score", "matches")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    IS_VESSEL_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARTY_REF_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    RISK_SCORE_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    index: int
    is_vessel: bool
    role: PartyRole
    name: str
    party_ref: str
    decision: Decision
    risk_score: int
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    def __init__(self, index: _Optional[int] = ..., is_vessel: _Optional[bool] = ..., role: _Optional[_Union[PartyRole, str]] = ..., name: _Optional[str] = ..., party_ref: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., risk_score: _Optional[int] = ..., matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("code", "severity", "message", "evidence", "party_index", "vessel_index", "goods_index", "score", "entity_ids", "party", "vessel", "goods_line")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    PARTY_INDEX_FIELD_NUMBER: _ClassVar[int]
    VESSEL_INDEX_FIELD_NUMBER: _ClassVar[int]
    GOODS_INDEX_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    VESSEL_FIELD_NUMBER: _ClassVar[int]
    GOODS_LINE_FIELD_NUMBER: _ClassVar[int]
    code: str
    severity: Severity
    message: str
    evidence: _containers.RepeatedScalarFieldContainer[str]
    party_index: int
    vessel_index: int
    goods_index: int
    score: int
    entity_ids: _containers.RepeatedScalarFieldContainer[str]
    party: int
    vessel: int
    goods_line: int
    def __init__(self, code: _Optional[str] = ..., severity: _Optional[_Union[Severity, str]] = ..., message: _Optional[str] = ..., evidence: _Optional[_Iterable[str]] = ..., party_index: _Optional[int] = ..., vessel_index: _Optional[int] = ..., goods_index: _Optional[int] = ..., score: _Optional[int] = ..., entity_ids: _Optional[_Iterable[str]] = ..., party: _Optional[int] = ..., vessel: _Optional[int] = ..., goods_line: _Optional[int] = ...) -> None: ...

class ScreenShipmentResponse(_message.Message):
    __slots__ = ("screening_id", "decision", "risk_score", "party_results", "findings", "data_version", "screened_at", "shipment_ref", "policy_version", "client_ref", "data_age")
    SCREENING_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    RISK_SCORE_FIELD_NUMBER: _ClassVar[int]
    PARTY_RESULTS_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    DATA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCREENED_AT_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_REF_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REF_FIELD_NUMBER: _ClassVar[int]
    DATA_AGE_FIELD_NUMBER: _ClassVar[int]
    screening_id: str
    decision: Decision
    risk_score: int
    party_results: _containers.RepeatedCompositeFieldContainer[PartyResult]
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    data_version: str
    screened_at: _timestamp_pb2.Timestamp
    shipment_ref: str
    policy_version: str
    client_ref: str
    data_age: DataAge
    def __init__(self, screening_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., risk_score: _Optional[int] = ..., party_results: _Optional[_Iterable[_Union[PartyResult, _Mapping]]] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., data_version: _Optional[str] = ..., screened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shipment_ref: _Optional[str] = ..., policy_version: _Optional[str] = ..., client_ref: _Optional[str] = ..., data_age: _Optional[_Union[DataAge, _Mapping]] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message", "field_violations")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    field_violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., field_violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ...) -> None: ...

class ScreenPartiesRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: ScreenPartyRequest
    def __init__(self, request: _Optional[_Union[ScreenPartyRequest, _Mapping]] = ...) -> None: ...

class ScreenPartiesResponse(_message.Message):
    __slots__ = ("index", "response", "error")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    index: int
    response: ScreenPartyResponse
    error: ItemError
    def __init__(self, index: _Optional[int] = ..., response: _Optional[_Union[ScreenPartyResponse, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class ComparePartiesRequest(_message.Message):
    __slots__ = ("left", "right")
    LEFT_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    left: Party
    right: Party
    def __init__(self, left: _Optional[_Union[Party, _Mapping]] = ..., right: _Optional[_Union[Party, _Mapping]] = ...) -> None: ...

class ComparePartiesResponse(_message.Message):
    __slots__ = ("score", "is_match", "explanation", "threshold")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    IS_MATCH_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    score: float
    is_match: bool
    explanation: _containers.RepeatedCompositeFieldContainer[ScoreComponent]
    threshold: float
    def __init__(self, score: _Optional[float] = ..., is_match: _Optional[bool] = ..., explanation: _Optional[_Iterable[_Union[ScoreComponent, _Mapping]]] = ..., threshold: _Optional[float] = ...) -> None: ...

class GetEntityRequest(_message.Message):
    __slots__ = ("entity_id",)
    ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    entity_id: str
    def __init__(self, entity_id: _Optional[str] = ...) -> None: ...

class Alias(_message.Message):
    __slots__ = ("name", "kind", "quality")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    quality: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., quality: _Optional[str] = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ("entity_id", "source", "source_ref", "entity_type", "name", "aliases", "programs", "countries", "birth_dates", "addresses", "identifiers", "remarks", "designation_date", "designation_date_basis", "first_seen", "nationalities", "birth_places", "properties", "list_version", "designation_summary", "absent_from_publication")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_REF_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    PROGRAMS_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATES_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    REMARKS_FIELD_NUMBER: _ClassVar[int]
    DESIGNATION_DATE_FIELD_NUMBER: _ClassVar[int]
    DESIGNATION_DATE_BASIS_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    NATIONALITIES_FIELD_NUMBER: _ClassVar[int]
    BIRTH_PLACES_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    LIST_VERSION_FIELD_NUMBER: _ClassVar[int]
    DESIGNATION_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ABSENT_FROM_PUBLICATION_FIELD_NUMBER: _ClassVar[int]
    entity_id: str
    source: str
    source_ref: str
    entity_type: EntityType
    name: str
    aliases: _containers.RepeatedCompositeFieldContainer[Alias]
    programs: _containers.RepeatedScalarFieldContainer[str]
    countries: _containers.RepeatedScalarFieldContainer[str]
    birth_dates: _containers.RepeatedScalarFieldContainer[str]
    addresses: _containers.RepeatedCompositeFieldContainer[Address]
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    remarks: str
    designation_date: str
    designation_date_basis: DesignationDateBasis
    first_seen: str
    nationalities: _containers.RepeatedScalarFieldContainer[str]
    birth_places: _containers.RepeatedScalarFieldContainer[str]
    properties: _containers.ScalarMap[str, str]
    list_version: str
    designation_summary: str
    absent_from_publication: str
    def __init__(self, entity_id: _Optional[str] = ..., source: _Optional[str] = ..., source_ref: _Optional[str] = ..., entity_type: _Optional[_Union[EntityType, str]] = ..., name: _Optional[str] = ..., aliases: _Optional[_Iterable[_Union[Alias, _Mapping]]] = ..., programs: _Optional[_Iterable[str]] = ..., countries: _Optional[_Iterable[str]] = ..., birth_dates: _Optional[_Iterable[str]] = ..., addresses: _Optional[_Iterable[_Union[Address, _Mapping]]] = ..., identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ..., remarks: _Optional[str] = ..., designation_date: _Optional[str] = ..., designation_date_basis: _Optional[_Union[DesignationDateBasis, str]] = ..., first_seen: _Optional[str] = ..., nationalities: _Optional[_Iterable[str]] = ..., birth_places: _Optional[_Iterable[str]] = ..., properties: _Optional[_Mapping[str, str]] = ..., list_version: _Optional[str] = ..., designation_summary: _Optional[str] = ..., absent_from_publication: _Optional[str] = ...) -> None: ...

class GetEntityResponse(_message.Message):
    __slots__ = ("entity", "data_version")
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    DATA_VERSION_FIELD_NUMBER: _ClassVar[int]
    entity: Entity
    data_version: str
    def __init__(self, entity: _Optional[_Union[Entity, _Mapping]] = ..., data_version: _Optional[str] = ...) -> None: ...

class GetDataStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SourceStatus(_message.Message):
    __slots__ = ("source", "version", "publication_date", "entity_count", "loaded_at", "staleness_seconds", "files", "sha256", "added", "removed", "changed", "last_refresh_at", "last_refresh_outcome", "age_days", "current_as_of", "max_age_days", "stale")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_DATE_FIELD_NUMBER: _ClassVar[int]
    ENTITY_COUNT_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    STALENESS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    LAST_REFRESH_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_REFRESH_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_AS_OF_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    source: str
    version: str
    publication_date: str
    entity_count: int
    loaded_at: _timestamp_pb2.Timestamp
    staleness_seconds: int
    files: _containers.RepeatedScalarFieldContainer[str]
    sha256: str
    added: int
    removed: int
    changed: int
    last_refresh_at: _timestamp_pb2.Timestamp
    last_refresh_outcome: str
    age_days: int
    current_as_of: _timestamp_pb2.Timestamp
    max_age_days: float
    stale: bool
    def __init__(self, source: _Optional[str] = ..., version: _Optional[str] = ..., publication_date: _Optional[str] = ..., entity_count: _Optional[int] = ..., loaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., staleness_seconds: _Optional[int] = ..., files: _Optional[_Iterable[str]] = ..., sha256: _Optional[str] = ..., added: _Optional[int] = ..., removed: _Optional[int] = ..., changed: _Optional[int] = ..., last_refresh_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_refresh_outcome: _Optional[str] = ..., age_days: _Optional[int] = ..., current_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_age_days: _Optional[float] = ..., stale: _Optional[bool] = ...) -> None: ...

class GetDataStatusResponse(_message.Message):
    __slots__ = ("data_version", "sources", "index_loaded_at", "entity_count", "data_age")
    DATA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    INDEX_LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    ENTITY_COUNT_FIELD_NUMBER: _ClassVar[int]
    DATA_AGE_FIELD_NUMBER: _ClassVar[int]
    data_version: str
    sources: _containers.RepeatedCompositeFieldContainer[SourceStatus]
    index_loaded_at: _timestamp_pb2.Timestamp
    entity_count: int
    data_age: DataAge
    def __init__(self, data_version: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[SourceStatus, _Mapping]]] = ..., index_loaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., entity_count: _Optional[int] = ..., data_age: _Optional[_Union[DataAge, _Mapping]] = ...) -> None: ...

class ListChangesRequest(_message.Message):
    __slots__ = ("source", "limit")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    source: str
    limit: int
    def __init__(self, source: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class EntityChange(_message.Message):
    __slots__ = ("entity_id", "name", "fields")
    ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    entity_id: str
    name: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entity_id: _Optional[str] = ..., name: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class PublicationChanges(_message.Message):
    __slots__ = ("source", "previous_version", "version", "publication_date", "ingested_at", "added", "removed", "changed")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PUBLICATION_DATE_FIELD_NUMBER: _ClassVar[int]
    INGESTED_AT_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    source: str
    previous_version: str
    version: str
    publication_date: str
    ingested_at: _timestamp_pb2.Timestamp
    added: _containers.RepeatedCompositeFieldContainer[EntityChange]
    removed: _containers.RepeatedCompositeFieldContainer[EntityChange]
    changed: _containers.RepeatedCompositeFieldContainer[EntityChange]
    def __init__(self, source: _Optional[str] = ..., previous_version: _Optional[str] = ..., version: _Optional[str] = ..., publication_date: _Optional[str] = ..., ingested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., added: _Optional[_Iterable[_Union[EntityChange, _Mapping]]] = ..., removed: _Optional[_Iterable[_Union[EntityChange, _Mapping]]] = ..., changed: _Optional[_Iterable[_Union[EntityChange, _Mapping]]] = ...) -> None: ...

class ListChangesResponse(_message.Message):
    __slots__ = ("publications",)
    PUBLICATIONS_FIELD_NUMBER: _ClassVar[int]
    publications: _containers.RepeatedCompositeFieldContainer[PublicationChanges]
    def __init__(self, publications: _Optional[_Iterable[_Union[PublicationChanges, _Mapping]]] = ...) -> None: ...

class Acceptance(_message.Message):
    __slots__ = ("acceptance_id", "party", "counterparty_key", "entity_id", "entity_name", "entity_fingerprint", "data_version", "analyst", "client", "reason", "accepted_at", "expires_at", "status", "status_reason", "status_changed_at", "status_changed_by")
    ACCEPTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_KEY_FIELD_NUMBER: _ClassVar[int]
    ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITY_NAME_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    DATA_VERSION_FIELD_NUMBER: _ClassVar[int]
    ANALYST_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_BY_FIELD_NUMBER: _ClassVar[int]
    acceptance_id: str
    party: Party
    counterparty_key: str
    entity_id: str
    entity_name: str
    entity_fingerprint: str
    data_version: str
    analyst: str
    client: str
    reason: str
    accepted_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    status: AcceptanceStatus
    status_reason: str
    status_changed_at: _timestamp_pb2.Timestamp
    status_changed_by: str
    def __init__(self, acceptance_id: _Optional[str] = ..., party: _Optional[_Union[Party, _Mapping]] = ..., counterparty_key: _Optional[str] = ..., entity_id: _Optional[str] = ..., entity_name: _Optional[str] = ..., entity_fingerprint: _Optional[str] = ..., data_version: _Optional[str] = ..., analyst: _Optional[str] = ..., client: _Optional[str] = ..., reason: _Optional[str] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[AcceptanceStatus, str]] = ..., status_reason: _Optional[str] = ..., status_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_changed_by: _Optional[str] = ...) -> None: ...

class AcceptMatchRequest(_message.Message):
    __slots__ = ("party", "entity_id", "analyst", "reason", "expires_at")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ANALYST_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    party: Party
    entity_id: str
    analyst: str
    reason: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, party: _Optional[_Union[Party, _Mapping]] = ..., entity_id: _Optional[str] = ..., analyst: _Optional[str] = ..., reason: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AcceptMatchResponse(_message.Message):
    __slots__ = ("acceptance",)
    ACCEPTANCE_FIELD_NUMBER: _ClassVar[int]
    acceptance: Acceptance
    def __init__(self, acceptance: _Optional[_Union[Acceptance, _Mapping]] = ...) -> None: ...

class RevokeAcceptanceRequest(_message.Message):
    __slots__ = ("acceptance_id", "analyst", "reason")
    ACCEPTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    ANALYST_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    acceptance_id: str
    analyst: str
    reason: str
    def __init__(self, acceptance_id: _Optional[str] = ..., analyst: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeAcceptanceResponse(_message.Message):
    __slots__ = ("acceptance",)
    ACCEPTANCE_FIELD_NUMBER: _ClassVar[int]
    acceptance: Acceptance
    def __init__(self, acceptance: _Optional[_Union[Acceptance, _Mapping]] = ...) -> None: ...

class ListAcceptancesRequest(_message.Message):
    __slots__ = ("entity_id", "include_inactive", "limit")
    ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    entity_id: str
    include_inactive: bool
    limit: int
    def __init__(self, entity_id: _Optional[str] = ..., include_inactive: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class ListAcceptancesResponse(_message.Message):
    __slots__ = ("acceptances",)
    ACCEPTANCES_FIELD_NUMBER: _ClassVar[int]
    acceptances: _containers.RepeatedCompositeFieldContainer[Acceptance]
    def __init__(self, acceptances: _Optional[_Iterable[_Union[Acceptance, _Mapping]]] = ...) -> None: ...

class MonitoredParty(_message.Message):
    __slots__ = ("monitor_id", "party", "client", "registered_at", "min_score", "known_entity_ids", "data_version")
    MONITOR_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    KNOWN_ENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    DATA_VERSION_FIELD_NUMBER: _ClassVar[int]
    monitor_id: str
    party: Party
    client: str
    registered_at: _timestamp_pb2.Timestamp
    min_score: float
    known_entity_ids: _containers.RepeatedScalarFieldContainer[str]
    data_version: str
    def __init__(self, monitor_id: _Optional[str] = ..., party: _Optional[_Union[Party, _Mapping]] = ..., client: _Optional[str] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., min_score: _Optional[float] = ..., known_entity_ids: _Optional[_Iterable[str]] = ..., data_version: _Optional[str] = ...) -> None: ...

class MonitorPartyRequest(_message.Message):
    __slots__ = ("party", "min_score")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    party: Party
    min_score: float
    def __init__(self, party: _Optional[_Union[Party, _Mapping]] = ..., min_score: _Optional[float] = ...) -> None: ...

class MonitorPartyResponse(_message.Message):
    __slots__ = ("monitored", "matches")
    MONITORED_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    monitored: MonitoredParty
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    def __init__(self, monitored: _Optional[_Union[MonitoredParty, _Mapping]] = ..., matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ...) -> None: ...

class StopMonitoringRequest(_message.Message):
    __slots__ = ("monitor_id",)
    MONITOR_ID_FIELD_NUMBER: _ClassVar[int]
    monitor_id: str
    def __init__(self, monitor_id: _Optional[str] = ...) -> None: ...

class StopMonitoringResponse(_message.Message):
    __slots__ = ("monitored",)
    MONITORED_FIELD_NUMBER: _ClassVar[int]
    monitored: MonitoredParty
    def __init__(self, monitored: _Optional[_Union[MonitoredParty, _Mapping]] = ...) -> None: ...

class ListMonitoredPartiesRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListMonitoredPartiesResponse(_message.Message):
    __slots__ = ("parties", "total")
    PARTIES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    parties: _containers.RepeatedCompositeFieldContainer[MonitoredParty]
    total: int
    def __init__(self, parties: _Optional[_Iterable[_Union[MonitoredParty, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class MonitoringAlert(_message.Message):
    __slots__ = ("alert_id", "monitor_id", "party", "match", "data_version", "previous_version", "raised_at")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    MONITOR_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    DATA_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    monitor_id: str
    party: Party
    match: Match
    data_version: str
    previous_version: str
    raised_at: _timestamp_pb2.Timestamp
    def __init__(self, alert_id: _Optional[str] = ..., monitor_id: _Optional[str] = ..., party: _Optional[_Union[Party, _Mapping]] = ..., match: _Optional[_Union[Match, _Mapping]] = ..., data_version: _Optional[str] = ..., previous_version: _Optional[str] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchAlertsRequest(_message.Message):
    __slots__ = ("after_alert_id",)
    AFTER_ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    after_alert_id: str
    def __init__(self, after_alert_id: _Optional[str] = ...) -> None: ...

class WatchAlertsResponse(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: MonitoringAlert
    def __init__(self, alert: _Optional[_Union[MonitoringAlert, _Mapping]] = ...) -> None: ...
