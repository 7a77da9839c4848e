"""The code runner: output, input, limits and a clean environment."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from learnflow.config import SandboxSettings
from learnflow.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(SandboxSettings(SANDBOX_MAX_OUTPUT_BYTES=4096))  # type: ignore[call-arg]


async def test_runs_code_and_captures_output(sandbox: Sandbox):
    result = await sandbox.run("print(1 + 1)\nimport sys\nprint('oops', file=sys.stderr)\n")
    assert result.stdout == "2\n"
    assert result.stderr == "oops\n"
    assert result.exit_code == 0 and not result.timed_out and result.duration_ms > 0


async def test_stdin_is_fed(sandbox: Sandbox):
    result = await sandbox.run("a = int(input())\nb = int(input())\nprint(a * b)\n", stdin="6\n7\n")
    assert result.stdout == "42\n"


async def test_exceptions_give_nonzero_exit_and_relative_traceback(sandbox: Sandbox):
    result = await sandbox.run("x = 1\nprint(y)\n")
    assert result.exit_code == 1
    assert 'File "main.py", line 2' in result.stderr
    assert "lf-run-" not in result.stderr


async def test_timeout_kills_the_program(sandbox: Sandbox):
    result = await sandbox.run("while True:\n    pass\n", timeout_s=0.5)
    assert result.timed_out and result.exit_code is None
    assert result.duration_ms < 3000


async def test_output_is_capped(sandbox: Sandbox):
    result = await sandbox.run("while True:\n    print('x' * 1000)\n", timeout_s=5)
    assert result.output_truncated
    assert len(result.stdout) <= 4096
    assert not result.timed_out


async def test_memory_bomb_is_reported(sandbox: Sandbox):
    result = await sandbox.run("data = bytearray(500 * 1024 * 1024)\n")
    assert result.memory_exceeded
    assert result.exit_code != 0


async def test_secrets_in_the_service_environment_are_not_visible(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("POSTGRES_PASSWORD", "hunter2")
    result = await sandbox.run("import os\nprint(sorted(os.environ))\nprint(os.environ.get('OPENAI_API_KEY'))\n")
    assert "sk-test-secret" not in result.stdout and "OPENAI_API_KEY" not in result.stdout
    assert "hunter2" not in result.stdout


async def test_only_the_standard_library_is_importable(sandbox: Sandbox):
    result = await sandbox.run("import json, collections\nimport pydantic\n")
    assert "ModuleNotFoundError" in result.stderr


async def test_runs_in_a_private_directory_removed_afterwards(sandbox: Sandbox):
    marker = "lf-marker-7f3a.txt"
    result = await sandbox.run(f"import os\nopen('{marker}', 'w').write('hi')\nprint(os.getcwd())\n")
    assert result.exit_code == 0
    workdir = Path(result.stdout.strip())
    assert workdir != Path.cwd()
    # Nothing the program wrote is left on the host.
    assert not (workdir / marker).exists()
    assert not list(Path(tempfile.gettempdir()).glob(f"lf-run-*/{marker}"))  # noqa: ASYNC240


async def test_timeout_is_capped_by_the_server_maximum():
    sandbox = Sandbox(SandboxSettings(SANDBOX_MAX_TIMEOUT_S=1))  # type: ignore[call-arg]
    assert sandbox.clamp_timeout(100) == 1
    assert sandbox.clamp_timeout(None) == sandbox.settings.default_timeout_s
