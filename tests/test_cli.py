"""The `learnflow` command as a person uses it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

BIN = Path(sys.executable).parent / "learnflow"
ROOT = Path(__file__).resolve().parents[1]
# The command runs this checkout's code, whichever checkout the venv's learnflow was installed from.
SOURCE = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}


def run(
    args: list[str], cwd: Path, env_extra: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEARNFLOW_DATA_DIR": str(cwd / "data"), "COLUMNS": "100", **SOURCE, **(env_extra or {})}
    return subprocess.run([str(BIN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]


def test_ask_prints_a_routed_answer(tmp_path: Path):
    out = run(["ask", "What is a for loop?"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "concepts" in out.stdout and "For Loops" in out.stdout


def test_ask_with_code_and_error(tmp_path: Path):
    (tmp_path / "prog.py").write_text("print(x)\n")
    out = run(["ask", "--json", "--code", "prog.py", "--error", "NameError: name 'x' is not defined"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert '"routed_to": "debug"' in out.stdout and '"error_type": "NameError"' in out.stdout


def test_ask_with_input_and_expected_output(tmp_path: Path):
    (tmp_path / "sum.py").write_text("a = input()\nb = input()\nprint(a + b)\n")
    out = run(
        ["ask", "--json", "--code", "sum.py", "--stdin", "2\n3\n", "--expected", "5", "my sum is wrong"], tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert '"routed_to": "debug"' in out.stdout and "joined as text" in out.stdout


def test_ask_without_a_question_answers_with_usage(tmp_path: Path):
    for args in (["ask"], ["ask", "  "]):
        out = run(args, tmp_path)
        assert out.returncode == 2, out
        assert "Usage: learnflow ask" in out.stderr and "QUESTION" in out.stderr
        assert "validation error" not in out.stdout + out.stderr and "pydantic" not in out.stdout + out.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_ask_names_the_option_that_is_wrong(tmp_path: Path):
    out = run(["ask", "what is a loop?", "--student", ""], tmp_path)
    assert out.returncode == 2 and "--student" in out.stderr and "Usage:" in out.stderr
    assert "pydantic" not in out.stdout + out.stderr


def user_env(home: Path) -> dict[str, str]:
    """A person's environment: no LEARNFLOW_DATA_DIR, their data directory under ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ("LEARNFLOW_DATA_DIR", "XDG_DATA_HOME")}
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / "share"), "COLUMNS": "100", **SOURCE}


def files_under(path: Path) -> set[Path]:
    return {p.relative_to(path) for p in path.rglob("*")}


def test_ask_keeps_its_database_in_the_user_data_directory(tmp_path: Path):
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    out = subprocess.run(
        [str(BIN), "ask", "What is a for loop?"],
        cwd=cwd,
        env=user_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert files_under(cwd) == set()
    assert (home / "share" / "learnflow" / "learnflow.db").is_file()


def test_ask_prints_no_warnings_when_the_sandbox_works(tmp_path: Path):
    (tmp_path / "prog.py").write_text("print(x)\n")
    out = run(["ask", "why does this fail?", "--code", "prog.py"], tmp_path)
    assert out.returncode == 0 and out.stderr == ""
    assert "NameError" in out.stdout


def test_ask_says_once_plainly_that_the_sandbox_refuses(tmp_path: Path):
    out = run(["ask", "What is a for loop?"], tmp_path, env_extra={"SANDBOX_PYTHON": "/nonexistent"})
    assert out.returncode == 0, out.stderr
    said = " ".join(out.stderr.split())
    assert said.startswith("LearnFlow refuses to run code on this machine") and "(/nonexistent) does not run" in said
    assert said.count("refuses") == 1 and "learnflow.sandbox" not in said and "learnflow.runtime" not in said
    assert "For Loops" in out.stdout


def readme_ask_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(?:bash|sh|console)\n(.*?)^```", text, flags=re.M | re.S)
    return [line for block in blocks for line in block.splitlines() if re.match(r"\S*learnflow ask\b", line)]


def test_the_readme_shows_ask_with_the_shipped_examples():
    commands = readme_ask_commands()
    assert len(commands) >= 3 and sum("--code" in c for c in commands) >= 2
    for command in commands:
        for path in re.findall(r"--code (\S+)", command):
            assert (ROOT / path).is_file(), f"the README asks with {path}, which the repository does not ship"


def test_every_readme_ask_command_runs_from_a_fresh_directory(tmp_path: Path):
    cwd, home = tmp_path / "clone", tmp_path / "home"
    shutil.copytree(ROOT / "examples", cwd / "examples")
    before = files_under(cwd)
    for command in readme_ask_commands():
        line = re.sub(r"^\S*learnflow ask", shlex.quote(str(BIN)) + " ask", command)
        out = subprocess.run(
            ["bash", "-c", line], cwd=cwd, env=user_env(home), capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, (command, out.stderr)
        assert out.stderr == "", (command, out.stderr)
        assert files_under(cwd) == before, command


def test_db_upgrade(tmp_path: Path):
    out = run(["db", "upgrade"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "data" / "learnflow.db").exists()


def test_serve_one_service_alone(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "LEARNFLOW_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [str(BIN), "serve", "debug", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.time() < deadline, "server did not start"
                time.sleep(0.2)
        assert health.json()["service"] == "debug-service"
        assert httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200
        spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
        assert "/api/debug/analyze" in spec["paths"] and "/api/triage" not in spec["paths"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_unknown_service_is_refused(tmp_path: Path):
    out = run(["serve", "cooking"], tmp_path)
    assert out.returncode != 0 and "unknown service" in (out.stdout + out.stderr)


def test_learnflow_data_dir_still_decides_where_ask_keeps_its_database(tmp_path: Path, monkeypatch):
    from learnflow.config import AppSettings, Settings, for_one_user

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.delenv("LEARNFLOW_DATA_DIR", raising=False)
    chosen = for_one_user(Settings(app=AppSettings(LEARNFLOW_DATA_DIR=str(tmp_path / "mine"))))  # type: ignore[call-arg]
    assert chosen.app.data_dir == tmp_path / "mine"
    monkeypatch.setenv("LEARNFLOW_DATA_DIR", str(tmp_path / "from-env"))
    assert for_one_user(Settings()).app.data_dir == tmp_path / "from-env"
    monkeypatch.delenv("LEARNFLOW_DATA_DIR")
    assert for_one_user(Settings()).database_url.endswith(f"{tmp_path}/share/learnflow/learnflow.db")
