"""SyntaxError: Python cannot read the program (a missing colon, bracket or quote, `=` for `==`, ...).

Bad example::

    age = 20
    if age > 18
        print("adult")

Bad example::

    name = "Ada"
    print('Hello, + name)

Bad example::

    class = "3B"
    print(class)
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Iterator

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.tables import tables


def syntax_hint(kind: str, message: str) -> str:
    """One sentence for a message Python gives when it cannot read the program."""
    for entry in tables().syntax_hints:
        if entry.contains in message:
            return entry.hint
    return f"Python could not read your program ({kind}); nothing ran."


def _rename_keyword(code: str, word: str) -> str | None:
    """Rename a keyword used as a variable (`class = ...`) to `word_`, outside strings and comments.

    Only where it stands as a plain name: not `class Foo:` and not `for`/`if` used as keywords.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError):
        return None
    lines = code.splitlines(keepends=True)
    edits = []
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.string != word:
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if following is not None and following.type == tokenize.NAME:
            continue  # `class Foo`: the keyword in its real role
        edits.append(tok.start)
    for row, col in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + word + "_" + line[col + len(word) :]
    return "".join(lines) if edits else None


@rule("SyntaxError")
class Syntax(Rule):
    def explain(self, case: Case) -> Explained | None:
        return syntax_hint(case.kind, case.message), None

    def fixes(self, case: Case) -> Iterator[str]:
        msg, text = case.message, case.text
        if text is None or case.line is None:
            return
        if "expected ':'" in msg:
            yield case.with_line(text.rstrip() + ":")
        if "Maybe you meant '==' or ':='" in msg:
            yield case.with_line(re.sub(r"(?<![=!<>])=(?!=)", "==", text, count=1))
        if "was never closed" in msg:
            opener = re.search(r"'(.)' was never closed", msg)
            closing = {"(": ")", "[": "]", "{": "}"}.get(opener.group(1) if opener else "(", ")")
            stripped = text.rstrip()
            if stripped.endswith(":"):
                yield case.with_line(stripped[:-1] + closing + ":")
            yield case.with_line(stripped + closing)
        if "unterminated string literal" in msg:
            quote = '"' if text.count('"') % 2 else "'"
            stripped = text.rstrip()
            # `print('Hello, + name)`: the string was meant to end before the `+`.
            joined = re.search(rf"{quote}([^{quote}]*?)(\s*\+\s*\w+)", stripped)
            if joined:
                end = joined.end(1)
                yield case.with_line(stripped[:end] + quote + stripped[end:])
            if stripped.endswith(")"):
                yield case.with_line(stripped[:-1] + quote + ")")
            yield case.with_line(stripped + quote)
        if "Perhaps you forgot a comma" in msg:
            yield case.with_line(re.sub(r"(['\"\w\]\)])\s+(['\"\w\[\(])", r"\1, \2", text))
        if "Missing parentheses in call to 'print'" in msg:
            yield case.with_line(re.sub(r"\bprint\s+(.+?)\s*$", r"print(\1)", text))
        if re.match(r"\s*else\s+if\b", text):
            yield case.with_line(re.sub(r"\belse\s+if\b", "elif", text, count=1))

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        m = re.match(r"\s*([a-z]+)\s*=[^=]", case.text) if case.text is not None and case.line else None
        if m and keyword.iskeyword(m.group(1)):
            renamed = _rename_keyword(case.source, m.group(1))
            if renamed:
                yield renamed
