"""The four services as four separate `learnflow serve <service>` processes (Kafka + PostgreSQL).

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

    def env(self, service: str) -> dict[str, str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENAI_", "AI_PROVIDER", "POSTGRES_", "DATABASE_URL", "EVENT_BUS", "AUTH_"))
        }
        return {
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
            "AUTH_SECRET_KEY": self.auth_secret_key,
            **self.extra_env.get(service, {}),
        }

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
        for service in SERVICES:
            self.start(service)
        for service in SERVICES:
            self.wait_ready(service, timeout_s)

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
