"""Reading an error: the exception type, its message and the student's line, from a traceback or a pasted message.

The text comes from student code (or a student's paste): it is matched line by line with anchored
patterns and never evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LAST_LINE = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt|Iteration)\w*)(?::\s?(?P<msg>.*))?$"
)
_GENERIC_LAST = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")
_FILE_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
MAIN_FILES = ("main.py", "<string>", "<stdin>")


@dataclass(frozen=True)
class ParsedError:
    error_type: str
    message: str
    line: int | None


def parse_traceback(text: str, *, files: tuple[str, ...] = MAIN_FILES) -> ParsedError | None:
    """Find the exception type, message and the student's line in a traceback or error message."""
    lines = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    found: ParsedError | None = None
    for candidate in reversed(lines):
        stripped = candidate.strip()
        match = _LAST_LINE.match(stripped)
        if match:
            found = ParsedError(match["type"].rsplit(".", 1)[-1], (match["msg"] or "").strip(), None)
            break
    if found is None:
        match = _GENERIC_LAST.match(lines[-1].strip())
        if not match or not lines[-1].strip()[0].isupper() or " " in match["type"]:
            return None
        found = ParsedError(match["type"].rsplit(".", 1)[-1], (match["msg"] or "").strip(), None)
    line: int | None = None
    for m in _FILE_LINE.finditer(text):
        if any(m["file"].endswith(f) for f in files) or not files:
            line = int(m["line"])
    if line is None:
        # A pasted message such as "NameError on line 3" or one frame from another file name.
        frames = list(_FILE_LINE.finditer(text))
        if frames:
            line = int(frames[-1]["line"])
        else:
            loose = re.search(r"\bline (\d+)\b", text)
            line = int(loose.group(1)) if loose else None
    return ParsedError(found.error_type, found.message, line)
