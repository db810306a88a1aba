"""Generate the Python stubs from proto/ (one command, reproducible).

    python proto/generate.py          # write server/screening/v1/*_pb2*.py(i)
    python proto/generate.py --check  # exit 1 if the committed stubs differ from the proto

The stubs land inside the `screening` package (server/screening/v1/), so the generated
`from screening.v1 import screening_pb2` import resolves to our own package.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
PROTOS = ["screening/v1/screening.proto"]
OUTPUTS = ["screening_pb2.py", "screening_pb2.pyi", "screening_pb2_grpc.py"]
TARGETS = [ROOT / "server" / "screening" / "v1"]


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
            target.mkdir(parents=True, exist_ok=True)
            for name in OUTPUTS:
                dest = target / name
                if opts.check:
                    if not dest.exists() or not filecmp.cmp(built / name, dest, shallow=False):
                        drift.append(str(dest.relative_to(ROOT)))
                else:
                    shutil.copyfile(built / name, dest)
            init = target / "__init__.py"
            if not init.exists() and not opts.check:
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
