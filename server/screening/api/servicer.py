"""The gRPC servicer: a routing table. Each RPC goes to the handler of its group, with the
worker's Deps (api/deps.py); a domain error a handler raises is answered from the table in
api/error_status.py."""

from __future__ import annotations

from screening.api import (
    acceptance_rpcs,
    batch_rpcs,
    data_rpcs,
    monitoring_rpcs,
    party_rpcs,
    shipment_rpcs,
)
from screening.api.deps import Deps
from screening.api.error_status import streaming, unary
from screening.v1 import screening_pb2_grpc as pb_grpc


class ScreeningServicer(pb_grpc.ScreeningServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    ScreenParty = unary(party_rpcs.screen_party)
    CompareParties = unary(party_rpcs.compare_parties)
    ScreenShipment = unary(shipment_rpcs.screen_shipment)
    ScreenParties = streaming(batch_rpcs.screen_parties)
    GetEntity = unary(data_rpcs.get_entity)
    GetDataStatus = unary(data_rpcs.get_data_status)
    ListChanges = unary(data_rpcs.list_changes)
    AcceptMatch = unary(acceptance_rpcs.accept_match)
    RevokeAcceptance = unary(acceptance_rpcs.revoke_acceptance)
    ListAcceptances = unary(acceptance_rpcs.list_acceptances)
    MonitorParty = unary(monitoring_rpcs.monitor_party)
    StopMonitoring = unary(monitoring_rpcs.stop_monitoring)
    ListMonitoredParties = unary(monitoring_rpcs.list_monitored_parties)
    WatchAlerts = streaming(monitoring_rpcs.watch_alerts)
