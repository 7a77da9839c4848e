"""A fix is verified only against what we know; without that it is a suggestion that keeps the meaning."""

from __future__ import annotations

from learnflow.ai import OfflineProvider
from learnflow.curriculum import get_curriculum
from learnflow.sandbox import Sandbox
from learnflow.services import render
from learnflow.tutor import debug, fixsafety


async def analyze(code: str, *, stdin: str = "", expected_output: str | None = None) -> debug.DebugAnswer:
    return await debug.analyze(
        code=code,
        error_message=None,
        question="",
        stdin=stdin,
        curriculum=get_curriculum(),
        sandbox=Sandbox(),
        ai=OfflineProvider(),
        expected_output=expected_output,
    )


# A running total that is only set inside a loop over an empty list: no global is involved.
LOOP_NEVER_RAN = """\
def last_mark(marks):
    for mark in marks:
        latest = mark
    return latest

print(last_mark([]))
"""

MODULE_COUNTER = """\
visits = 0

def visit():
    visits += 1

visit()
visit()
print(visits)
"""


async def test_loop_that_never_ran_gets_no_global_but_a_starting_value():
    answer = await analyze(LOOP_NEVER_RAN)
    assert answer.error_type == "UnboundLocalError" and answer.line == 4
    assert "global" not in (answer.corrected_code or "")
    assert answer.fix_kind == "suggestion" and answer.fix_verified is False
    assert answer.corrected_code is not None and "    latest = None\n    for mark in marks:" in answer.corrected_code
    # The explanation names the loop and its line, and says why `global` is not the answer.
    assert "`for` loop on line 2" in answer.explanation and "`latest`" in answer.explanation
    assert "line 2" in answer.hints[0]
    assert "A possible fix" in render.debug(answer) and "A corrected version" not in render.debug(answer)


async def test_branch_that_did_not_run_is_explained_and_initialised():
    code = 'def sign(n):\n    if n > 0:\n        word = "plus"\n    return word\n\nprint(sign(-3))\n'
    answer = await analyze(code)
    assert "`if` branch on line 2" in answer.explanation
    assert answer.fix_kind == "suggestion" and 'word = ""\n    if n > 0:' in (answer.corrected_code or "")


async def test_module_level_counter_updated_in_a_function_still_gets_global_as_a_suggestion():
    answer = await analyze(MODULE_COUNTER)
    assert answer.error_type == "UnboundLocalError"
    assert "def visit():\n    global visits\n    visits += 1" in (answer.corrected_code or "")
    assert answer.fix_kind == "suggestion" and not answer.fix_verified
    assert "global visits" in answer.explanation


async def test_module_level_counter_fix_is_verified_when_it_prints_the_expected_output():
    answer = await analyze(MODULE_COUNTER, expected_output="2\n")
    assert answer.fix_kind == "verified" and answer.fix_verified
    assert "global visits" in (answer.corrected_code or "")
    assert "A corrected version" in render.debug(answer)


def test_a_module_name_assigned_only_in_a_loop_of_the_function_is_not_a_global():
    code = "best = 0\n\ndef top(xs):\n    for x in xs:\n        best = x\n    return best\n\nprint(top([]))\n"
    facts = fixsafety.unbound_local(code, "best", 6)
    assert facts is not None and facts.module_level and not facts.updates_module_name
    assert facts.guard == "`for` loop" and facts.guard_line == 4


async def test_did_you_mean_a_builtin_is_not_followed_for_a_loop_value():
    # `mx` is a value the student never defined; Python suggests the builtin `max`, and `if max:` would
    # run (a function is truthy) and print 3 whatever the student meant.
    code = "count = 0\nfor k in range(3):\n    if mx:\n        count += 1\nprint(count)\n"
    answer = await analyze(code)
    assert answer.error_type == "NameError" and "'max'" in (answer.message or "")
    assert "max" not in (answer.corrected_code or "")
    assert "`max`" not in answer.hints[0] and "`max`" not in answer.explanation


async def test_did_you_mean_a_function_of_the_program_is_not_followed_for_a_value():
    code = "def welcome():\n    print(Welcome)\n\nwelcome()\n"
    answer = await analyze(code)
    assert answer.corrected_code is None and answer.fix_kind is None


async def test_did_you_mean_of_the_same_kind_is_still_suggested():
    answer = await analyze("count = 1\nprint(cuont)\n")
    assert answer.corrected_code == "count = 1\nprint(count)\n" and answer.fix_kind == "suggestion"


async def test_an_identifier_never_becomes_a_string_without_an_expected_output():
    # `day` is meant to be the parameter; quoting it would print the word "day" for every call.
    code = "def weekday_name(d):\n    names = ['Mon', 'Tue', 'Wed']\n    return names[day]\n\nprint(weekday_name(1))\n"
    answer = await analyze(code)
    assert answer.error_type == "NameError"
    assert '"day"' not in (answer.corrected_code or "") and "'day'" not in (answer.corrected_code or "")


async def test_with_expected_output_a_fix_is_verified_only_if_it_prints_it():
    code = "def welcome():\n    print(Welcome)\n\nwelcome()\n"
    right = await analyze(code, expected_output="Welcome\n")
    assert right.fix_kind == "verified" and right.fix_verified
    assert 'print("Welcome")' in (right.corrected_code or "")
    # The only candidates print "Welcome" (or fail): none prints what this student expects.
    wrong = await analyze(code, expected_output="Hello there\n")
    assert wrong.corrected_code is None and not wrong.fix_verified and wrong.fix_kind is None


async def test_a_crash_fix_is_checked_against_the_expected_output():
    code = "count = 1\nprint(cuont + 1)\n"
    assert (await analyze(code, expected_output="2\n")).fix_kind == "verified"
    assert (await analyze(code, expected_output="3\n")).corrected_code is None


def test_kinds_of_names_and_uses():
    code = "import math\n\ndef area(r):\n    return math.pi * r * r\n\nfor side in [1, 2]:\n    print(area(side))\n"
    assert fixsafety.kind_of_name(code, "area") == "callable"
    assert fixsafety.kind_of_name(code, "side") == fixsafety.kind_of_name(code, "r") == "value"
    assert fixsafety.kind_of_name(code, "len") == "callable" and fixsafety.kind_of_name(code, "True") == "value"
    assert fixsafety.kind_of_use("print(aera(2))\n", "aera") == "callable"
    assert fixsafety.kind_of_use("x = sied + 1\n", "sied") == "value"
    assert fixsafety.kind_of_use("try:\n    pass\nexcept ValueEror:\n    pass\n", "ValueEror") == "callable"
