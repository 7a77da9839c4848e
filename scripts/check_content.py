"""Author-side check of curriculum data files, independent of the service code.

Usage: python scripts/check_content.py FILE.yaml [FILE.yaml ...]

Validates each file against the schema, runs every example and compares its output, runs every
exercise's reference solution and starter code against its tests with pytest, and checks that
every error example raises its error and its fix does not.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from learnflow.curriculum.models import ErrorFile, Exercise, ExerciseFile, Module


def run(code: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as tmp:
        return subprocess.run(
            [sys.executable, "-I", "-c", code],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=10,
            cwd=tmp,
        )


def pytest_passes(code: str, tests: str, exercise: Exercise) -> tuple[bool, str]:
    ok = True
    out = ""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "solution.py").write_text(code)
        if tests.strip():
            Path(tmp, "test_ex.py").write_text(tests)
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_ex.py"],
                capture_output=True,
                text=True,
                timeout=30,
                cwd=tmp,
            )
            if proc.returncode != 0:
                ok = False
                out += proc.stdout[-1500:]
        for case in exercise.io_tests:
            proc = subprocess.run(
                [sys.executable, "-I", "solution.py"],
                input=case.stdin,
                capture_output=True,
                text=True,
                timeout=10,
                cwd=tmp,
            )
            if proc.stdout != case.expected_stdout:
                ok = False
                out += f"io test {case.name}: got {proc.stdout!r} expected {case.expected_stdout!r}\n"
    return ok, out


def check_file(path: Path) -> list[str]:
    problems: list[str] = []
    data = yaml.safe_load(path.read_text())
    if "topics" in data:
        module = Module.model_validate(data)
        for topic in module.topics:
            for i, ex in enumerate(topic.examples):
                proc = run(ex.code, ex.stdin)
                if proc.returncode != 0 or proc.stdout != ex.output:
                    problems.append(
                        f"{path.name}:{topic.id} example {i} ({ex.title}): rc={proc.returncode}\n"
                        f"  expected {ex.output!r}\n  got      {proc.stdout!r}\n  stderr {proc.stderr[-500:]}"
                    )
    elif "exercises" in data:
        exfile = ExerciseFile.model_validate(data)
        for ex in exfile.exercises:
            tests = ex.visible_tests + "\n\n" + ex.hidden_tests
            if not ex.visible_tests.strip() and not ex.io_tests:
                problems.append(f"{ex.id}: needs visible_tests or io_tests")
            ok, out = pytest_passes(ex.solution, tests, ex)
            if not ok:
                problems.append(f"{ex.id}: solution fails its tests\n{out}")
            ok, _ = pytest_passes(ex.starter_code, tests, ex)
            if ok:
                problems.append(f"{ex.id}: starter code passes all tests (it must fail at least one)")
    elif "errors" in data:
        efile = ErrorFile.model_validate(data)
        for err in efile.errors:
            proc = run(err.example_code, "")
            if err.error_type not in proc.stderr:
                problems.append(f"{err.error_type}: example does not raise it: {proc.stderr[-300:]!r}")
            proc = run(err.fixed_code, "")
            if proc.returncode != 0:
                problems.append(f"{err.error_type}: fixed_code fails: {proc.stderr[-300:]!r}")
    else:
        problems.append(f"{path}: unknown file kind")
    return problems


def main() -> int:
    problems: list[str] = []
    for arg in sys.argv[1:]:
        try:
            problems += check_file(Path(arg))
        except Exception as exc:  # report schema errors per file and keep going
            problems.append(f"{arg}: {exc}")
    for p in problems:
        print("PROBLEM:", p)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
