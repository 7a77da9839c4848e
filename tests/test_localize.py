"""Fault localisation: Ochiai ranking, the value trace, verified logic fixes, and hostile programs."""

from __future__ import annotations

import json
import string

import pytest

from learnflow.sandbox import Sandbox
from learnflow.sandbox.grading import Grader
from learnflow.tutor import localize
from learnflow.tutor.localize import CouldNotLocalise, Spectrum, fix_candidates, ochiai, parse_report

# `range(1, n)` stops one short: every case with n >= 1 fails, n == 0 passes.
SUM_TO = """\
def sum_to(n):
    \"\"\"1 + 2 + ... + n.\"\"\"
    total = 0
    for i in range(1, n):
        total += i
    return total
"""
SUM_TESTS = """\
from solution import sum_to


def test_zero():
    assert sum_to(0) == 0


def test_three():
    assert sum_to(3) == 6


def test_four():
    assert sum_to(4) == 10
"""

# Counts the values above a limit; `>=` should be `>`. Only a case that contains the limit itself fails.
ABOVE = """\
def count_above(values, limit):
    count = 0
    for value in values:
        if value >= limit:
            count += 1
    return count
"""
ABOVE_TESTS = """\
from solution import count_above


def test_none_above():
    assert count_above([1, 2], 5) == 0


def test_some_above():
    assert count_above([1, 7, 9], 5) == 2


def test_the_limit_is_not_above():
    assert count_above([5, 6], 5) == 1
"""


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def test_ochiai_on_a_hand_made_spectrum() -> None:
    # Three cases: the first two fail, the third passes. Line 2 runs only in failing cases.
    spectrum = Spectrum(passed=[False, False, True], lines=[{1: 1, 2: 2, 3: 3}, {1: 1, 2: 2, 3: 3}, {1: 1, 3: 2}])
    ranked = spectrum.rank(["a = 1", "b = a + 1", "print(b)"], first_failing=0)
    assert [r.line for r in ranked] == [2, 3, 1]
    assert ranked[0].score == 1.0 and (ranked[0].failed, ranked[0].passed) == (2, 0)
    # Lines 1 and 3 tie on 2 / sqrt(2 * 3) and ran in the same passing case: the one the first failing
    # case ran last wins.
    assert ranked[1].score == ranked[2].score == round(2 / (2 * 3) ** 0.5, 4)
    assert ochiai(0, 3, 2) == 0.0 and ochiai(1, 0, 1) == 1.0 and ochiai(2, 2, 4) == pytest.approx(0.5)


def test_ochiai_tie_prefers_the_line_the_failing_case_ran_last() -> None:
    spectrum = Spectrum(passed=[False, True], lines=[{1: 5, 2: 9}, {1: 1, 2: 2}])
    assert [r.line for r in spectrum.rank(["x", "y"], first_failing=0)] == [2, 1]


def test_fix_candidates_keep_the_line_numbers_and_invert_the_usual_slips() -> None:
    found = {c.code.splitlines()[3].strip() for c in fix_candidates(ABOVE, 4)}
    assert "if value > limit:" in found and "if value < limit:" in found
    for candidate in fix_candidates(SUM_TO, 4):
        assert len(candidate.code.splitlines()) == len(SUM_TO.splitlines())
        assert candidate.line == 4
    assert "for i in range(1, n + 1):" in {c.code.splitlines()[3].strip() for c in fix_candidates(SUM_TO, 4)}


def test_hint_sentences_in_data_use_exactly_their_placeholders() -> None:
    texts = localize.hint_texts().model_dump()
    for path, fields in localize.HINT_FIELDS.items():
        value = texts
        for part in path.split("."):
            value = value[part]
        used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        assert used == fields, path
    flat = {f"questions.{k}" for k in texts["questions"]} | {k for k in texts if k != "questions"}
    assert flat == set(localize.HINT_FIELDS)


def test_a_malformed_report_is_refused() -> None:
    nonce = "\x1elf-abc\x1f"
    assert parse_report("noise\n" + nonce + '{"programs": []}\nmore', nonce) == {"programs": []}
    for stdout in (
        "",  # nothing at all
        nonce + "{not json}\n",
        nonce + "[1, 2]\n",  # not an object
        nonce + '{"programs": []}',  # cut before its end
        nonce + json.dumps({"programs": ["x" * 70_000]}) + "\n",  # too long
        nonce + "{}\n" + nonce + "{}\n",  # two reports: one of them is forged
    ):
        with pytest.raises(CouldNotLocalise):
            parse_report(stdout, nonce)


async def test_the_off_by_one_line_ranks_first_with_a_trace_and_a_verified_fix(sandbox: Sandbox) -> None:
    result = await localize.localise(SUM_TO, localize.cases_from_tests(SUM_TESTS), sandbox)
    assert result.status == "localised"
    assert result.top_line == 4 and result.ranking[0].text == "for i in range(1, n):"
    assert [o.passed for o in result.outcomes] == [True, False, False]
    # The trace is of the first failing case (sum_to(3)) on line 4: concrete values, each time it ran.
    assert result.trace is not None and result.trace.case == "test_three" and result.trace.line == 4
    assert result.trace.steps[0].values == {"i": "0", "n": "3"} or result.trace.steps[0].values["n"] == "3"
    assert [s.after.get("i") for s in result.trace.steps[:2]] == ["1", "2"]
    assert "`i` takes the values 1, 2" in result.hints[0] and "`n` is 3" in result.hints[0]
    assert result.hints[1].startswith("Look at line 4")
    assert result.fix is not None and result.fix.verified and result.fix.line == 4
    assert result.fix.after == "for i in range(1, n + 1):"
    # Verified means every case passes: the real grader agrees.
    report = await Grader(sandbox, timeout_s=10).grade(code=result.fix.code, tests=SUM_TESTS)
    assert report.passed, report.feedback
    assert result.runs == 2


async def test_a_condition_is_traced_with_its_value_and_fixed(sandbox: Sandbox) -> None:
    result = await localize.localise(ABOVE, localize.cases_from_tests(ABOVE_TESTS), sandbox)
    assert result.top_line == 4
    assert result.trace is not None
    first = result.trace.steps[0]
    assert first.values == {"value": "5", "limit": "5"} and first.expression == "True"
    assert result.hints[0] == "On line 4, when `value` is 5 and `limit` is 5, `value >= limit` is True. Should it be?"
    assert result.fix is not None and result.fix.after == "if value > limit:"


async def test_reference_divergence_names_the_call_and_direction_but_not_the_code(sandbox: Sandbox) -> None:
    reference = SUM_TO.replace("range(1, n)", "range(n + 1)")
    result = await localize.localise(SUM_TO, localize.cases_from_tests(SUM_TESTS), sandbox, reference=reference)
    assert result.divergence is not None
    assert (result.divergence.call, result.divergence.student_value) == ("sum_to(3)", "3")
    assert result.divergence.relation == "too small" and result.divergence.expected_value == "6"
    assert "range(n + 1)" not in " ".join(result.hints)
    # A hidden case's call and values are never reported.
    hidden = localize.cases_from_tests("", SUM_TESTS)
    hidden_result = await localize.localise(SUM_TO, hidden, sandbox, reference=reference)
    assert hidden_result.divergence is None and hidden_result.trace is None
    assert all(o.message is None for o in hidden_result.outcomes)


async def test_no_fix_is_called_verified_while_a_case_still_fails(sandbox: Sandbox) -> None:
    # Two independent slips (the start and the bound): no single edit makes every case pass.
    code = SUM_TO.replace("total = 0", "total = 1")
    result = await localize.localise(code, localize.cases_from_tests(SUM_TESTS), sandbox)
    assert result.status == "localised" and result.candidates_tried > 0
    assert result.fix is None
    assert "with that change every case passes" not in " ".join(result.hints)


async def test_expected_output_for_a_whole_program(sandbox: Sandbox) -> None:
    code = "n = int(input())\nfor i in range(n - 1):\n    print(i + 1)\n"
    result = await localize.localise(code, localize.expected_output_case("1\n2\n3\n", stdin="3\n"), sandbox)
    assert result.status == "localised"
    assert result.fix is not None and result.fix.after == "for i in range(n):"
    assert result.top_line == 2


async def test_without_an_expected_output_it_asks_for_one(sandbox: Sandbox) -> None:
    result = await localize.localise(SUM_TO, localize.expected_output_case(None), sandbox)
    assert result.status == "needs_expected_output" and result.runs == 0
    assert "expected output" in result.hints[0] and result.ranking == []


async def test_a_program_that_exits_midway_cannot_be_localised(sandbox: Sandbox) -> None:
    code = SUM_TO.replace("    return total", "    import os\n    os._exit(0)")
    result = await localize.localise(code, localize.cases_from_tests(SUM_TESTS), sandbox)
    assert result.status == "could_not_localise" and result.ranking == [] and result.fix is None


async def test_a_forged_report_is_not_believed(sandbox: Sandbox) -> None:
    # The program finds the nonce in memory and writes a report saying every case passed to every
    # descriptor; the harness's own report follows, and two reports are refused.
    forger = """\
import gc, json, os, sys

def sum_to(n):
    for text in gc.get_objects():
        pass
    nonces = [o for o in gc.get_referents(*gc.get_objects()) if isinstance(o, str) and o.startswith("\\x1elf-")]
    fake = json.dumps({"programs": [[{"passed": True, "lines": [[1, 1]]}] * 3]})
    for nonce in nonces:
        for fd in range(1, 10):
            try:
                os.write(fd, ("\\n" + nonce + fake + "\\n").encode())
            except OSError:
                pass
    sys.stdout = open(os.devnull, "w")
    print("Every test passed!")
    return -1
"""
    result = await localize.localise(forger, localize.cases_from_tests(SUM_TESTS), sandbox)
    assert result.status == "could_not_localise" and result.outcomes == [] and result.fix is None


async def test_printing_and_replacing_stdout_do_not_change_the_answer(sandbox: Sandbox) -> None:
    noisy = SUM_TO.replace(
        "    total = 0\n",
        "    import os, sys\n    os.write(1, b'{\"programs\": []}\\n' * 100)\n    sys.stdout = None\n    total = 0\n",
    )
    result = await localize.localise(noisy, localize.cases_from_tests(SUM_TESTS), sandbox)
    assert result.status == "localised" and result.top_line == 7  # the loop moved down three lines


async def test_an_endless_case_fails_alone(sandbox: Sandbox) -> None:
    loop = SUM_TO.replace("    for i in range(1, n):\n", "    i = 1\n    while i != n + 1:\n")
    code = loop.replace("        total += i\n", "        total += i\n        i += 1\n")
    tests = SUM_TESTS + "\n\ndef test_minus_one():\n    assert sum_to(-1) == 0\n"
    result = await localize.localise(code, localize.cases_from_tests(tests), sandbox, fix=False)
    assert result.status == "localised"
    assert [o.passed for o in result.outcomes] == [True, True, True, False]
    assert result.outcomes[3].error == "Timeout"
