"""Write src/learnflow/curriculum/data/pasted_tracebacks.yaml by really running buggy code.

Each case's module is imported by a script, a pytest file, a unittest file, an interactive session or a
notebook-like runner in a temporary directory; the traceback printed is stored (paths made to look
like a student's machine, Windows, or an autograder), and the labels come from a separate run that
catches the exception itself. Run: PYTHONPATH=src python scripts/make_pasted_tracebacks.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from pasted_cases import ASSERTS, RUNTIME, SYNTAX

OUT = Path(__file__).parent.parent / "src/learnflow/curriculum/data/pasted_tracebacks.yaml"
PY = sys.executable
MODULES = ["solution", "hw4", "lab2", "stats_utils", "answer", "exercise3"]
FORMATS = ["script", "pytest-long", "stdin", "windows", "pytest-short", "jupyter", "unittest", "idle",
           "pytest-native", "ipython-old", "lastline"]  # fmt: skip
HOMES = {
    "script": "/home/sam/cs101/hw4",
    "pytest-long": "/autograder/source",
    "pytest-short": "/home/runner/work/course/course",
    "pytest-native": "/Users/li/code/week5",
    "unittest": "/autograder/submission",
}

LABEL = r"""
import json, sys, traceback, unittest
sys.setrecursionlimit(1000)
out = {"error_type": None}
try:
    from MODULE import *
    exec(STATEMENT)
except BaseException as e:
    lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename.endswith("/MODULE.py")]
    if isinstance(e, SyntaxError) and (e.filename or "").endswith("MODULE.py"):
        lines.append(e.lineno)
    last = traceback.format_exception_only(type(e), e)[-1].rstrip("\n")
    message = last.split(": ", 1)[1] if ": " in last else ""
    out = {"error_type": type(e).__name__, "message": message.split("\n\n")[0], "line": lines[-1] if lines else None}
print(json.dumps(out))
"""

SESSION = r"""
import ast, code, io, json, linecache, sys
src, call, shell = json.loads(sys.argv[1])
interp = code.InteractiveInterpreter()
err = io.StringIO()
n = 0
def name():
    global n
    n += 1
    return f"<pyshell#{n}>" if shell else "<stdin>"
def feed(text):
    filename = name()
    if shell:
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    interp.runcode(compile(text + "\n", filename, "single"))
for node in ast.parse(src).body:
    feed(ast.get_source_segment(src, node))
sys.stderr = err
feed(call)
sys.stderr = sys.__stderr__
print(err.getvalue())
"""

NOTEBOOK = r"""
import ast, json, sys, traceback
src, call = json.loads(sys.argv[1])
sys.setrecursionlimit(1000)
ns = {}
exec(compile(src, "<cell-4>", "exec"), ns)
try:
    exec(compile(call, "<cell-5>", "exec"), ns)
except BaseException as e:
    frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(e.__traceback__)[1:]]
    last = traceback.format_exception_only(type(e), e)[-1].rstrip("\n")
    print(json.dumps({"frames": frames, "last": last, "type": type(e).__name__}))
"""


def run(args: list[str], cwd: str, stdin: str = "") -> str:
    done = subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout + done.stderr


def label(tmp: str, module: str, statement: str) -> dict[str, object]:
    script = LABEL.replace("MODULE", module).replace("STATEMENT", repr(statement))
    return json.loads(run([PY, "-c", script], tmp).strip().splitlines()[-1])


def signature(src: str, name: str) -> str:
    for node in ast_walk(src):
        if getattr(node, "name", None) == name and hasattr(node, "args"):
            params = [a.arg for a in node.args.args]
            return f"{name}({', '.join(params)})"
    return name


def ast_walk(src: str) -> list[object]:
    import ast

    return list(ast.walk(ast.parse(src)))


def notebook(src: str, call: str, old: bool) -> str:
    data = json.loads(run([PY, "-c", NOTEBOOK, json.dumps([src, call])], tempfile.gettempdir()).strip())
    code_lines, call_lines = src.splitlines(), call.splitlines()
    frames = data["frames"]
    if len(frames) > 6:
        frames = [*frames[:3], ("skip", 0, frames[3][2]), *frames[-2:]]
    out = ["-" * 75, f"{data['type']:<42}Traceback (most recent call last)"]
    for filename, lineno, name in frames:
        if filename == "skip":
            out += [f"    [... skipping similar frames: {name} at line {frames[-1][1]} (many times)]", ""]
            continue
        lines = code_lines if filename == "<cell-4>" else call_lines
        if old:
            cell = "4-8c2f1e0a7b3d" if filename == "<cell-4>" else "5-1b9e77c0d2aa"
            where = "<module>" if name == "<module>" else signature(src, name)
            out.append(f"<ipython-input-{cell}> in {where}")
        else:
            cell = "In[4]" if filename == "<cell-4>" else "In[5]"
            where = "" if name == "<module>" else f", in {signature(src, name)}"
            out.append(f"Cell {cell}, line {lineno}{where}")
        for i in range(max(lineno - 2, 1), min(lineno + 1, len(lines)) + 1):
            mark = "---->" if i == lineno else "     "
            out.append(f"{mark} {i} {lines[i - 1]}".rstrip() if i == lineno else f"{mark} {i} {lines[i - 1]}")
        out.append("")
    out.append(data["last"])
    return "\n".join(out)


def harness(fmt: str, tmp: str, module: str, call: str, expected: str, kind: str) -> tuple[str, str]:
    """(pasted output, the statement whose exception is the label)."""
    fn = call.split("(", 1)[0].split(".")[-1]
    if fmt in ("script", "windows"):
        body = (
            f"result = {call}"
            if kind != "assert"
            else f"result = {call}\nassert result == {expected}, f'expected {expected}, got {{result}}'"
        )
        Path(tmp, "run_tests.py").write_text(
            f"from {module} import *\n\nprint('checking {fn}')\n{body}\nprint(result)\n"
        )
        return run([PY, "run_tests.py"], tmp), body
    if fmt.startswith("pytest"):
        Path(tmp, f"test_{module}.py").write_text(
            f"from {module} import *\n\n\ndef test_{fn}():\n    assert {call} == {expected}\n"
        )
        tb = fmt.split("-", 1)[1]
        out = run([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--tb={tb}", f"test_{module}.py"], tmp)
        return out, f"assert {call} == {expected}"
    if fmt == "unittest":
        check = f"self.assertEqual({call}, {expected})"
        test_class = f"Test{fn.title().replace('_', '')}"
        Path(tmp, f"test_{module}.py").write_text(
            f"import unittest\n\nfrom {module} import *\n\n\nclass {test_class}(unittest.TestCase):\n"
            f"    def test_{fn}(self):\n        {check}\n\n\nif __name__ == '__main__':\n    unittest.main()\n"
        )
        statement = f"unittest.TestCase().assertEqual({call}, {expected})"
        return run([PY, "-m", "unittest", f"test_{module}"], tmp), statement
    raise ValueError(fmt)


def clean(text: str, tmp: str, fmt: str) -> str:
    # This machine's interpreter and tools are not what a student has: show the usual install paths,
    # and leave out the warning a test plugin installed here prints.
    site = str(Path(pytest_module_dir()).parent)
    text = text.replace(site, "/usr/local/lib/python3.11/site-packages")
    text = text.replace(str(Path(json.__file__).parent.parent), "/usr/local/lib/python3.11")
    kept, skipping = [], False
    for line in text.splitlines():
        if "PytestDeprecationWarning" in line:
            skipping = True
        if not skipping:
            kept.append(line)
        if skipping and line.strip().startswith("warnings.warn("):
            skipping = False
    text = "\n".join(kept)
    text = text.replace(tmp + "/", "/tmp/x/").replace(tmp, "/tmp/x")
    if fmt == "windows":
        home = "C:\\Users\\maria\\Documents\\hw4\\"
        text = text.replace("/tmp/x/", home)
    else:
        text = text.replace("/tmp/x", HOMES.get(fmt, "/home/sam/cs101/hw4"))
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def pytest_module_dir() -> str:
    import _pytest

    return str(Path(_pytest.__file__).parent)


WRAPS = [
    "{tb}",
    "my code fails the autograder and I dont get why, it works when I run it\n\n```\n{tb}\n```",
    "Here is the error:\n\n```python\n{tb}\n```\n\nWhat is wrong with my function?",
    "I got this\n{tb}\n\nthanks in advance",
    "```text\n{tb}\n```",
]


def main() -> None:
    cases: list[dict[str, object]] = []
    k = 0
    for index, (case_id, header, code, call, expected) in enumerate(RUNTIME):
        for j in range(3):
            fmt = FORMATS[(index * 3 + j) % len(FORMATS)]
            cases.append(make(f"{case_id}-{fmt}", fmt, header, code, call, expected, "runtime", k))
            k += 1
    for index, (case_id, header, code, call, expected) in enumerate(ASSERTS):
        for fmt in ("unittest", "script" if index % 2 else "windows"):
            cases.append(make(f"{case_id}-{fmt}", fmt, header, code, call, expected, "assert", k))
            k += 1
    for index, (case_id, header, code) in enumerate(SYNTAX):
        for fmt in ("script", "unittest" if index % 2 else "pytest-native"):
            cases.append(make(f"{case_id}-{fmt}", fmt, header, code, f"{case_id.split('-')[0]}()", "None", "syntax", k))
            k += 1
    OUT.write_text(HEAD + yaml.dump({"cases": cases}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000))
    print(f"{len(cases)} cases -> {OUT}")


def make(
    case_id: str, fmt: str, header: str, code: str, call: str, expected: str, kind: str, k: int
) -> dict[str, object]:
    module = MODULES[k % len(MODULES)]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, f"{module}.py").write_text(header + code)
        if fmt in ("stdin", "idle"):  # a session: the student typed the functions, then the call
            raw = run([PY, "-c", SESSION, json.dumps([code, call, fmt == "idle"])], tmp).strip("\n")
            out, statement = f">>> {call}\n{raw}\n>>> ", call
            if k % 2:
                out = "\n".join(">>> " + ln if not ln.startswith(">>>") else ln for ln in out.splitlines())
        elif fmt in ("jupyter", "ipython-old"):
            out, statement = notebook(code, call, fmt == "ipython-old"), call
        elif fmt == "lastline":
            got = label(tmp, module, call)
            out = f"{got['error_type']}: {got['message']}"
            statement = call
        else:
            out, statement = harness(fmt, tmp, module, call, expected, kind)
        got = label(tmp, module, statement)
        text = clean(out, tmp, fmt)
    assert got["error_type"], (case_id, out)
    header_lines = header.count("\n")
    line = got["line"] - header_lines if got["line"] is not None else None
    if fmt == "lastline":
        pasted = f"When I call `{call}` it crashes with\n\n{text}\n\nbut my logic looks right to me."
    else:
        pasted = WRAPS[k % len(WRAPS)].format(tb=text)
    return {
        "id": case_id, "format": fmt, "code": code, "text": pasted, "error_type": got["error_type"],
        "message": got["message"], "line": line, "call": call if kind != "syntax" else None,
    }  # fmt: skip


HEAD = """# Pasted tracebacks: the student's code (functions only: nothing in it calls what fails) and the text
# they pasted, a traceback in one of many formats. Generated by scripts/make_pasted_tracebacks.py, which
# really runs every case (script, pytest, unittest, an interactive session, a notebook-like runner) and
# labels it from a separate run that catches the exception.
#   error_type / message   the exception's name and its message (up to the first blank line)
#   line                   1-based line in `code` where it was raised (null: raised in the test itself)
#   call                   the failing call, as the harness made it (null for a SyntaxError)
"""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

if __name__ == "__main__":
    main()
