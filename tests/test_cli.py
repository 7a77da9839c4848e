"""The `learnflow` command as a person uses it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

BIN = Path(sys.executable).parent / "learnflow"


def run(args: list[str], cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEARNFLOW_DATA_DIR": str(cwd / "data"), "COLUMNS": "100"}
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


def test_ask_rejects_an_empty_question(tmp_path: Path):
    out = run(["ask", ""], tmp_path)
    assert out.returncode == 2 and "query must not be empty" in out.stdout


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
