"""FileNotFoundError, IsADirectoryError and FileExistsError: a path that is not what the program expects.

Bad example::

    with open("notes.txt") as f:
        print(f.read())

Bad example::

    print(open(".").read())

Bad example::

    import os
    os.mkdir("out")
    os.mkdir("out")
    print("ready")
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.rules._common import MessageExplainer, by_message, file_name

_MESSAGES: dict[str, list[tuple[re.Pattern[str], MessageExplainer]]] = {
    "FileNotFoundError": [
        (
            re.compile(r"No such file or directory: '([^']+)'"),
            lambda m: (
                f"There is no file `{file_name(m.group(1))}` where the program looked (the current folder, unless "
                "the path says otherwise). Opening with `'r'` needs the file to exist.",
                f"Is `{file_name(m.group(1))}` spelled right, and is it in the folder the program runs in?",
            ),
        )
    ],
    "IsADirectoryError": [
        (
            re.compile(r"Is a directory: '([^']+)'"),
            lambda m: (
                "`open()` was given a folder, not a file: the file name is missing from the path.",
                "Print the path you open; does it end with the file's name?",
            ),
        )
    ],
}


@rule("FileNotFoundError", "IsADirectoryError", "FileExistsError")
class Files(Rule):
    def explain(self, case: Case) -> Explained | None:
        return by_message(_MESSAGES.get(case.kind, []), case.message)

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        if case.kind == "FileExistsError":
            yield re.sub(r"\bos\.mkdir\(([^()]*)\)", r"os.makedirs(\1, exist_ok=True)", case.source)
