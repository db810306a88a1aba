"""Server reflection that also resolves method names.

ghz and grpcurl ask reflection for the file containing `pkg.Service.Method`. The upb
descriptor pool behind protobuf-python does not find method symbols, so the stock reflection
servicer answers NOT_FOUND and ghz stops with "Symbol not found". This pool view resolves a
method through its service and passes everything else to the real pool.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor, descriptor_pool
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection


class MethodAwarePool:
    """A read-only view of a descriptor pool whose symbol lookup knows service methods."""

    def __init__(self, pool: descriptor_pool.DescriptorPool | None = None) -> None:
        self._pool = pool or descriptor_pool.Default()

    def FindFileContainingSymbol(self, symbol: str) -> descriptor.FileDescriptor:
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service_name, _, method = symbol.rpartition(".")
            if not service_name:
                raise
            service = self._pool.FindServiceByName(service_name)
            if method not in service.methods_by_name:
                raise
            return service.file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def enable_reflection(server: grpc.aio.Server, *service_names: str) -> None:
    """Reflection for `service_names`, the health service and reflection itself."""
    names = (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server, pool=MethodAwarePool())  # type: ignore[arg-type]
