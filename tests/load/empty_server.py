"""The ceiling for the benchmark: the service's gRPC stack with empty handlers.

Same grpc.aio server, options, handler registration, event loop, reflection, worker count
(processes sharing the port with SO_REUSEPORT) and spreading of connections over them as
`screening serve`, but ScreenParty,
ScreenShipment and CompareParties answer an empty message at once and there are no metrics:
the fastest this stack can answer on this machine.

    python -m tests.load.empty_server --port 50052 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import signal

import grpc

from screening.config import Settings
from screening.runtime.interceptors import WrappingRegistrar
from screening.runtime.reflection import enable_reflection
from screening.runtime.worker import (
    SERVICE_NAME,
    run_event_loop,
    server_options,
    spread_connections,
)
from screening.v1 import screening_pb2 as pb
from screening.v1 import screening_pb2_grpc as pb_grpc


class EmptyServicer(pb_grpc.ScreeningServiceServicer):
    async def ScreenParty(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ScreenPartyResponse()

    async def ScreenShipment(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ScreenShipmentResponse()

    async def CompareParties(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ComparePartiesResponse()


async def serve(host: str, port: int, workers: int) -> None:
    server = grpc.aio.server(options=server_options())
    # Registered as the service registers its handlers (generic handlers only; see
    # screening/runtime/interceptors.py), without the wrappers.
    registrar = WrappingRegistrar(server)
    pb_grpc.add_ScreeningServiceServicer_to_server(EmptyServicer(), registrar)
    enable_reflection(registrar, SERVICE_NAME)  # type: ignore[arg-type]
    bound = server.add_insecure_port(f"{host}:{port}")
    spread_connections(bound, Settings(workers=workers))
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1)


def run(host: str, port: int, workers: int) -> None:
    run_event_loop(serve(host, port, workers), Settings().event_loop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=run, args=(args.host, args.port, args.workers))
        for _ in range(args.workers)
    ]
    for proc in procs:
        proc.start()
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.pid and proc.is_alive():
                proc.terminate()

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for proc in procs:
        proc.join()


if __name__ == "__main__":
    main()
