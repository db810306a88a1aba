"""Typed client for the sanctions screening gRPC service (package `screening.v1`).

from screening_client import ScreeningClient, pb
with ScreeningClient("localhost:50051") as client:
    reply = client.screen_party({"name": "LIMITED LIABILITY COMPANY AURUS"})
"""

from screening_client._proto import screening_pb2 as pb
from screening_client.aio import AsyncScreeningClient
from screening_client.channel import ChannelConfig
from screening_client.client import ScreeningClient
from screening_client.errors import (
    DeadlineExceeded,
    FieldViolation,
    InvalidArgument,
    ItemError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ScreeningError,
    Unauthenticated,
    Unavailable,
)
from screening_client.requests import (
    RequestError,
    party,
    screen_party_request,
    shipment_request,
)
from screening_client.retry import NO_RETRY, RetryPolicy

__all__ = [
    "NO_RETRY",
    "AsyncScreeningClient",
    "ChannelConfig",
    "DeadlineExceeded",
    "FieldViolation",
    "InvalidArgument",
    "ItemError",
    "NotFound",
    "PermissionDenied",
    "RequestError",
    "ResourceExhausted",
    "RetryPolicy",
    "ScreeningClient",
    "ScreeningError",
    "Unauthenticated",
    "Unavailable",
    "party",
    "pb",
    "screen_party_request",
    "shipment_request",
]
