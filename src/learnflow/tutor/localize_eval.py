"""Measuring fault localisation on single-fault mutants of the exercise bank's reference solutions.

Each mutant (``mutation.mutants``) changes one line of a reference solution; the ones the exercise's
tests catch are localised with the exercise's tests (visible and hidden) and scored: is the mutated
line ranked first, in the top 3, is there a verified fix, and does every verified fix pass the real
grader (the two-sandbox :class:`~learnflow.sandbox.grading.Grader`, which student code cannot fool)?
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass, field

from learnflow.curriculum import Curriculum
from learnflow.sandbox import Sandbox
from learnflow.sandbox.grading import Grader
from learnflow.tutor import localize
from learnflow.tutor.mutation import Mutant, mutants


@dataclass
class LocalisationScore:
    mutants: int = 0  # mutants the tests catch, localised
    survived: int = 0  # mutants every test passes: not scored
    top1: int = 0
    top3: int = 0
    ochiai_top1: int = 0  # the spectrum alone, before the fix candidates' evidence
    ochiai_top3: int = 0
    verified_fix: int = 0
    verified_fix_failing_grader: int = 0  # must be 0
    could_not_localise: int = 0
    duration_ms: list[float] = field(default_factory=list)
    by_operator: Counter[str] = field(default_factory=Counter)
    top1_by_operator: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def rate(self, count: int) -> float:
        return round(count / self.mutants, 4) if self.mutants else 0.0

    @property
    def median_ms(self) -> float:
        ordered = sorted(self.duration_ms)
        return ordered[len(ordered) // 2] if ordered else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "localisation_mutants": self.mutants,
            "localisation_top1": self.rate(self.top1),
            "localisation_top3": self.rate(self.top3),
            "localisation_ochiai_only_top1": self.rate(self.ochiai_top1),
            "localisation_ochiai_only_top3": self.rate(self.ochiai_top3),
            "localisation_verified_fix": self.rate(self.verified_fix),
            "localisation_verified_fix_failing_a_test": self.verified_fix_failing_grader,
            "localisation_could_not_localise": self.could_not_localise,
            "localisation_median_ms": round(self.median_ms, 1),
        }


def _interleaved(curriculum: Curriculum, per_exercise: int) -> list[tuple[str, Mutant]]:
    """Mutants of every exercise with unit tests, one exercise after another in turn (deterministic)."""
    pools: list[list[tuple[str, Mutant]]] = []
    for ex_id in sorted(curriculum.exercises):
        exercise = curriculum.exercises[ex_id]
        if not (exercise.visible_tests.strip() or exercise.hidden_tests.strip() or exercise.io_tests):
            continue
        pools.append([(ex_id, m) for m in mutants(exercise.solution, limit=per_exercise)])
    order: list[tuple[str, Mutant]] = []
    for round_ in range(per_exercise):
        order += [pool[round_] for pool in pools if round_ < len(pool)]
    return order


async def evaluate_localisation(
    curriculum: Curriculum, sandbox: Sandbox, *, limit: int = 300, per_exercise: int = 8
) -> LocalisationScore:
    """Localise up to ``limit`` caught mutants of the reference solutions and score the ranking and fixes."""
    score = LocalisationScore()
    grader = Grader(sandbox)
    # Each localisation is two or three sandbox runs: one per core keeps runs inside their time limits.
    slots = asyncio.Semaphore(max(1, min(os.cpu_count() or 1, 4)))
    order = _interleaved(curriculum, per_exercise)
    results: dict[int, tuple[str, Mutant, localize.Localisation, bool | None]] = {}
    caught = 0

    async def one(index: int, ex_id: str, mutant: Mutant) -> None:
        nonlocal caught
        async with slots:
            if caught >= limit:
                return
            exercise = curriculum.exercises[ex_id]
            cases = localize.cases_from_exercise(exercise)
            result = await localize.localise(mutant.code, cases, sandbox)
            graded: bool | None = None
            if result.fix is not None and result.fix.verified:
                tests = exercise.visible_tests + "\n\n" + exercise.hidden_tests
                report = await grader.grade(code=result.fix.code, tests=tests, io_tests=list(exercise.io_tests))
                graded = report.passed
            if result.status != "all_passed":
                caught += 1
            results[index] = (ex_id, mutant, result, graded)

    await asyncio.gather(*(one(i, ex_id, m) for i, (ex_id, m) in enumerate(order)))
    kept = 0
    for index in sorted(results):
        ex_id, mutant, result, graded = results[index]
        if result.status == "all_passed":
            score.survived += 1
            continue
        if kept >= limit:
            break
        kept += 1
        score.mutants += 1
        score.by_operator[mutant.operator] += 1
        score.duration_ms.append(result.duration_ms)
        if result.status != "localised":
            score.could_not_localise += 1
            score.misses.append(f"{ex_id} line {mutant.line} {mutant.operator}: {result.status} {result.reason[:80]}")
            continue
        lines = [r.line for r in result.ranking]
        score.top1 += lines[:1] == [mutant.line]
        score.top1_by_operator[mutant.operator] += lines[:1] == [mutant.line]
        score.top3 += mutant.line in lines[:3]
        score.ochiai_top1 += result.spectrum_order[:1] == [mutant.line]
        score.ochiai_top3 += mutant.line in result.spectrum_order[:3]
        if graded is not None:
            score.verified_fix += 1
            score.verified_fix_failing_grader += not graded
        if lines[:1] != [mutant.line]:
            score.misses.append(
                f"{ex_id} line {mutant.line} {mutant.operator} {mutant.description}: ranked {lines[:3]}"
            )
    return score
