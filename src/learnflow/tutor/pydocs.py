"""Python's own documentation as a source: "what does X do" for builtins, keywords, methods and stdlib.

Names come from the student and are resolved only by look-up, never by import or eval: a builtin
(``len``), a method of a builtin type (``str.split``, or ``.strip()`` found on one of them), a keyword
or statement (through the pydoc topics that ship with Python), or an attribute of a module on a fixed
allowlist, imported by its name here, never by a name the student typed.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import keyword
import pydoc
import re
from dataclasses import dataclass

# Standard-library modules whose documentation may be quoted; nothing outside this list is imported.
ALLOWED_MODULES = (
    "math",
    "random",
    "string",
    "json",
    "csv",
    "re",
    "os",
    "os.path",
    "sys",
    "itertools",
    "collections",
    "functools",
    "datetime",
    "statistics",
    "time",
    "pathlib",
    "copy",
    "decimal",
    "fractions",
)
# Builtin types whose methods a bare ".name()" is looked up on, commonest first.
_TYPES: tuple[type, ...] = (str, list, dict, set, tuple, int, float, bytes)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
# Where the asked-about name sits: "what does X do", "what is X for", "`X`", "X()".
_ASKED = [
    re.compile(r"what (?:does|do|is|are) (?:the |a |an )?(?:python )?[`'\"]?\.?([\w.]+)(?:\(\))?[`'\"]?", re.I),
    re.compile(r"`\.?([\w.]+)(?:\(\))?`"),
    re.compile(r"(?<![\w.])\.?([\w.]+)\(\)"),
]
_NOISE = frozenset({"the", "a", "an", "it", "this", "that", "python", "function", "method", "keyword", "statement"})
_MAX_CHARS = 700


@dataclass(frozen=True)
class DocAnswer:
    name: str  # as shown: "str.split", "len", "del"
    text: str  # the quoted documentation, trimmed


def _docstring(obj: object) -> str | None:
    doc = inspect.getdoc(obj)
    return doc.strip() if doc else None


def _keyword_topic(word: str) -> str | None:
    from pydoc_data.topics import topics

    entry = pydoc.Helper.keywords.get(word)
    label = entry if isinstance(entry, str) else entry[0] if entry else None
    text = topics.get(label) if label else None
    if text is None:
        return None
    # The reference's section title, its underline and grammar rules say nothing to a beginner.
    lines = [
        line
        for line in text.splitlines()[1:]
        if not ("::=" in line or line.strip().startswith("|") or (line.strip() and set(line.strip()) <= {"*"}))
    ]
    return "\n".join(lines)


def _module(name: str) -> object | None:
    return importlib.import_module(name) if name in ALLOWED_MODULES else None


def resolve(name: str) -> DocAnswer | None:
    """The documentation of ``name``, when it names a builtin, keyword, builtin method or allowlisted attribute."""
    name = name.strip().strip(".")
    if not _NAME.fullmatch(name) or len(name) > 60:
        return None
    if keyword.iskeyword(name) or name in ("print", "exec"):
        text = _keyword_topic(name)
        if text and name not in dir(builtins):
            return DocAnswer(name, _trim(text))
    if name in dir(builtins) and not name.startswith("_"):
        doc = _docstring(getattr(builtins, name))
        return DocAnswer(name, _trim(doc)) if doc else None
    head, _, rest = name.rpartition(".")
    if head:
        owner = {t.__name__: t for t in _TYPES}.get(head) or _module(head)
        if owner is not None and not rest.startswith("_") and hasattr(owner, rest):
            doc = _docstring(getattr(owner, rest))
            return DocAnswer(name, _trim(doc)) if doc else None
        return None
    for owner_type in _TYPES:
        if hasattr(owner_type, name) and not name.startswith("_"):
            doc = _docstring(getattr(owner_type, name))
            return DocAnswer(f"{owner_type.__name__}.{name}", _trim(doc)) if doc else None
    return None


def asked_name(question: str) -> str | None:
    """The name a "what does X do" question asks about, if it spells one."""
    for pattern in _ASKED:
        for match in pattern.finditer(question):
            candidate = match.group(1).strip(".")
            if candidate.lower() not in _NOISE:
                return candidate
    return None


def lookup(question: str) -> DocAnswer | None:
    """Python's documentation for the name ``question`` asks about, when it resolves safely."""
    name = asked_name(question)
    return resolve(name) if name else None


def _trim(text: str) -> str:
    """The first paragraphs, up to a length a chat answer can carry."""
    out: list[str] = []
    size = 0
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if out and size + len(paragraph) > _MAX_CHARS:
            break
        out.append(paragraph.strip())
        size += len(paragraph)
    quoted = "\n\n".join(out)
    return quoted if len(quoted) <= _MAX_CHARS + 200 else quoted[:_MAX_CHARS].rsplit(" ", 1)[0] + " …"
