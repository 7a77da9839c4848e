"""UnicodeDecodeError and UnicodeEncodeError: text read or written in an encoding that cannot hold it.

Bad example::

    print("café".encode("ascii"))

Bad example::

    with open("data.bin", "wb") as f:
        f.write(bytes([99, 97, 102, 233]))
    print(open("data.bin", encoding="utf-8").read())
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule

_CANNOT_DECODE = re.compile(r"'([\w-]+)' codec can't decode")


@rule("UnicodeDecodeError", "UnicodeEncodeError")
class Unicode(Rule):
    def explain(self, case: Case) -> Explained | None:
        m = _CANNOT_DECODE.search(case.message) if case.kind == "UnicodeDecodeError" else None
        if not m:
            return None
        return (
            f"A file was read as `{m.group(1)}` text but contains bytes that are not valid `{m.group(1)}`: it is "
            "binary or saved in another encoding.",
            "Open it with the right `encoding=...`, or in binary mode `'rb'` if it is not text.",
        )

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        yield re.sub(r"""\.encode\((['"])ascii\1\)""", '.encode("utf-8")', case.source)
        yield re.sub(r"\bopen\(([^()]*?)\)", lambda m: f'open({m.group(1)}, encoding="utf-8")', case.source)
