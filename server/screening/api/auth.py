"""Bearer-token authentication, permissions and per-client rate limits (a server interceptor).

A call carries `authorization: Bearer <token>`. Tokens are never stored: the configuration
(`SCREENING_AUTH_TOKENS`) and Redis (`{prefix}:auth:tokens`, written by `screening auth
add-token`) hold the token's SHA-256, or its HMAC-SHA256 under `SCREENING_AUTH_TOKEN_KEY` when
one is set (a leaked table is then useless without the key). Each token names a client (the
identity written into the audit trail) and its permissions:

- `screen`:  ScreenParty, ScreenShipment, ScreenParties, CompareParties, GetEntity,
             GetDataStatus, ListChanges
- `monitor` with `screen`: MonitorParty, StopMonitoring, ListMonitoredParties, WatchAlerts.
             Every one of them returns matches (a registration's current matches, the entries
             it is known to match, alerts), and every RPC that returns matches needs `screen`:
             `monitor` alone must not be a way round it.
- `admin`:   everything, including AcceptMatch, RevokeAcceptance, ListAcceptances

No token or an unknown one: UNAUTHENTICATED; a known token without the permission:
PERMISSION_DENIED; over the client's rate: RESOURCE_EXHAUSTED. Health checks and server
reflection are open or protected by setting (protected: any valid token).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import msgspec
import redis

from screening.api.ratelimit import RateLimiter
from screening.config import Settings
from screening.store.connection import AsyncRedis
from screening.store.keys import Keys

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
# The authenticated client of the call being handled (set by the interceptor).
current_client: contextvars.ContextVar[str] = contextvars.ContextVar("screening_client", default="")

_SERVICE = "/screening.v1.ScreeningService/"
# Method -> every permission it needs.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    **{
        _SERVICE + m: ("screen",)
        for m in (
            "ScreenParty",
            "ScreenShipment",
            "ScreenParties",
            "CompareParties",
            "GetEntity",
            "GetDataStatus",
            "ListChanges",
        )
    },
    **{
        _SERVICE + m: ("monitor", "screen")
        for m in ("MonitorParty", "StopMonitoring", "ListMonitoredParties", "WatchAlerts")
    },
    **{_SERVICE + m: ("admin",) for m in ("AcceptMatch", "RevokeAcceptance", "ListAcceptances")},
}
HEALTH_PREFIX = "/grpc.health.v1.Health/"
REFLECTION_PREFIXES = (
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)
KNOWN_PERMISSIONS = frozenset({"screen", "monitor", "admin"})


def hash_token(token: str, key: str = "") -> str:
    data = token.encode()
    if key:
        return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def auth_tokens_key(keys: Keys) -> str:
    """Hash: token hash -> JSON {client, permissions, rate_per_second, burst}."""
    return f"{keys.tag}:auth:tokens"


class Principal(msgspec.Struct, frozen=True):
    client: str
    permissions: frozenset[str] = frozenset({"screen"})
    rate_per_second: float = 0.0
    burst: int = 0

    def may(self, permission: str) -> bool:
        return "admin" in self.permissions or permission in self.permissions

    def lacks(self, needed: tuple[str, ...]) -> list[str]:
        """The permissions of `needed` this principal does not hold."""
        return [p for p in needed if not self.may(p)]


class _StoredToken(msgspec.Struct):
    client: str
    permissions: list[str] = msgspec.field(default_factory=lambda: ["screen"])
    rate_per_second: float = 0.0
    burst: int = 0


_STORED_DECODER = msgspec.json.Decoder(_StoredToken)


# Whether callers present client certificates (mutual TLS). Without them a call's auth context
# holds no name, and reading it (a dictionary built per call) is skipped.
_certificate_names = True


def use_certificate_names(enabled: bool) -> None:
    global _certificate_names
    _certificate_names = enabled


def client_of(context: grpc.aio.ServicerContext | None) -> str:
    """Who is calling: the token's client, else the client certificate's common name (mutual
    TLS without tokens), else 'anonymous'."""
    client = current_client.get()
    if client:
        return client
    if context is not None and _certificate_names:
        with contextlib.suppress(Exception):
            names: Any = context.auth_context().get("x509_common_name")
            if names:
                return f"cn:{names[0].decode(errors='replace')}"
    return ANONYMOUS


@dataclass
class TokenTable:
    """Token hash -> principal: the configured tokens plus those kept in Redis (re-read
    every few seconds; a token removed there stops working within that time)."""

    configured: dict[str, Principal]
    stored: dict[str, Principal]
    key: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenTable:
        configured = {
            t.token_hash.lower(): Principal(
                t.client, frozenset(t.permissions), t.rate_per_second, t.burst
            )
            for t in settings.auth_tokens
        }
        return cls(configured, {}, settings.auth_token_key)

    def lookup(self, token: str) -> Principal | None:
        digest = hash_token(token, self.key)
        return self.configured.get(digest) or self.stored.get(digest)

    async def reload(self, client: AsyncRedis, keys: Keys) -> None:
        raw = await client.hgetall(auth_tokens_key(keys))
        stored = {}
        for digest, value in raw.items():
            try:
                entry = _STORED_DECODER.decode(value)
            except msgspec.DecodeError:
                log.error("unreadable token entry in Redis; ignored")
                continue
            name = digest.decode() if isinstance(digest, bytes) else str(digest)
            stored[name.lower()] = Principal(
                entry.client, frozenset(entry.permissions), entry.rate_per_second, entry.burst
            )
        self.stored = stored

    async def follow(
        self, client: AsyncRedis, keys: Keys, every: float, stop: asyncio.Event
    ) -> None:
        warned = False
        while not stop.is_set():
            try:
                await self.reload(client, keys)
                warned = False
            except (redis.RedisError, OSError) as exc:
                if not warned:
                    log.warning(
                        "tokens in Redis not re-read; the last ones read stay in force",
                        extra={"error": str(exc)},
                    )
                    warned = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)


def _bearer(metadata: Any) -> str:
    for item in metadata or ():
        key, value = item
        if key == "authorization":
            text = value.decode(errors="replace") if isinstance(value, bytes) else value
            scheme, _, token = text.strip().partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
            return ""
    return ""


def _refusal(
    handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str
) -> grpc.RpcMethodHandler:
    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, message)

    async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await context.abort(code, message)
        yield None  # pragma: no cover - abort raises

    options = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(unary, **options)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(streaming, **options)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(unary, **options)
    return grpc.stream_stream_rpc_method_handler(streaming, **options)


def _throttled_stream(
    handler: grpc.RpcMethodHandler, acquire: Callable[[], Awaitable[None]]
) -> grpc.RpcMethodHandler:
    """A bidirectional stream whose items each take a token: a client over its rate is held
    back (its items wait), not failed."""
    inner: Any = handler.stream_stream

    async def behaviour(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        async def paced() -> AsyncIterator[Any]:
            async for item in requests:
                await acquire()
                yield item

        async for response in inner(paced(), context):
            yield response

    return grpc.stream_stream_rpc_method_handler(
        behaviour,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, settings: Settings, tokens: TokenTable, limiter: RateLimiter) -> None:
        self.tokens = tokens
        self.limiter = limiter
        self.default_rate = settings.rate_limit_per_second
        self.open_prefixes: tuple[str, ...] = ()
        if settings.auth_health_open:
            self.open_prefixes += (HEALTH_PREFIX,)
        if settings.auth_reflection_open:
            self.open_prefixes += REFLECTION_PREFIXES

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(self.open_prefixes):
            return handler
        token = _bearer(handler_call_details.invocation_metadata)
        if not token:
            return _refusal(
                handler,
                grpc.StatusCode.UNAUTHENTICATED,
                "missing bearer token: send 'authorization: Bearer <token>'",
            )
        principal = self.tokens.lookup(token)
        if principal is None:
            return _refusal(handler, grpc.StatusCode.UNAUTHENTICATED, "invalid token")
        needed = PERMISSIONS.get(method)
        missing = principal.lacks(needed) if needed is not None else []
        if missing:
            return _refusal(
                handler,
                grpc.StatusCode.PERMISSION_DENIED,
                f"client {principal.client!r} lacks the "
                + " and ".join(repr(p) for p in missing)
                + (" permission" if len(missing) == 1 else " permissions"),
            )
        current_client.set(principal.client)
        rate = principal.rate_per_second or self.default_rate
        if rate <= 0 or needed is None:
            return handler
        burst = principal.burst or max(1, int(rate))
        if handler.stream_stream:
            return _throttled_stream(
                handler, lambda: self.limiter.wait(principal.client, rate, burst)
            )
        if not await self.limiter.allow(principal.client, rate, burst):
            return _refusal(
                handler,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"rate limit of {rate:g} calls per second exceeded for {principal.client!r}",
            )
        return handler
