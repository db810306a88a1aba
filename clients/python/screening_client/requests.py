"""Requests from plain dicts (parsed JSON, CSV rows), with friendly spellings.

    party({"name": "AURUS", "entity_type": "organization", "country": "RU",
           "identifiers": {"tax_id": "7743237789"}, "aliases": "Aurus LLC; OOO Aurus"})
    shipment_request({"shipment_ref": "S-1", "parties": [{"name": "...", "role": "consignee"}],
                      "goods": [{"hs_code": "853710", "description": "PLC"}],
                      "route": {"origin_country": "KR", "destination_country": "RU"}})

Keys are the proto field names. Enums take their short name in any case ("person",
"organisation", "end user", "notify-party") or the full one ("ENTITY_TYPE_PERSON"). Lists take
a list or a ";"-separated string; identifiers also take {"type": "value"} or "imo:9123456";
an address also takes free text. Empty values are left out. Anything else unknown raises
ValueError naming the field, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import json_format

from screening_client._proto import screening_pb2 as pb
from screening_client.errors import FieldViolation, InvalidArgument


class RequestError(InvalidArgument, ValueError):
    """Data that cannot become a request (nothing was sent); `field` names the part at
    fault. An `InvalidArgument` like the service's own refusals, and a `ValueError`."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(
            f"{field}: {description}", field_violations=[FieldViolation(field, description)]
        )
        self.field = field
        self.description = description

    def __str__(self) -> str:
        return self.message


_ENTITY_TYPES = {
    "person": "PERSON",
    "individual": "PERSON",
    "organization": "ORGANIZATION",
    "organisation": "ORGANIZATION",
    "org": "ORGANIZATION",
    "entity": "ORGANIZATION",
    "company": "ORGANIZATION",
    "vessel": "VESSEL",
    "ship": "VESSEL",
    "aircraft": "AIRCRAFT",
}
_LIST_SEPARATORS = (";", "|")


def _enum(value: Any, prefix: str, enum: Any, synonyms: Mapping[str, str], where: str) -> str:
    if isinstance(value, int):
        return str(enum.Name(value))
    text = str(value).strip()
    key = text.lower().replace("-", " ").replace("_", " ")
    key = " ".join(key.split())
    short = synonyms.get(key) or key.upper().replace(" ", "_")
    if short.startswith(prefix):
        short = short[len(prefix) :]
    full = prefix + short
    names = list(enum.keys())
    if full not in names:
        choices = ", ".join(
            k[len(prefix) :].lower() for k in names if not k.endswith("UNSPECIFIED")
        )
        raise RequestError(where, f"unknown value {text!r} (one of: {choices})")
    return full


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        for sep in _LIST_SEPARATORS:
            if sep in value:
                return [v.strip() for v in value.split(sep) if v.strip()]
        return [value.strip()] if value.strip() else []
    return [str(v).strip() for v in value if str(v).strip()]


def _identifiers(value: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(value, Mapping):
        return [{"type": str(k), "value": str(v)} for k, v in value.items() if str(v).strip()]
    if isinstance(value, str):
        out = []
        for item in _strings(value):
            kind, sep, number = item.partition(":")
            if not sep or not number.strip():
                raise RequestError(where, f"{item!r} is not 'type:value' (e.g. 'imo:9123456')")
            out.append({"type": kind.strip().lower(), "value": number.strip()})
        return out
    out = []
    for i, item in enumerate(value or []):
        if not isinstance(item, Mapping):
            raise RequestError(f"{where}[{i}]", "must be an object with type and value")
        out.append(dict(item))
    return out


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != "" and v != []}


def _party_json(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = _clean(data)
    if "entity_type" in out:
        out["entity_type"] = _enum(
            out["entity_type"], "ENTITY_TYPE_", pb.EntityType, _ENTITY_TYPES, f"{where}.entity_type"
        )
    if "role" in out:
        out["role"] = _enum(out["role"], "PARTY_ROLE_", pb.PartyRole, {}, f"{where}.role")
    if "aliases" in out:
        out["aliases"] = _strings(out["aliases"])
    if "identifiers" in out:
        out["identifiers"] = _identifiers(out["identifiers"], f"{where}.identifiers")
    if isinstance(out.get("address"), str):
        out["address"] = {"full": out["address"]}
    if "birth_date" in out:
        out["birth_date"] = str(out["birth_date"])
    return out


def _parse(message: Any, data: Mapping[str, Any], where: str) -> Any:
    try:
        return json_format.ParseDict(dict(data), message)
    except json_format.ParseError as exc:
        raise RequestError(where, str(exc)) from None


def party(data: Mapping[str, Any] | pb.Party, *, where: str = "party") -> pb.Party:
    """A Party from a dict (or a Party, returned as is)."""
    if isinstance(data, pb.Party):
        return data
    return _parse(pb.Party(), _party_json(data, where), where)


def screen_party_request(
    data: Mapping[str, Any] | pb.Party | pb.ScreenPartyRequest,
    *,
    min_score: float | None = None,
    sources: Iterable[str] = (),
    client_ref: str = "",
    max_results: int = 0,
) -> pb.ScreenPartyRequest:
    """A ScreenPartyRequest from a party dict, a {"party": {...}, "min_score": ...} dict,
    a Party or a ready request. Keyword arguments fill what the data leaves unset."""
    if isinstance(data, pb.ScreenPartyRequest):
        request = pb.ScreenPartyRequest()
        request.CopyFrom(data)
    elif isinstance(data, pb.Party):
        request = pb.ScreenPartyRequest(party=data)
    elif "party" in data:
        body = _clean(data)
        request = pb.ScreenPartyRequest(party=party(body.pop("party")))
        if "sources" in body:
            body["sources"] = _strings(body["sources"])
        _parse(request, body, "request")
    else:
        request = pb.ScreenPartyRequest(party=party(data))
    if min_score is not None and not request.HasField("min_score"):
        request.min_score = min_score
    if not request.sources:
        request.sources.extend(sources)
    if client_ref and not request.client_ref:
        request.client_ref = client_ref
    if max_results and not request.max_results:
        request.max_results = max_results
    return request


def shipment_request(
    data: Mapping[str, Any] | pb.ScreenShipmentRequest,
) -> pb.ScreenShipmentRequest:
    """A ScreenShipmentRequest from a dict (parties and vessels as party dicts)."""
    if isinstance(data, pb.ScreenShipmentRequest):
        return data
    body = _clean(data)
    for key in ("parties", "vessels"):
        if key in body:
            body[key] = [_party_json(p, f"{key}[{i}]") for i, p in enumerate(body[key])]
    for key in ("vessels",):
        for v in body.get(key, []):
            v.setdefault("entity_type", "ENTITY_TYPE_VESSEL")
    if "goods" in body:
        body["goods"] = [_clean(g) for g in body["goods"]]
        for g in body["goods"]:
            if "hs_code" in g:
                g["hs_code"] = str(g["hs_code"])
    if isinstance(body.get("route"), Mapping):
        route = _clean(body["route"])
        for key in ("transit_countries", "ports"):
            if key in route:
                route[key] = _strings(route[key])
        body["route"] = route
    return _parse(pb.ScreenShipmentRequest(), body, "shipment")


def accept_match_request(
    party_data: Mapping[str, Any] | pb.Party,
    entity_id: str,
    *,
    analyst: str,
    reason: str,
    expires_at: Any,
) -> pb.AcceptMatchRequest:
    """An AcceptMatch request; `expires_at` is a timezone-aware datetime."""
    request = pb.AcceptMatchRequest(
        party=party(party_data), entity_id=entity_id, analyst=analyst, reason=reason
    )
    try:
        request.expires_at.FromDatetime(expires_at)
    except (AttributeError, TypeError, ValueError) as exc:
        raise RequestError("expires_at", f"not a datetime: {expires_at!r}") from exc
    return request
