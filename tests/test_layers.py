"""The floors of the code, enforced: imports point down only, and nothing dodges a cycle.

market/ (the exchange, option maths, execution maths, statistics) imports nothing above it and not
Mesa; agents/ import market/ but never experiments/; experiments/ wires everything. Project imports
sit at module level (an import inside a function is how a cycle hides) unless the line says
``# start-up:`` and why (a command that must answer fast may defer loading the model), and the
project's import graph, deferred imports included, has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("market", "agents", "experiments")
#: what each floor must not import (top-level package names)
FORBIDDEN = {
    "market": {"agents", "experiments", "mesa", "hydra", "omegaconf", "solara"},
    "agents": {"experiments", "hydra", "omegaconf"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    for node in tree.body:  # imports guarded by `if TYPE_CHECKING:` count as module level
        if isinstance(node, ast.If):
            top.update(id(n) for n in node.body)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno, id(node) in top))
            # "from agents import dealers" imports the submodule agents.dealers
            found += [
                (f"{node.module}.{a.name}", node.lineno, id(node) in top)
                for a in node.names
                if f"{node.module}.{a.name}" in MODULES
            ]
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    floor = module.split(".")[0]
    banned = FORBIDDEN.get(floor, set())
    bad = [
        f"line {line}: {name}"
        for name, line, _ in _imports(MODULES[module])
        if name.split(".")[0] in banned
    ]
    assert not bad, f"{module} ({floor}/) imports from a floor above it or Mesa: {bad}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_project_imports_are_at_module_level(module):
    lines = MODULES[module].read_text().splitlines()
    inner = [
        f"line {line}: {name}"
        for name, line, top in _imports(MODULES[module])
        if not top and name.split(".")[0] in PACKAGES and "# start-up:" not in lines[line - 1]
    ]
    assert not inner, f"{module} imports project code inside a function: {inner}"


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        deps = set()
        for name, _, _ in _imports(path):
            while name and name not in MODULES:  # "market.exchange.clock.X" -> its module
                name = name.rpartition(".")[0]
            if name and name != module:
                deps.add(name)
        graph[module] = deps
    return graph


def test_no_import_cycles():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_rule_catches_a_violation(tmp_path):
    """The checks above would notice a market module importing an agent, inside a function."""
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\n\ndef f():\n    from agents.base import Participant\n")
    found = _imports(bad)
    assert ("agents.base", 4, False) in found
    assert ("numpy", 1, True) in found
