"""JSONDecodeError: text given to json.loads that is not JSON (often a Python literal).

Bad example::

    import json
    data = json.loads("{'name': 'Ada', 'age': 36}")
    print(data["name"])
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator

from learnflow.tutor.debug.patterns.edits import replace_node
from learnflow.tutor.debug.registry import Case, Explained, Rule, rule
from learnflow.tutor.debug.source import literal_nodes

_NOT_JSON = re.compile(r"(Expecting property name enclosed in double quotes|Expecting value).*?\(char (\d+)\)")


@rule("JSONDecodeError")
class JsonText(Rule):
    def explain(self, case: Case) -> Explained | None:
        m = _NOT_JSON.search(case.message)
        if not m:
            return None
        return (
            f"The text given to `json.loads` is not valid JSON ({m.group(1).lower()}, at character {m.group(2)})."
            + (
                " JSON needs double quotes around keys and strings; single quotes are Python, not JSON."
                if "double quotes" in m.group(1)
                else " An empty text, a trailing comma or a Python value like `None` or `True` is not JSON."
            ),
            f"Print the text and look at character {m.group(2)}.",
        )

    def fallback_fixes(self, case: Case) -> Iterator[str]:
        # JSON text written as a Python literal (single quotes, trailing commas): make it real JSON. The
        # literal is the student's own source text, read with literal_eval (values only, nothing runs).
        for node in literal_nodes(case.source):
            if isinstance(node.value, str) and node.value.lstrip()[:1] in "{[":
                try:
                    value = ast.literal_eval(node.value)
                except (ValueError, SyntaxError):
                    continue
                fixed = replace_node(case.source, node, repr(json.dumps(value)))
                if fixed:
                    yield fixed
