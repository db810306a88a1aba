"""Findings: the reasons behind a shipment decision, each with a stable code and a severity."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """Ordered: a higher value is more severe."""

    INFO = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]


# Stable finding codes (the README documents each).
PARTY_SANCTIONS_MATCH = "PARTY_SANCTIONS_MATCH"
VESSEL_SANCTIONS_MATCH = "VESSEL_SANCTIONS_MATCH"
EMBARGOED_DESTINATION = "EMBARGOED_DESTINATION"
EMBARGOED_PARTY_COUNTRY = "EMBARGOED_PARTY_COUNTRY"
EMBARGOED_TRANSIT = "EMBARGOED_TRANSIT"
EMBARGOED_ORIGIN = "EMBARGOED_ORIGIN"
EMBARGOED_VESSEL_FLAG = "EMBARGOED_VESSEL_FLAG"
OCCUPIED_REGION = "OCCUPIED_REGION"
CHPL_GOODS_RUSSIA = "CHPL_GOODS_RUSSIA"
CHPL_DIVERSION_RISK = "CHPL_DIVERSION_RISK"
FREIGHT_FORWARDER_CONSIGNEE = "FREIGHT_FORWARDER_CONSIGNEE"
PARTY_COUNTRY_OFF_ROUTE = "PARTY_COUNTRY_OFF_ROUTE"
LISTED_COUNTRY_ON_ROUTE = "LISTED_COUNTRY_ON_ROUTE"

# Codes whose severity the policy's [rules] table sets. The match codes take theirs from
# [matches] (by score and list) and CHPL_GOODS_RUSSIA from [chpl] (by tier).
RULE_CODES = frozenset(
    {
        EMBARGOED_DESTINATION,
        EMBARGOED_PARTY_COUNTRY,
        EMBARGOED_TRANSIT,
        EMBARGOED_ORIGIN,
        EMBARGOED_VESSEL_FLAG,
        OCCUPIED_REGION,
        CHPL_DIVERSION_RISK,
        FREIGHT_FORWARDER_CONSIGNEE,
        PARTY_COUNTRY_OFF_ROUTE,
        LISTED_COUNTRY_ON_ROUTE,
    }
)

WHOLE_SHIPMENT = -1


@dataclass(slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    evidence: list[str] = field(default_factory=list)
    # What the finding concerns; WHOLE_SHIPMENT (-1) where it is not one party, vessel or line.
    party_index: int = WHOLE_SHIPMENT
    vessel_index: int = WHOLE_SHIPMENT
    goods_index: int = WHOLE_SHIPMENT
    # List entries behind the finding ("ofac-sdn:47956").
    entity_ids: list[str] = field(default_factory=list)
    # Points the finding adds to risk_score (set when findings are combined).
    points: int = 0
