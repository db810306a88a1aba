"""Nothing of a screened party's data reaches the service logs at INFO: screenings through
every RPC that takes a party (valid and invalid, batch items, monitoring, accept-list) with
distinctive names, dates, identifiers and addresses, then a search of the logs."""

from __future__ import annotations

import time
import uuid

import grpc
from google.protobuf import timestamp_pb2

from screening.v1 import screening_pb2 as pb


def test_party_data_never_reaches_the_logs(service, stub):
    tag = uuid.uuid4().hex[:8]
    secrets = {
        "name": f"Zorbulon Quistavel {tag}",
        "alias": f"Vrellimax Odrunsk {tag}",
        "address": f"17 Plumtwig Lane {tag}",
        "identifier": f"PX{tag.upper()}77",
        "ref": f"client-ref-{tag}",
        "goods": f"flux capacitors {tag}",
    }
    party = pb.Party(
        name=secrets["name"],
        aliases=[secrets["alias"]],
        birth_date="1961-07-13",
        country="GB",
        address=pb.Address(full=secrets["address"]),
        identifiers=[pb.Identifier(type="passport", value=secrets["identifier"])],
        party_ref=secrets["ref"],
    )
    bad = pb.Party(name=secrets["name"] + "\x00", country="not a country")
    expires = timestamp_pb2.Timestamp()
    expires.FromSeconds(int(time.time()) + 86400)
    calls = [
        lambda: stub.ScreenParty(
            pb.ScreenPartyRequest(party=party, client_ref=secrets["ref"]), timeout=10
        ),
        lambda: stub.ScreenParty(pb.ScreenPartyRequest(party=bad), timeout=10),
        lambda: stub.ScreenShipment(
            pb.ScreenShipmentRequest(
                shipment_ref=secrets["ref"],
                parties=[party, bad],
                goods=[pb.GoodsItem(hs_code="854231", description=secrets["goods"])],
                route=pb.Route(destination_country="RU"),
            ),
            timeout=10,
        ),
        lambda: stub.ScreenShipment(
            pb.ScreenShipmentRequest(
                parties=[party],
                route=pb.Route(destination_country="RU", ports=[secrets["address"]]),
            ),
            timeout=10,
        ),
        lambda: list(
            stub.ScreenParties(
                iter(
                    [
                        pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=party)),
                        pb.ScreenPartiesRequest(request=pb.ScreenPartyRequest(party=bad)),
                    ]
                ),
                timeout=10,
            )
        ),
        lambda: stub.CompareParties(pb.ComparePartiesRequest(left=party, right=party), timeout=10),
        lambda: stub.MonitorParty(pb.MonitorPartyRequest(party=party), timeout=10),
        lambda: stub.AcceptMatch(
            pb.AcceptMatchRequest(
                party=party,
                entity_id="ofac-sdn:47956",
                analyst=secrets["alias"],
                reason=secrets["address"],
                expires_at=expires,
            ),
            timeout=10,
        ),
        lambda: stub.GetEntity(pb.GetEntityRequest(entity_id=secrets["identifier"]), timeout=10),
    ]
    answered = 0
    for call in calls:
        try:
            call()
            answered += 1
        except grpc.RpcError as exc:
            assert exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
    assert answered >= 6
    time.sleep(1.5)  # background work (audit shipping, monitoring) logs, if it logs at all
    logs = service.logs()
    assert '"level": "info"' in logs  # the logs are there, at INFO
    for what, value in secrets.items():
        assert value not in logs, f"the party's {what} reached the logs"
        assert tag not in logs, "party data reached the logs"
