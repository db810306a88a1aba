"""The package's layers point down and its modules import each other in no cycle, counting
the imports made inside functions and under TYPE_CHECKING (import-linter checks the same
from the contracts in pyproject.toml; this reads the files themselves, with no tool)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "server" / "screening"

# Higher imports lower (or its own layer); cli may use harness, never the reverse.
RANK = {
    "cli": 8,
    "harness": 7,
    "runtime": 6,
    "api": 5,
    "casework": 4,
    "risk": 4,
    "matching": 3,
    "index": 3,
    "store": 2,
    "sources": 2,
    "model": 1,
}
SHARED = {"collector", "config", "list_limits", "observability"}  # importable from anywhere
STUB_USERS = {"api", "runtime", "cli", "harness"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Module -> the screening modules it imports, wherever in the file."""
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        name = module_name(path)
        if name.startswith("screening.v1"):
            continue
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {m for m in found if m.startswith("screening.")}
    modules = set(graph)
    return {
        name: {m for m in targets if m in modules or m.startswith("screening.v1")} - {name}
        for name, targets in graph.items()
    }


def package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_another_in_a_cycle():
    assert cycles(imports()) == []


def test_no_package_imports_another_in_a_cycle():
    graph: dict[str, set[str]] = {}
    for module, targets in imports().items():
        graph.setdefault(package(module), set()).update(
            package(t) for t in targets if package(t) != package(module)
        )
    assert cycles(graph) == []


def test_layers_point_down():
    upward = []
    for module, targets in imports().items():
        source = package(module)
        for target in targets:
            layer = package(target)
            if source in SHARED:
                ok = layer in SHARED
            elif layer == "v1":
                ok = source in STUB_USERS
            else:
                ok = layer in SHARED or RANK[layer] <= RANK[source]
            if not ok:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_every_package_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert packages - {"v1"} - SHARED == set(RANK)
