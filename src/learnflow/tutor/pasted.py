"""A traceback the student pasted is evidence: find it, map it onto their code, and rerun the failing call.

The student often pastes only their function and the autograder's traceback: the function alone runs
clean, and the failing call is visible only in the traceback (a test's line, a ``>>>`` prompt, a
notebook cell). Everything here treats the pasted text as untrusted data: bounded input, line-by-line
parsing with simple anchored patterns (nothing that can backtrack badly), and a failing call is only
rerun when it calls the student's own functions with literal arguments.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from learnflow.sandbox import CodeRunner

MAX_TEXT = 20_000
MAX_LINE = 1_000
MAX_LINES = 2_000
MAX_FRAMES = 200
MAX_CALL = 500
MAX_MESSAGE = 2_000

# A name that ends like an exception (TypeError, json.decoder.JSONDecodeError, KeyboardInterrupt ...).
_EXC_SUFFIXES = ("Error", "Exception", "Warning", "Exit", "Interrupt", "Iteration", "Group")
_EXC_LINE = re.compile(r"(?P<type>[A-Za-z_][\w.]{0,100})(?::[ \t]?(?P<msg>.*))?")
# "I get TypeError: can only ..." inside a sentence.
_EXC_IN_PROSE = re.compile(r"\b(?P<type>[A-Z]\w{0,60}(?:Error|Exception)):[ \t]?(?P<msg>\S.*)")
_STD_FRAME = re.compile(r'File "(?P<file>[^"\n]{1,500})", line (?P<line>\d{1,7})(?:, in (?P<fn>\S{1,200}))?')
_IPY_FILE_FRAME = re.compile(r"File (?P<file>\S{1,500}):(?P<line>\d{1,7})(?:, in (?P<fn>[^\s(]{1,200}))?")
_CELL_FRAME = re.compile(r"Cell (?P<file>In ?\[\d{0,6}\]), line (?P<line>\d{1,7})(?:, in (?P<fn>[^\s(]{1,200}))?")
_IPY_INPUT_FRAME = re.compile(r"(?P<file><ipython-input-[\w-]{1,80}>) in (?P<fn>[^\s(]{1,200})")
_ARROW = re.compile(r"-{1,8}> ?(?P<line>\d{1,7}) ?(?P<src>.*)")
_JUPYTER_HEAD = re.compile(r"(?P<type>[A-Za-z_][\w.]{0,100}) {2,}Traceback \(most recent call last\)")
_PYTEST_E = re.compile(r"E {1,12}(?P<rest>.*)")
_PYTEST_SUMMARY = re.compile(r"(?:FAILED|ERROR) \S{1,500} - (?P<rest>.*)")
_CARETS = frozenset("^~ \t")
_CHAIN_MARKERS = ("During handling of the above exception", "The above exception was the direct cause")


@dataclass(frozen=True)
class Frame:
    file: str
    line: int | None
    function: str | None  # None for a SyntaxError's location, which is no frame of the program
    source: str | None


@dataclass(frozen=True)
class PastedTraceback:
    error_type: str  # without a module prefix: "JSONDecodeError", not "json.decoder.JSONDecodeError"
    message: str
    frames: tuple[Frame, ...]  # outermost first, as Python prints them
    start: int  # character bounds of the traceback in the text it was found in
    end: int
    prompts: tuple[str, ...] = ()  # ">>> " / "In [3]:" inputs typed before it: the call, when frames lack it
    complete: bool = True  # False when only an exception line was found, no frames


@dataclass(frozen=True)
class Mapped:
    traceback: PastedTraceback
    line: int | None  # the innermost student frame's line in the GIVEN code
    line_text: str | None
    function: str | None  # the function that line is in, when the frame named one
    frame_lines: tuple[int | None, ...]  # per frame: its line in the given code, or None (not the student's)
    call_site: str | None  # the source text of the call into the student's code, when it is outside it
    outer_function: str | None  # the student function that call enters


@dataclass(frozen=True)
class Reproduction:
    call: str
    ran: bool  # False when the sandbox stopped the program (time, memory, output)
    error_type: str | None
    message: str | None
    line: int | None  # innermost line inside the given code
    same_type: bool
    same_message: bool

    @property
    def reproduced(self) -> bool:
        return self.same_type and self.same_message


@dataclass(frozen=True)
class PastedEvidence:
    error_type: str
    message: str
    line: int | None  # in the given code when code was given, else the traceback's innermost line
    line_text: str | None
    failing_call: str | None
    reproduced: bool
    frames: int
    complete: bool  # a whole traceback (frames) rather than only its last line
    reproduction: Reproduction | None = field(default=None, compare=False)


# ----------------------------------------------------------------------------------------- finding


@dataclass
class _Builder:
    start: int
    prompts: list[str]
    frames: list[Frame] = field(default_factory=list)
    error_type: str | None = None
    message_lines: list[str] = field(default_factory=list)
    end: int = 0
    open_message: bool = False  # the exception line was seen and continuation lines may follow
    pytest_long: bool = False  # pytest's long format: the "E" lines come before the location line
    jupyter_type: str | None = None

    def add_frame(self, frame: Frame) -> None:
        if len(self.frames) < MAX_FRAMES:
            self.frames.append(frame)
        else:
            # Deep recursion: keep the outermost calls and the newest, which is where it stopped.
            self.frames[-1] = frame

    def set_error(self, name: str, message: str) -> None:
        self.error_type, self.message_lines = name, [message] if message else []


def _clean(line: str) -> str:
    line = line[:MAX_LINE].rstrip()
    for prefix in (">>> ", "... "):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return "" if line in (">>>", "...") else line


def _exception_line(text: str) -> tuple[str, str] | None:
    """("TypeError", "message") when ``text`` is an exception's last line."""
    m = _EXC_LINE.fullmatch(text.strip())
    if not m:
        return None
    name = m["type"].rsplit(".", 1)[-1]
    if not name.endswith(_EXC_SUFFIXES) and name not in _BUILTIN_EXCEPTIONS:
        return None
    return name, (m["msg"] or "").strip()


def _builtin_exceptions() -> frozenset[str]:
    import builtins

    return frozenset(n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException))


_BUILTIN_EXCEPTIONS = _builtin_exceptions()


def _is_carets(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and set(stripped) <= _CARETS


def _pytest_location(text: str) -> tuple[str, int, str] | None:
    """``path.py:12: rest`` (pytest's location lines), found without a backtracking pattern."""
    for m in re.finditer(r":(\d{1,7}):", text):
        path = text[: m.start()].strip()
        if path.endswith(".py") and " " not in path:
            return path, int(m.group(1)), text[m.end() :].strip()
    return None


def _lines(text: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, raw line, cleaned line) for each line of ``text``."""
    pos = 0
    for count, raw in enumerate(text.splitlines(keepends=True)):
        if count >= MAX_LINES:
            return
        bare = raw.rstrip("\r\n")
        yield pos, pos + len(bare), bare, _clean(bare)
        pos += len(raw)


class _Finder:
    """One pass over the lines; every traceback that reaches its exception line is kept."""

    def __init__(self) -> None:
        self.found: list[_Builder] = []
        self.loose: tuple[int, int, str, str] | None = None
        self.current: _Builder | None = None
        self.prompts: list[str] = []
        self.awaiting: bool = False  # the last frame header's source line may come next
        self.header_indent = 0
        self.pytest_def: str | None = None
        self.pytest_source: str | None = None
        self.e_awaiting = False

    def close(self) -> None:
        cur = self.current
        if cur is not None:
            if cur.error_type is None and cur.jupyter_type and cur.frames:
                cur.error_type = cur.jupyter_type
            if cur.error_type is not None:
                self.found.append(cur)
        self.current = None
        self.awaiting = False

    def begin(self, start: int) -> _Builder:
        self.close()
        self.current = _Builder(start=start, prompts=list(self.prompts[-3:]))
        return self.current

    def feed(self, start: int, end: int, raw: str, line: str) -> None:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        cur = self.current
        if self.awaiting and cur is not None:
            self.awaiting = False
            if (
                stripped
                and not _is_carets(stripped)
                and (indent > self.header_indent or _frame_header(stripped) is None)
                and _exception_line(stripped) is None
            ):
                last = cur.frames[-1]
                cur.frames[-1] = Frame(last.file, last.line, last.function, stripped)
                cur.end = end
                return
        if stripped.startswith("```"):
            if cur is not None:
                cur.open_message = False
            return
        prompt = raw.lstrip().startswith(">>>") or stripped.startswith("In [")
        if cur is not None and cur.open_message:
            if (
                stripped
                and not stripped.startswith(("____", "===="))
                and not prompt
                and not stripped.startswith(("Traceback (", *_CHAIN_MARKERS))
                and not stripped.endswith("?")
                and len(cur.message_lines) < 50
            ):
                cur.message_lines.append(stripped)
                cur.end = end
                return
            cur.open_message = False
        if stripped.startswith("Traceback (most recent call last)"):
            self.begin(start)
            return
        jupyter = _JUPYTER_HEAD.match(stripped)
        if jupyter:
            self.begin(start).jupyter_type = jupyter["type"].rsplit(".", 1)[-1]
            return
        if stripped.startswith(_CHAIN_MARKERS) or (stripped.startswith(("____", "====")) and cur is not None):
            self.close()
            return
        header = _frame_header(stripped)
        if header is not None:
            frame, kind = header
            if cur is None or (cur.error_type is not None and kind == "std"):
                cur = self.begin(start)
            cur.add_frame(frame)
            cur.end = end
            self.awaiting, self.header_indent = kind == "std", indent
            return
        if cur is not None and cur.frames:
            arrow = _ARROW.fullmatch(stripped)
            if arrow:
                last = cur.frames[-1]
                cur.frames[-1] = Frame(last.file, int(arrow["line"]), last.function, arrow["src"].strip())
                cur.end = end
                return
        location = _pytest_location(stripped) if ".py:" in stripped else None
        if location is not None and not location[2].split(":", 1)[0].endswith("Warning"):
            self.pytest_frame(start, end, indent, *location)
            return
        if line.startswith(">") and not prompt:
            if cur is None or (cur.error_type is not None and not cur.pytest_long):
                cur = self.begin(start)
            cur.pytest_long = True
            self.pytest_source = line[1:].strip()
            cur.end = end
            return
        if stripped.startswith("def "):
            self.pytest_def = stripped[4:].split("(", 1)[0].strip() or None
        e_line = _PYTEST_E.fullmatch(line)
        if e_line and cur is not None:
            self.pytest_error(cur, e_line["rest"].strip(), end)
            return
        if cur is not None and cur.error_type is None and (cur.frames or cur.jupyter_type):
            if not stripped or _is_carets(stripped) or stripped.startswith("[Previous line repeated"):
                return
            exc = _exception_line(stripped)
            if exc:
                cur.set_error(*exc)
                cur.end = end
                cur.open_message = not cur.pytest_long
                return
            if cur.jupyter_type is None and not cur.pytest_long and indent == 0:
                self.close()
        if prompt and stripped:
            typed = stripped.split("]:", 1)[1].strip() if stripped.startswith("In [") and "]:" in stripped else stripped
            self.prompts.append(typed[:MAX_CALL])
            del self.prompts[:-3]
        self.loose_line(start, end, stripped)

    def pytest_frame(self, start: int, end: int, indent: int, path: str, number: int, rest: str) -> None:
        cur = self.current
        if cur is None or (cur.error_type is not None and not cur.pytest_long):
            cur = self.begin(start)
        if rest.startswith("in "):
            # --tb=short: "path:12: in func", its source on the next line.
            cur.add_frame(Frame(path, number, rest[3:].strip() or None, None))
            self.awaiting, self.header_indent = True, indent
        else:
            cur.add_frame(Frame(path, number, self.pytest_def, self.pytest_source))
            exc = _exception_line(rest) if rest else None
            if exc and cur.error_type is None:
                cur.set_error(*exc)
            elif exc and exc[0] != cur.error_type and cur.error_type == "AssertionError":
                cur.error_type = exc[0]
        self.pytest_source = self.pytest_def = None
        cur.end = end

    def pytest_error(self, cur: _Builder, rest: str, end: int) -> None:
        header = _frame_header(rest) if cur.error_type is None else None
        if header is not None:
            # A SyntaxError at collection: its location block is printed on "E" lines.
            cur.add_frame(header[0])
            self.e_awaiting = True
            cur.end = end
            return
        if self.e_awaiting and cur.frames and rest and not _is_carets(rest) and _exception_line(rest) is None:
            last = cur.frames[-1]
            cur.frames[-1] = Frame(last.file, last.line, last.function, rest)
            self.e_awaiting = False
            cur.end = end
            return
        self.e_awaiting = False
        if cur.error_type is None:
            exc = _exception_line(rest)
            if exc:
                cur.set_error(*exc)
            elif rest.startswith("assert"):
                cur.set_error("AssertionError", rest)
            else:
                return
        elif rest and len(cur.message_lines) < 50 and not rest.startswith(("+", "-", "?", "Full diff", "Use -v")):
            cur.message_lines.append(rest)
        cur.end = end

    def loose_line(self, start: int, end: int, stripped: str) -> None:
        summary = _PYTEST_SUMMARY.match(stripped)
        candidate = summary["rest"] if summary else stripped
        exc = _exception_line(candidate)
        if exc is None:
            m = _EXC_IN_PROSE.search(candidate)
            exc = (m["type"], m["msg"].strip().strip("`").strip()) if m else None
        if exc is not None:
            self.loose = (start, end, exc[0], exc[1])


def find_traceback(text: str) -> PastedTraceback | None:
    """The last Python traceback in free text (for chained exceptions, the last of the chain).

    Understands the interpreter's own format (POSIX and Windows paths, ``<stdin>``, IDLE, 3.11 carets,
    SyntaxError blocks), IPython and Jupyter, pytest long/short/native output, unittest output, ``>>> ``
    prefixes and markdown fences; falls back to a lone exception line ("TypeError: ...") in prose.
    """
    if not text:
        return None
    skipped = max(len(text) - MAX_TEXT, 0)
    body = text[skipped:]
    finder = _Finder()
    for start, end, raw, line in _lines(body):
        finder.feed(start, end, raw, line)
    finder.close()
    if finder.found:
        best = finder.found[-1]
        return PastedTraceback(
            error_type=best.error_type or "",
            message="\n".join(best.message_lines).strip()[:MAX_MESSAGE],
            frames=tuple(best.frames),
            start=skipped + best.start,
            end=skipped + max(best.end, best.start),
            prompts=tuple(best.prompts),
        )
    if finder.loose is not None:
        start, end, name, message = finder.loose
        return PastedTraceback(
            error_type=name,
            message=message[:MAX_MESSAGE],
            frames=(),
            start=skipped + start,
            end=skipped + end,
            prompts=tuple(finder.prompts),
            complete=False,
        )
    return None


def _frame_header(text: str) -> tuple[Frame, str] | None:
    if text.startswith('File "'):
        m = _STD_FRAME.match(text)
        if m:
            return Frame(m["file"], int(m["line"]), m["fn"], None), "std"
    if text.startswith("File "):
        m = _IPY_FILE_FRAME.match(text)
        if m:
            return Frame(m["file"], int(m["line"]), m["fn"], None), "ipython"
    if text.startswith("Cell In"):
        m = _CELL_FRAME.match(text)
        if m:
            return Frame(m["file"], int(m["line"]), m["fn"], None), "ipython"
    if text.startswith("<ipython-input-"):
        m = _IPY_INPUT_FRAME.match(text)
        if m:
            return Frame(m["file"], None, m["fn"], None), "ipython"
    return None


# ----------------------------------------------------------------------------------------- mapping


def _norm(text: str) -> str:
    return " ".join(text.split())


def _function_spans(code: str) -> dict[str, list[tuple[int, int]]]:
    """Each function or method name defined in ``code``: its (first, last) lines, nested ones too."""
    spans: dict[str, list[tuple[int, int]]] = {}
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _function_spans_by_indent(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans.setdefault(node.name, []).append((first, node.end_lineno or node.lineno))
    return spans


def _function_spans_by_indent(code: str) -> dict[str, list[tuple[int, int]]]:
    """The same from indentation alone, for code that does not parse (a SyntaxError was pasted)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    lines = code.splitlines()
    for i, line in enumerate(lines, 1):
        stripped = line.lstrip()
        if not stripped.startswith(("def ", "async def ")):
            continue
        name = stripped.split("def ", 1)[1].split("(", 1)[0].strip()
        indent = len(line) - len(stripped)
        last = i
        for j in range(i + 1, len(lines) + 1):
            text = lines[j - 1]
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
            if text.strip():
                last = j
        spans.setdefault(name, []).append((i, last))
    return spans


def _matches(source: str, line: str) -> int:
    """How well a frame's source text matches a code line: 2 exactly, 1 as a truncated or partial copy."""
    if not source or not line:
        return 0
    if source == line:
        return 2
    # A frame's source may be cut short (pytest, long lines) or a code line may be shown in part.
    shorter, longer = (source, line) if len(source) < len(line) else (line, source)
    if len(shorter) >= 6 and longer.startswith(shorter.rstrip(".… ")):
        return 1
    return 0


def map_to_code(tb: PastedTraceback, code: str) -> Mapped:
    """Which frames are in ``code``, where (in ``code``'s numbering), and the call into it from outside.

    Frames are matched by their source text, within the function the frame names when ``code`` defines
    it; several equal lines are told apart by the offset the other frames of the same file show (the
    student pasted only part of the file), else by the nearest line at or above the reported one.
    """
    code_lines = [_norm(line) for line in code.splitlines()]
    spans = _function_spans(code)
    in_any = {n for spans_ in spans.values() for a, b in spans_ for n in range(a, b + 1)}
    candidates: list[list[tuple[int, int]]] = []  # per frame: (line, match quality)
    for frame in tb.frames:
        source = _norm(frame.source or "")
        allowed: set[int] | None = None
        if frame.function in spans:
            allowed = {n for a, b in spans[frame.function] for n in range(a, b + 1)}
        elif frame.function == "<module>":
            allowed = set(range(1, len(code_lines) + 1)) - in_any
        found = [(i, q) for i, text in enumerate(code_lines, 1) if (q := _matches(source, text))]
        inside = [c for c in found if allowed is None or c[0] in allowed]
        if inside or frame.function in spans:
            found = inside
        if found:
            best = max(q for _, q in found)
            found = [c for c in found if c[1] == best]
        candidates.append(found)
    offsets: dict[str, list[int]] = {}
    for frame, found in zip(tb.frames, candidates, strict=True):
        if len(found) == 1 and frame.line is not None:
            offsets.setdefault(frame.file, []).append(frame.line - found[0][0])
    lines: list[int | None] = []
    for frame, found in zip(tb.frames, candidates, strict=True):
        lines.append(_choose(frame, found, offsets.get(frame.file), spans, len(code_lines)))
    student = [i for i, n in enumerate(lines) if n is not None]
    innermost = student[-1] if student else None
    number = lines[innermost] if innermost is not None else None
    outer = student[0] if student else None
    call_site: str | None = None
    outer_function: str | None = None
    if outer is not None:
        outer_function = tb.frames[outer].function if tb.frames[outer].function in spans else None
        for frame in reversed(tb.frames[:outer]):
            if frame.source:
                call_site = frame.source[:MAX_CALL]
                break
        if call_site is None and tb.frames[outer].function not in (None, "<module>") and tb.prompts:
            call_site = tb.prompts[-1]
    else:
        # Nothing of the student's on the stack: the call itself failed (wrong arguments), or a test did.
        shown = [f.source for f in tb.frames if f.source]
        call_site = shown[-1][:MAX_CALL] if shown else (tb.prompts[-1] if tb.prompts else None)
    return Mapped(
        traceback=tb,
        line=number,
        line_text=code.splitlines()[number - 1].strip() if number else None,
        function=tb.frames[innermost].function if innermost is not None else None,
        frame_lines=tuple(lines),
        call_site=call_site,
        outer_function=outer_function,
    )


_INTERACTIVE = ("<stdin>", "<pyshell", "<ipython-input", "In [", "In[", "<string>", "<input>")


def _choose(
    frame: Frame,
    found: list[tuple[int, int]],
    offsets: list[int] | None,
    spans: dict[str, list[tuple[int, int]]],
    n: int,
) -> int | None:
    if len(found) == 1:
        return found[0][0]
    shift = sorted(offsets)[len(offsets) // 2] if offsets else None
    if found:
        if frame.line is None:
            return found[0][0]
        reported = frame.line
        if shift is not None:
            return min(found, key=lambda c: (abs(reported - shift - c[0]), c[0]))[0]
        # No other frame shows the offset: the pasted code is at most the file, so the line is at or
        # above the reported one; the nearest such line wins.
        return min(found, key=lambda c: (c[0] > reported, abs(reported - c[0])))[0]
    if frame.source or frame.line is None or frame.function not in spans:
        return None
    # No source text shown (an interactive session, a compiled file): count from what is known.
    first, last = spans[frame.function][0]
    if frame.file.startswith(_INTERACTIVE):
        number = first + frame.line - 1  # lines count from the start of the statement typed in
    elif shift is not None:
        number = frame.line - shift
    else:
        number = frame.line
    return number if first <= number <= last and number <= n else None


# ------------------------------------------------------------------------------------ failing call


_SAFE_LITERALS = (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.UnaryOp)


def _defined(code: str) -> tuple[set[str], set[str]]:
    """Top-level functions and classes of ``code``."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set(), set()
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    return functions, classes


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _safe_call(node: ast.expr, functions: set[str], classes: set[str]) -> bool:
    """A call of the student's own function or class (or a method on a fresh instance of their class)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        if func.id not in functions and func.id not in classes:
            return False
    elif isinstance(func, ast.Attribute):
        inner = func.value
        if not (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id in classes):
            return False
        if func.attr.startswith("_") or not _safe_call(inner, functions, classes):
            return False
    else:
        return False
    values = [*node.args, *(k.value for k in node.keywords)]
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return False
    return all(_literal(v) or _safe_call(v, functions, classes) for v in values)


def _parse_line(text: str) -> ast.AST | None:
    text = text.strip()
    for variant in (text, text + " pass", text.rstrip(",") + ")", text.removesuffix("\\").strip()):
        try:
            return ast.parse(variant)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None


def failing_call(mapped: Mapped, code: str, *, extra: tuple[str, ...] = ()) -> str | None:
    """The smallest call in the call site's text that calls the student's code with literal arguments.

    ``extra`` are more texts to look in (the student's own words) when the traceback shows no call.
    Anything else (variables, other functions, attribute access on outside objects) is refused: the
    call is rerun, and only what the student defined plus plain values may be.
    """
    functions, classes = _defined(code)
    if not functions and not classes:
        return None
    for text in (*((mapped.call_site,) if mapped.call_site else ()), *extra):
        if len(text) > MAX_CALL:
            continue
        tree = _parse_line(text)
        if tree is None:
            continue
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _safe_call(n, functions, classes)]
        if not calls:
            continue
        # The call into the function the traceback enters first; else the outermost calls (an argument's
        # or a receiver's call is part of them); the smallest when several qualify.
        inner = {id(n) for c in calls for n in ast.walk(c) if n is not c}
        preferred = [c for c in calls if _called_name(c) == mapped.outer_function]
        preferred = preferred or [c for c in calls if id(c) not in inner] or calls
        best = min(preferred, key=lambda c: (len(ast.unparse(c)), c.col_offset))
        return ast.unparse(best)
    return None


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


_INLINE_CODE = re.compile(r"`([^`\n]{1,300})`")


def calls_in_prose(text: str) -> tuple[str, ...]:
    """Inline code spans and prompt lines in the student's words: where a failing call may be written."""
    spans = [m.group(1) for m in _INLINE_CODE.finditer(text[:MAX_TEXT])]
    return tuple(reversed(spans[-20:]))


# ------------------------------------------------------------------------------------- reproducing


async def reproduce(
    code: str, call: str, *, sandbox: CodeRunner, stdin: str = "", expected: PastedTraceback | None = None
) -> Reproduction:
    """Run ``code`` with ``call`` appended, and compare what it raises with the pasted traceback.

    The call goes after the code so the code's line numbers stay those of the student's text.
    """
    program = code.rstrip("\n") + "\n\n" + call.strip() + "\n"
    run = await sandbox.run(program, stdin=stdin)
    if run.timed_out or run.memory_exceeded or (run.exit_code is not None and run.exit_code < 0):
        return Reproduction(call, False, None, None, None, False, False)
    got = find_traceback(run.stderr) if run.exit_code not in (0, None) else None
    if got is None:
        return Reproduction(call, True, None, None, None, False, False)
    limit = len(code.splitlines())
    inside = [f.line for f in got.frames if f.file.endswith("main.py") and f.line is not None and f.line <= limit]
    same_type = expected is not None and got.error_type == expected.error_type
    same_message = expected is not None and _norm(got.message) == _norm(expected.message)
    return Reproduction(
        call, True, got.error_type, got.message, inside[-1] if inside else None, same_type, same_message
    )


async def from_pasted(*, text: str, code: str | None, sandbox: CodeRunner, stdin: str = "") -> PastedEvidence | None:
    """Everything the debug tutor needs from a pasted traceback, or None when the text holds none."""
    tb = find_traceback(text)
    if tb is None:
        return None
    if not code or not code.strip():
        last = tb.frames[-1] if tb.frames else None
        return PastedEvidence(
            tb.error_type, tb.message, last.line if last else None, last.source if last else None, None, False,
            len(tb.frames), tb.complete,
        )  # fmt: skip
    mapped = map_to_code(tb, code)
    outside = text[: tb.start] + "\n" + text[tb.end :]
    call = failing_call(mapped, code, extra=(*tb.prompts[::-1], *calls_in_prose(outside)))
    reproduction: Reproduction | None = None
    if call is not None:
        reproduction = await reproduce(code, call, sandbox=sandbox, stdin=stdin, expected=tb)
    line, line_text = mapped.line, mapped.line_text
    if line is None and reproduction is not None and reproduction.same_type and reproduction.line:
        line = reproduction.line
        line_text = code.splitlines()[line - 1].strip()
    return PastedEvidence(
        error_type=tb.error_type,
        message=tb.message,
        line=line,
        line_text=line_text,
        failing_call=call,
        reproduced=bool(reproduction and reproduction.reproduced),
        frames=len(tb.frames),
        complete=tb.complete,
        reproduction=reproduction,
    )
