"""Generate the Python stubs from proto/ (one command, reproducible).

    python proto/generate.py          # write the server's and the client's stubs
    python proto/generate.py --check  # exit 1 if any committed stubs differ from the proto

The server's stubs land inside the `screening` package (server/screening/v1/), so the
generated `from screening.v1 import screening_pb2` import resolves to our own package. The
client package (clients/python) is installed on its own, without the server, so it carries
its own copy in `screening_client._proto`, with that import rewritten to its package path.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
PROTOS = ["screening/v1/screening.proto"]
OUTPUTS = ["screening_pb2.py", "screening_pb2.pyi", "screening_pb2_grpc.py"]
SERVER_IMPORT = "from screening.v1 import "


@dataclass(frozen=True)
class Target:
    directory: Path
    # Package path that replaces `screening.v1` in the generated imports.
    package: str = "screening.v1"

    def render(self, generated: bytes) -> bytes:
        if self.package == "screening.v1":
            return generated
        return generated.replace(SERVER_IMPORT.encode(), f"from {self.package} import ".encode())


TARGETS = [
    Target(ROOT / "server" / "screening" / "v1"),
    Target(ROOT / "clients" / "python" / "screening_client" / "_proto", "screening_client._proto"),
]


def generate(out_root: Path) -> None:
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *[str(PROTO_DIR / p) for p in PROTOS],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if stubs drift from the proto")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        built = Path(tmp) / "screening" / "v1"
        drift = []
        for target in TARGETS:
            if not opts.check:
                target.directory.mkdir(parents=True, exist_ok=True)
            for name in OUTPUTS:
                dest = target.directory / name
                content = target.render((built / name).read_bytes())
                if opts.check:
                    if not dest.exists() or dest.read_bytes() != content:
                        drift.append(str(dest.relative_to(ROOT)))
                else:
                    dest.write_bytes(content)
            init = target.directory / "__init__.py"
            if not init.exists():
                if opts.check:
                    drift.append(str(init.relative_to(ROOT)))
                else:
                    init.write_text(
                        '"""Generated gRPC stubs for screening.v1 (see proto/generate.py)."""\n'
                    )
    if drift:
        print("stubs drift from proto/ (run: python proto/generate.py):", *drift, sep="\n  ")
        return 1
    if opts.check:
        print("generated stubs match proto/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
