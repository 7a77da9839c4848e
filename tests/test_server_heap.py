"""A server process exempts what start-up built from the garbage collector (no 150 ms pauses mid-request)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, gc
from learnflow.services.app import create_app

async def main(freeze):
    app = create_app(["triage"], freeze_heap=freeze)
    async with app.router.lifespan_context(app):
        print(gc.get_freeze_count())

import sys
asyncio.run(main(sys.argv[1] == "1"))
"""


def _frozen(tmp_path: Path, freeze: bool) -> int:
    env = {**os.environ, "LEARNFLOW_DATA_DIR": str(tmp_path / ("on" if freeze else "off")), "LOG_LEVEL": "ERROR"}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, "1" if freeze else "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_the_server_freezes_its_start_up_heap(tmp_path: Path) -> None:
    assert _frozen(tmp_path, freeze=False) == 0
    # The curriculum and the models alone are well over 100,000 objects.
    assert _frozen(tmp_path, freeze=True) > 100_000
