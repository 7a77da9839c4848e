"""Logic bugs: compare what a program printed with what the student expected, and say how they differ.

The diagnosis names the shape of the difference (stops early, extra lines, wrong order, off by one,
float instead of int, numbers joined as text, capitals, spacing) because each shape has a typical
beginner cause; the first differing line is always shown as evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_EXPECT = re.compile(
    r"\b(?:expected(?: output)?|expecting|should (?:print|output|show|give|return|be|display)|"
    r"supposed to (?:print|output|show|give|return|be|display)|"
    r"want(?:ed)? (?:it )?to (?:print|output|show|give|display|get)|instead of)"
    r"(?:\s+(?:output|result)s?)?\b[ \t]*(?:is|was|are|of|:)?[ \t]*",
    re.I,
)
_FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)
_STOP = re.compile(r"[\s,]+(?:but|instead|and it|however|yet|though|got|gets|i get|it gives)\b.*$", re.I | re.S)


@dataclass(frozen=True)
class Difference:
    explanation: str
    hints: list[str]
    # The shape found: same, stops_early, extra_lines, order, shifted, case, spacing, float, off_by_one,
    # rounding, joined_text, range_end, doubled, number, other. The last two name no cause.
    kind: str = "other"


# Words that make a stated expectation prose ("it should print the total"), not an output to compare with.
_PROSE = re.compile(
    r"\b(?:the|a|an|my|its?|this|that|them|something|anything|correct(?:ly)?|right|properly|what|how|when|"
    r"value|values|result|results|answer|number|numbers|sum|total|list|output|error|work)\b",
    re.I,
)


def expected_from_question(question: str) -> str | None:
    """The output a student says they expected ("it should print 15 but prints 10" -> "15"), if stated.

    Only an output itself counts: quoted, fenced, on the lines after "expected output:", or a value such
    as a number or a list. A description in words ("it should print the total") is not an output: the
    tutor asks for one rather than invent it.
    """
    m = _EXPECT.search(question)
    if not m:
        return None
    rest = question[m.end() :]
    fenced = _FENCE.match(rest.lstrip())
    if fenced:
        return fenced.group(1)
    if rest.startswith("\n"):  # "Expected output:" followed by the lines themselves
        return rest.strip("\n").split("\n\n", 1)[0] or None
    line = _STOP.sub("", rest.split("\n", 1)[0]).strip().rstrip(".!,;?")
    if len(line) >= 2 and line[0] == line[-1] and line[0] in "'\"`":
        return line[1:-1]
    if not line or _PROSE.search(line) or len(line.split()) > 6:
        return None
    return line


def same_output(actual: str, expected: str) -> bool:
    """Equal apart from trailing spaces and blank lines at the end."""
    return _lines(actual) == _lines(expected)


def _lines(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.replace("\r\n", "\n").strip("\n").split("\n")] if text.strip() else []


def _show(lines: list[str], limit: int = 5) -> str:
    body = "\n".join(lines[:limit]) + ("\n…" if len(lines) > limit else "")
    return f"\n\n```\n{body or '(nothing)'}\n```\n"


def _number_diagnosis(got: str, want: str, code: str) -> tuple[str, str, str] | None:
    """Explain a line whose words match and whose numbers differ."""
    if _NUMBER.sub("#", got) != _NUMBER.sub("#", want):
        return None
    for g_text, w_text in zip(_NUMBER.findall(got), _NUMBER.findall(want), strict=True):
        if g_text == w_text:
            continue
        g, w = float(g_text), float(w_text)
        if "." in g_text and "." not in w_text and g == w:
            return (
                "float",
                f"You print `{g_text}` where `{w_text}` was expected: the value is right but it is a float. "
                "In Python 3 `/` always gives a float (`10 / 2` is `5.0`).",
                "Use `//` for whole-number division, or `int(...)` / `round(...)` before printing.",
            )
        if "." in w_text and "." not in g_text and int(w) == g and w != g:
            return (
                "floor_division",
                f"You print `{g_text}` where `{w_text}` was expected: the part after the decimal point is lost. "
                "`//` (floor division) and `int(...)` throw the fraction away.",
                "Use `/` for ordinary division, and `round(x, 2)` if you want two decimals.",
            )
        if abs(g - w) == 1 and re.search(r"\b(?:for|while)\b|\brange\(", code):
            return (
                "off_by_one",
                f"You print `{g_text}` where `{w_text}` was expected: off by exactly one. This usually comes "
                "from a loop bound (`range(n)` stops before `n`; `range(1, n + 1)` includes it), a counter "
                "that starts at the wrong value, or `<` where `<=` was meant.",
                "Check where the loop starts and stops: which values does it really visit? Print them.",
            )
        if abs(g - w) == 1:
            # No loop in the program: a loop bound cannot be the cause, so none is named.
            return (
                "off_by_one",
                f"You print `{g_text}` where `{w_text}` was expected: off by exactly one. Look for a starting "
                "value, a `+ 1` or `- 1` too many or too few, or `<` where `<=` was meant.",
                "Work the calculation out by hand and print the intermediate values to see where one is lost.",
            )
        if ("." in g_text or "." in w_text) and w and abs(g - w) / abs(w) < 1e-6:
            return (
                "rounding",
                f"You print `{g_text}` where `{w_text}` was expected: floats are stored in binary, so "
                "tiny rounding differences show up when printed in full.",
                "Format the number, e.g. `round(x, 2)` or `f'{x:.2f}'`.",
            )
        for cut in range(1, len(g_text)):
            left, right = g_text[:cut], g_text[cut:]
            if left.lstrip("-").isdigit() and right.isdigit() and int(left) + int(right) == w:
                return (
                    "joined_text",
                    f"You print `{g_text}` where `{w_text}` was expected: it looks like `{left}` and `{right}` "
                    f"were joined as text (`'{left}' + '{right}'` is `'{g_text}'`) instead of added. Values "
                    "from `input()` are always strings.",
                    "Convert the text to a number with `int(...)` or `float(...)` before adding.",
                )
        missing = w - g
        if missing > 1 and missing == int(missing) and re.search(rf"range\([^)]*\b{int(missing)}\s*\)", code):
            stop = int(missing)
            return (
                "range_end",
                f"You print `{g_text}` where `{w_text}` was expected: exactly {stop} is missing, and your code has "
                f"`range(..., {stop})`. `range` stops *before* its end value, so {stop} itself is never visited.",
                f"To include {stop}, the range must end at {stop + 1}.",
            )
        if w and g == w * 2:
            return (
                "doubled",
                f"You print `{g_text}`, twice the expected `{w_text}`: something is counted or added twice.",
                "Look for a value added both inside and after a loop, or a loop that visits items twice.",
            )
        return (
            "number",
            f"You print `{g_text}` where `{w_text}` was expected.",
            "Trace the calculation by hand for a small input and print the intermediate values.",
        )
    return None


def explain(actual: str, expected: str, *, code: str = "") -> Difference:
    """Compare a program's output with the expected output (``code`` sharpens the diagnosis)."""
    got, want = _lines(actual), _lines(expected)
    if got == want:
        same_raw = actual.rstrip("\n") == expected.rstrip("\n")
        return Difference(
            kind="same",
            explanation=(
                "Your program prints exactly the output you expected"
                + ("" if same_raw else " (apart from spaces at line ends or blank lines)")
                + ". If it still looks wrong, the difference may come from the input: run it with the same input."
            ),
            hints=[
                "Run it again with the exact input that gave the wrong result.",
                "Check whether the input itself is what you think it is: print it first.",
                "If a test fails, compare its expected value with what your function returns (not prints).",
            ],
        )
    first = next((i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w), min(len(got), len(want)))
    evidence = (
        f"Line {first + 1}: expected `{want[first]}`, got `{got[first]}`."
        if first < len(got) and first < len(want)
        else ""
    )
    if len(got) < len(want) and want[: len(got)] == got:
        kind = "stops_early"
        cause = (
            f"Your program stops early: it prints the first {len(got)} of the {len(want)} lines you expected, "
            f"then nothing. The next line should have been `{want[len(got)]}`. A loop that ends one round too "
            "soon (`range(1, n)` instead of `range(1, n + 1)`, `<` instead of `<=`) or a `break`/`return` "
            "that comes too early is the usual cause."
        )
        hints = [
            "How many times does your loop run? Print the loop variable on each round.",
            "Check the loop's stop value or condition: is the last value included?",
            f"The missing output starts with `{want[len(got)]}`: which round should print it?",
        ]
    elif len(got) > len(want) and got[: len(want)] == want:
        extra = got[len(want) :]
        kind = "extra_lines"
        cause = (
            f"Your program prints everything you expected, then {len(extra)} extra line(s):{_show(extra)}"
            "A loop that runs too many times, or a `print` inside a loop that belongs after it, is the usual cause."
        )
        hints = [
            "Which line of your code prints the extra output?",
            "Is that `print` indented inside a loop when it should run once, after it?",
            "Check the loop's stop value: does it run one round too many?",
        ]
    elif sorted(got) == sorted(want):
        kind = "order"
        cause = "Your program prints the right lines but in a different order." + (f" {evidence}" if evidence else "")
        hints = [
            "In which order are the items produced? Does something sort, reverse or insert at the front?",
            "Check the loop direction and any `insert(0, ...)` or `reversed(...)`.",
            "Print the collection before the output loop to see its order.",
        ]
    elif len(got) == len(want) >= 2 and (got[1:] == want[:-1] or got[:-1] == want[1:]):
        kind = "shifted"
        cause = (
            "Your output is shifted by one line compared with what you expected: the loop starts one step "
            f"too early or too late. {evidence}"
        )
        hints = [
            "Which value should the loop start from?",
            "Compare the first line printed with the first line expected.",
            "Check the start of your `range(...)` or the initial value of your counter.",
        ]
    elif first < len(got) and first < len(want) and got[first].lower() == want[first].lower():
        kind = "case"
        cause = f"{evidence} The words are right but the capital letters differ; Python compares text exactly."
        hints = [
            "Compare the capitals letter by letter.",
            "Check the strings in your code, or calls to `.upper()`, `.lower()`, `.title()`.",
            "Print `repr(...)` of the value to see it exactly.",
        ]
    elif first < len(got) and first < len(want) and got[first].replace(" ", "") == want[first].replace(" ", ""):
        kind = "spacing"
        cause = (
            f"{evidence} Only the spaces differ. `print(a, b)` puts a space between the items; "
            "`print(a + b)` or an f-string does not."
        )
        hints = [
            "Where do the extra or missing spaces come from?",
            "`print(a, b, sep='')` prints without the space; an f-string gives exact control.",
            "Print `repr(...)` of the line to see every space.",
        ]
    elif first < len(got) and first < len(want) and (numbers := _number_diagnosis(got[first], want[first], code)):
        kind = numbers[0]
        cause = f"Line {first + 1}: {numbers[1]}"
        hints = [  # gentlest first; the near-fix last
            f"Work out by hand what line {first + 1} should be, and which variables it comes from.",
            "Print the variables involved just before that line to see where the value goes wrong.",
            numbers[2],
        ]
    else:
        kind = "other"
        cause = (
            f"The output differs from what you expected. {evidence}".rstrip()
            if evidence
            else "The output differs from what you expected."
        )
        hints = [
            "Find the first line where the output differs from what you expected.",
            "Which part of your code produces that line? Print the values it uses.",
            "Work through that part by hand with a small input.",
        ]
    explanation = (
        "Your program ran without an error, so this is a logic bug: the code does something other than what "
        f"you meant.\n\nYou expected:{_show(want)}\nIt printed:{_show(got)}\n{cause}"
    )
    return Difference(explanation=explanation, hints=hints, kind=kind)
