"""The layers of ARCHITECTURE.md hold in the code: imports point down, no cycle, no private name
taken from another module. Read from the source with ``ast`` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wlgeo"
#: What each layer may import from wlgeo (besides itself), as ARCHITECTURE.md says.
ALLOWED = {
    "model": set(),
    "io": {"model"},
    "engine": {"model"},
    "products": {"model", "io", "engine"},
    "runs": {"model", "io", "engine", "products"},
    "review": {"model", "io", "engine", "products", "runs"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path) -> list[tuple[str, str]]:
    """(imported module, imported name) for every wlgeo import of a module, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "wlgeo":
                found.extend((module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((alias.name, "") for alias in node.names if alias.name.split(".")[0] == "wlgeo")
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


MODULES = _modules()


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n)))
def test_imports_point_down(name):
    own = _layer(name)
    wrong = sorted({module for module, _ in _imports(name, MODULES[name])
                    if _layer(module) not in (None, own) and _layer(module) not in ALLOWED[own]})
    assert not wrong, f"{name} ({own}) imports {wrong}; {own} may import only {sorted(ALLOWED[own]) or 'nothing'}"


def test_no_layer_module_imports_the_cli_or_the_package_face():
    for name, path in MODULES.items():
        if not _layer(name):
            continue
        bad = [m for m, imported in _imports(name, path)
               if m == "wlgeo.cli" or (m == "wlgeo" and imported != "__version__")]
        assert not bad, f"{name} imports {bad}"


def test_no_private_name_is_taken_from_another_module():
    taken = []
    for name, path in MODULES.items():
        for module, imported in _imports(name, path):
            if imported.startswith("_") and not imported.startswith("__") and module != name:
                taken.append(f"{name} takes {imported} from {module}")
    assert not taken, taken


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        if path.name == "__init__.py":
            continue
        targets = set()
        for module, imported in _imports(name, path):
            target = f"{module}.{imported}" if f"{module}.{imported}" in MODULES else module
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and MODULES[target].name != "__init__.py":
                targets.add(target)
        graph[name] = targets
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_checker_sees_a_wrong_way_import(tmp_path):
    """The rules above would catch an engine module importing io (a check that can fail)."""
    module = tmp_path / "probe.py"
    module.write_text("from wlgeo.io.read import read_layer\nfrom wlgeo.products.maps import _private\n")
    found = _imports("wlgeo.engine.probe", module)
    assert ("wlgeo.io.read", "read_layer") in found
    assert _layer("wlgeo.io.read") not in ALLOWED["engine"]
    assert any(imported.startswith("_") for _, imported in found)
