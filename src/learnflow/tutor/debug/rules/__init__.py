"""The catalog of error rules: every module in this package is imported, and each registers its rule.

A new error family is one module here declaring ``@rule("SomeError", ...)`` (see ``registry.rule``)
with its bad examples in its docstring, and one entry in ``tests/test_debug_rules.py``: the tests
fail for a registered rule without one.
"""

from __future__ import annotations

import importlib
import pkgutil

# Sorted, so registration never depends on the file system's order (each error type has one rule, so
# the order decides nothing else).
MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
