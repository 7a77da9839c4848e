"""Bug-pattern detectors: one per module under ``patterns/``, declared with ``@detector(kind, *node_types)``.

A detector is called for every node of the program of the types it declares and yields what it
found there. ``find`` runs them all over one walk of the tree.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

from learnflow.tutor.debug.registry import examples_in

LOOPS: tuple[type[ast.AST], ...] = (ast.For, ast.While)


@dataclass(frozen=True)
class Pattern:
    kind: str
    line: int
    text: str
    hint: str
    # The whole program with this one mistake corrected; only ever shown after it was run and printed
    # the expected output (debug verifies it).
    fixed: str | None = None


@dataclass(frozen=True)
class Found:
    """What a detector reports: the line, what is wrong, a hint, and the corrected program if it can write one."""

    line: int
    text: str
    hint: str
    fixed: str | None = None


@dataclass
class Program:
    """One parsed program, shared by every detector."""

    code: str
    tree: ast.Module

    @cached_property
    def assignments(self) -> dict[str, list[ast.Assign]]:
        """Every plain `name = value` in the program, by name, in line order (built once per program)."""
        found: dict[str, list[ast.Assign]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, []).append(node)
        for nodes in found.values():
            nodes.sort(key=lambda n: n.lineno)
        return found

    def assigned_before(self, name: str | None, line: int) -> ast.expr | None:
        """The value last assigned to ``name`` before ``line``."""
        earlier = [n for n in self.assignments.get(name or "", ()) if n.lineno < line]
        return earlier[-1].value if earlier else None


def augmented(loop: ast.For | ast.While) -> set[str | None]:
    """The names a loop updates with `+=`, `*=`, ... anywhere inside it."""
    return {n.target.id for n in ast.walk(loop) if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}


Check = Callable[[ast.AST, Program], Iterator[Found]]


@dataclass(frozen=True)
class Detector:
    kind: str
    node_types: tuple[type[ast.AST], ...]
    check: Check
    # Programs with this pattern, from the detector module's docstring.
    examples: tuple[str, ...]


DETECTORS: list[Detector] = []


def detector(kind: str, *node_types: type[ast.AST]) -> Callable[[Check], Check]:
    """Register ``check(node, program)`` as the detector of ``kind``, called on nodes of ``node_types``.

    The module's docstring must hold at least one "Bad example::" program with the pattern.
    """
    if not node_types:
        raise ValueError(f"detector {kind} checks no node type")

    def register(check: Check) -> Check:
        examples = examples_in(sys.modules[check.__module__].__doc__)
        if not examples:
            raise ValueError(f"detector {kind} has no 'Bad example::' in its module's docstring")
        if any(d.kind == kind for d in DETECTORS):
            raise ValueError(f"detector {kind} is registered twice")
        DETECTORS.append(Detector(kind, node_types, check, examples))
        return check

    return register
