"""Running code in the runner service instead of in this process.

In the cluster, the services that hold secrets (the OpenAI key, the database password) must not run
student code themselves: with ``RUNNER_URL`` set, every run (debug's reproductions and fix checks,
grading, the verification of LLM-written code) is sent to the runner deployment, which holds no
secrets, through Dapr service invocation (``http://localhost:3500/v1.0/invoke/runner-service/method``)
or straight to its Service. A runner that does not answer is a 503 (``runner_unavailable``), never a
silent local run.

With authentication on, the runner's routes need a caller: this process sends ``RUNNER_API_TOKEN`` in
``X-Runner-Token`` (:mod:`learnflow.auth.service`); a runner that refuses it is a 503 too, and the log
says why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from learnflow.auth.service import RUNNER_TOKEN_HEADER
from learnflow.curriculum.models import IOTest as IOCase
from learnflow.errors import Unavailable
from learnflow.sandbox import ExecutionResult, SandboxBusy, SandboxUnavailable, current_owner
from learnflow.sandbox.grading import GradeReport

log = logging.getLogger(__name__)


class RunnerUnavailable(Unavailable):
    """The runner service did not answer, or answered with an error."""

    code = "runner_unavailable"


class RemoteRunner:
    """The runner service's ``/api/execute`` and ``/api/grade``, with the sandbox's interface."""

    isolation = "remote"

    def __init__(
        self, url: str, *, timeout_s: float, token: str | None = None, client: httpx.AsyncClient | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        # Per request rather than on the client: a client handed in (tests, a shared pool) sends it too.
        self._headers = {RUNNER_TOKEN_HEADER: token} if token else {}
        self.isolation_reason = f"code runs in the runner service at {self.url}"
        self._client = client

    @property
    def available(self) -> bool:
        return True  # whether the runner answers is known per call (and by the runner's own /ready)

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s, connect=5.0))
        return self._client

    async def ping(self) -> str | None:
        """None when the runner answers that it can run code, else why not."""
        try:
            response = await self.client.get(f"{self.url}/ready", timeout=3.0)
        except httpx.HTTPError as exc:
            return f"the code runner at {self.url} does not answer ({type(exc).__name__})"
        if response.status_code != 200:
            return f"the code runner at {self.url} is not ready (status {response.status_code})"
        return None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            response = await self.client.post(f"{self.url}{path}", json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            message = f"the code runner did not answer ({type(exc).__name__}); try again shortly"
            raise RunnerUnavailable(message) from exc
        if response.status_code == 429:
            retry = response.headers.get("Retry-After", "1")
            raise SandboxBusy(
                "the code runner is busy: try again shortly", retry_after_s=int(retry) if retry.isdigit() else 1
            )
        if response.status_code in (401, 403):
            # An operator's problem, not the student's: the services and the runner disagree on the token.
            log.error(
                "the code runner at %s refused this service's credential (status %s): RUNNER_API_TOKEN must be "
                "the same here and in the runner",
                self.url,
                response.status_code,
            )
        if response.status_code != 200:
            try:
                error = response.json()["error"]
                message, code = str(error["message"]), str(error.get("code", ""))
            except (ValueError, KeyError, TypeError, AttributeError):
                message, code = f"status {response.status_code}", ""
            if code == SandboxUnavailable.code:
                # The runner answers but has no isolation: as final as a local sandbox's refusal.
                raise SandboxUnavailable(message)
            raise RunnerUnavailable(f"the code runner could not run the code: {message}")
        return response.json()

    async def run(
        self,
        code: str,
        *,
        stdin: str = "",
        timeout_s: float | None = None,
        files: Mapping[str, str] | None = None,
        memory_mb: int | None = None,
    ) -> ExecutionResult:
        """Run ``code`` in the runner service; the same result as a local sandbox run."""
        body = {
            "code": code,
            "stdin": stdin,
            "timeout_s": timeout_s,
            "memory_mb": memory_mb,
            "files": dict(files or {}),
            "queue_as": current_owner(),
        }
        return ExecutionResult.model_validate(await self._post("/api/execute", body))

    async def grade(
        self, *, code: str, tests: str = "", hidden_tests: str = "", io_tests: list[IOCase] | None = None
    ) -> GradeReport:
        """Grade ``code`` in the runner service."""
        body = {
            "code": code,
            "tests": tests,
            "hidden_tests": hidden_tests,
            "io_tests": [c.model_dump() for c in io_tests or []],
            "queue_as": current_owner(),
        }
        return GradeReport.model_validate(await self._post("/api/grade", body))
