"""No module of learnflow imports, directly or through others, a module that imports it back.

Every import counts, at module level or inside a function (a deferred import is still a cycle, only
hidden); imports under ``if TYPE_CHECKING:`` do not run and do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "learnflow"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str) -> str | None:
    """The learnflow module an imported name lives in (a module, or the package that defines the name)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            targets = []
        for target in targets:
            resolved = _resolve(target) if target.startswith("learnflow") else None
            if resolved and resolved != module:
                found.add(resolved)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def find_cycle(graph: dict[str, set[str]], within: set[str]) -> list[str] | None:
    """A cycle through modules of ``within``, as the list of modules on it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                if within & set(cycle):
                    return cycle
            elif nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = walk(start)
            if found:
                return found
    return None


GRAPH = {name: imports_of(name) for name in MODULES}
WIRING = {n for n in MODULES if n == "learnflow.runtime" or n.startswith(("learnflow.services", "learnflow.bus"))}


def test_the_graph_sees_imports_inside_functions_and_not_under_type_checking():
    assert "learnflow.services.catalog" in GRAPH["learnflow.services.app"]
    assert "learnflow.runtime" not in GRAPH["learnflow.services.declare"]  # only for type hints
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}, {"b"}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}, {"a", "b"}) is None


def test_the_runtime_services_and_transports_import_no_cycle():
    cycle = find_cycle(GRAPH, WIRING)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_runtime_imports_no_service():
    reachable, todo = set(), ["learnflow.runtime"]
    while todo:
        for nxt in GRAPH[todo.pop()] - reachable:
            reachable.add(nxt)
            todo.append(nxt)
    services = {m for m in reachable if m.startswith("learnflow.services.")}
    assert services <= {"learnflow.services.declare"}, sorted(services)


# Where a cycle would show as an ImportError: whichever of these is imported first must work.
ENTRY_POINTS = sorted(
    {"learnflow.runtime", "learnflow.services.declare", "learnflow.services.catalog", "learnflow.services.app"}
    | {n for n in MODULES if n.endswith(".declaration")}
)


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_each_entry_point_imports_first_in_a_fresh_interpreter(module: str):
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60, cwd=SRC
    )
    assert done.returncode == 0, done.stderr[-2000:]
