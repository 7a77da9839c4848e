"""Code quality of a submission, from a real linter (ruff).

Ruff only parses the code, it never runs it, so analysing a student's program outside the sandbox is
safe. The score is deliberately simple so a student can reason about it: every finding costs
``PENALTY`` of a perfect 1.0, down to 0.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from functools import cache

log = logging.getLogger(__name__)

# Style (pycodestyle E/W), likely bugs (pyflakes F, bugbear B), simplifications (SIM), naming (N),
# cyclomatic complexity (C90) and size/branching refactors (PLR). Left out, because they would mark
# down clear beginner code (every reference solution of the bank scores 1.0, a test checks it):
# PLR2004 flags every `if age >= 18`; PLR1714/SIM109 want `a in (b, c)` for `a == b or a == c`;
# PLR1730 wants `max()` where an exercise asks for the comparison; SIM108 prefers the ternary to an
# if/else block; B905 wants zip(strict=...).
RULES = "E,W,F,B,SIM,C90,N,PLR"
IGNORED = "PLR2004,PLR1714,SIM109,PLR1730,SIM108,B905"
LINE_LENGTH = "100"
MAX_COMPLEXITY = "8"
PENALTY = 0.1
_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Finding:
    code: str
    line: int
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class QualityReport:
    score: float
    findings: list[Finding]


def score_for(findings: int) -> float:
    return round(max(0.0, 1.0 - PENALTY * findings), 4)


@cache
def _ruff_binary() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin  # the PyPI package ships the binary

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError) as exc:  # pragma: no cover - ruff is a runtime dependency
        log.warning("ruff is not installed; submissions get no code-quality score (%s)", exc)
        return None


async def analyse(code: str) -> QualityReport | None:
    """Lint ``code``; None when the linter is unavailable or the code does not parse.

    Code that does not parse gets no quality score (rather than 0): its grade already says what is
    wrong, and a syntax error is not a style problem.
    """
    binary = _ruff_binary()
    if binary is None:
        return None
    args = [
        binary,
        "check",
        "--isolated",  # never read a configuration file from wherever the service runs
        "--no-cache",
        "--output-format",
        "json",
        "--select",
        RULES,
        "--ignore",
        IGNORED,
        "--line-length",
        LINE_LENGTH,
        "--config",
        f"lint.mccabe.max-complexity = {MAX_COMPLEXITY}",
        "--stdin-filename",
        "submission.py",
        "-",
    ]
    with tempfile.TemporaryDirectory(prefix="learnflow-lint-") as cwd:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(code.encode()), _TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            log.warning("ruff took longer than %.0f s; no quality score", _TIMEOUT_S)
            return None
    if proc.returncode not in (0, 1):
        log.warning("ruff failed (exit %s): %s", proc.returncode, err.decode(errors="replace")[:500])
        return None
    raw = json.loads(out or b"[]")
    if any(item.get("code") in (None, "invalid-syntax") for item in raw):
        return None
    findings = sorted(
        (Finding(code=item["code"], line=int(item["location"]["row"]), message=item["message"]) for item in raw),
        key=lambda f: (f.line, f.code),
    )
    return QualityReport(score=score_for(len(findings)), findings=findings)
