"""The four services as four separate `learnflow serve <service>` processes (Kafka + PostgreSQL).

Authentication is on, as deployed, whatever the test session's environment says. With ``with_runner``
a fifth process serves the runner alone, as in the cluster: concepts, debug and exercise send it their
code (``RUNNER_URL``) with the shared ``RUNNER_API_TOKEN``; it keeps its own SQLite, as the runner pod does.

Used by the end-to-end tests and by `bench/kafka.py`; `scripts/e2e-local.sh` does the same by hand.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES = ("triage", "concepts", "debug", "exercise")
RUNNER = "runner"
# What a developer's shell or conftest may have set that the cluster decides itself.
INHERITED_NEVER = (
    *("OPENAI_", "AI_PROVIDER", "POSTGRES_", "DATABASE_URL", "EVENT_BUS"),
    *("AUTH_", "RUNNER_", "LEARNFLOW_AUTH"),
)
# The services that send their code to the runner in the cluster (backend/*/deployment.yaml, RUNNER_URL).
RUNNER_CALLERS = ("concepts", "debug", "exercise")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bootstrap: str
    database_url: str
    workdir: Path
    topic_prefix: str
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # One signing key for every process, as the Secret gives every service in the cluster: a token one
    # service issues is accepted by all.
    auth_secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    with_runner: bool = False
    # The runner-token Secret: the runner and the services that call it share it.
    runner_token: str = field(default_factory=lambda: secrets.token_hex(32))

    def env(self, service: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_NEVER)}
        runner: dict[str, str] = {}
        if self.with_runner and service == RUNNER:
            runner = {"RUNNER_API_TOKEN": self.runner_token}
        elif self.with_runner and service in RUNNER_CALLERS:
            runner = {"RUNNER_URL": self.url(RUNNER), "RUNNER_API_TOKEN": self.runner_token}
        env = {
            **base,
            "EVENT_BUS": "kafka",
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_TOPIC_PREFIX": self.topic_prefix,
            # tansu's in-memory engine has no InitProducerId; a real cluster keeps idempotence on.
            "KAFKA_ENABLE_IDEMPOTENCE": "false",
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "DATABASE_URL": self.database_url,
            "LEARNFLOW_DATA_DIR": str(self.workdir / service),
            "AI_PROVIDER": "offline",
            "LOG_LEVEL": "WARNING",
            # As deployed: conftest turns authentication off for the in-process suites, never here.
            "LEARNFLOW_AUTH": "on",
            "AUTH_SECRET_KEY": self.auth_secret_key,
            **runner,
            **self.extra_env.get(service, {}),
        }
        if service == RUNNER:
            # As the runner pod: no database password and no signing key, its own SQLite.
            del env["DATABASE_URL"], env["AUTH_SECRET_KEY"]
        return env

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> None:
        port = self.ports.setdefault(service, free_port())
        log = open(self.workdir / f"{service}.log", "ab")  # noqa: SIM115 - owned by the process
        self.procs[service] = subprocess.Popen(
            [str(Path(sys.executable).parent / "learnflow"), "serve", service, "--port", str(port)],
            cwd=self.workdir,
            env=self.env(service),
            stdout=log,
            stderr=log,
        )

    def start_all(self, timeout_s: float = 90) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.with_runner:
            self.ports.setdefault(RUNNER, free_port())  # its callers' RUNNER_URL
        for service in self.services:
            self.start(service)
        for service in self.services:
            self.wait_ready(service, timeout_s)

    @property
    def services(self) -> tuple[str, ...]:
        return (RUNNER, *SERVICES) if self.with_runner else SERVICES

    def wait_ready(self, service: str, timeout_s: float = 90) -> None:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            proc = self.procs[service]
            if proc.poll() is not None:
                raise RuntimeError(f"{service} exited: {self.log(service)[-2000:]}")
            try:
                if httpx.get(self.url(service) + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{service} not ready in {timeout_s}s: {self.log(service)[-2000:]}")

    def kill(self, service: str) -> None:
        proc = self.procs.pop(service)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def log(self, service: str) -> str:
        path = self.workdir / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
