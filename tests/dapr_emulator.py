"""A Dapr sidecar emulator for tests: the documented pub/sub HTTP contract, nothing more.

Implements publish (``POST /v1.0/publish/<pubsub>/<topic>``, 204), outbound health
(``GET /v1.0/healthz/outbound``), subscription discovery (``GET /dapr/subscribe`` on the app),
routing rules of the form ``event.data.<field> == "<value>"`` joined by ``&&``, delivery of the
CloudEvent to the route, retry on ``RETRY`` or a non-2xx answer, and dead-lettering after the last
retry or on ``DROP`` (as Dapr does since 1.13) when the subscription names a ``deadLetterTopic``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

_RULE = re.compile(r'^event\.data\.(\w+) == "([^"]*)"$')


class DaprEmulator:
    def __init__(self, *, pubsub: str = "kafka-pubsub", max_attempts: int = 3) -> None:
        self.pubsub = pubsub
        self.max_attempts = max_attempts
        self.app_url: str | None = None
        self.healthy = True
        self.subscriptions: list[dict[str, Any]] = []
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.deliveries: list[tuple[str, str, str]] = []  # (topic, event id, status)
        self.app = FastAPI()
        self.app.post("/v1.0/publish/{pubsub}/{topic}")(self._publish)
        self.app.get("/v1.0/healthz/outbound")(self._health)
        self._tasks: set[asyncio.Task[None]] = set()

    async def connect(self, app_url: str) -> None:
        """Discover the app's subscriptions, as the sidecar does when the app starts."""
        self.app_url = app_url
        async with httpx.AsyncClient() as client:
            self.subscriptions = (await client.get(app_url + "/dapr/subscribe")).json()

    async def _health(self) -> Response:
        return Response(status_code=204 if self.healthy else 500)

    async def _publish(self, pubsub: str, topic: str, request: Request) -> Response:
        if pubsub != self.pubsub:
            return Response(status_code=404, content=f"pubsub {pubsub} not found")
        body = await request.json()
        if request.headers.get("content-type", "").startswith("application/cloudevents+json"):
            event = dict(body)
        else:  # plain data: the sidecar wraps it in a CloudEvent of its own
            event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "dapr", "type": "com.dapr.event.sent",
                     "datacontenttype": "application/json", "data": body}  # fmt: skip
        event.update({"pubsubname": pubsub, "topic": topic})
        self.published.append((topic, event))
        task = asyncio.create_task(self._deliver(topic, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Response(status_code=204)

    def _route(self, subscription: dict[str, Any], event: dict[str, Any]) -> str | None:
        data = event.get("data") or {}
        for rule in subscription["routes"].get("rules", []):
            clauses = [_RULE.match(c.strip()) for c in rule["match"].split("&&")]
            if all(m and str(data.get(m.group(1))) == m.group(2) for m in clauses):
                return str(rule["path"])
        return subscription["routes"].get("default")

    async def _deliver(self, topic: str, event: dict[str, Any]) -> None:
        subscription = next((s for s in self.subscriptions if s["topic"] == topic), None)
        if subscription is None or self.app_url is None:
            return
        path = self._route(subscription, event)
        if path is None:
            return
        status = "RETRY"
        async with httpx.AsyncClient(timeout=30) as client:
            for attempt in range(self.max_attempts):
                try:
                    resp = await client.post(
                        self.app_url + path, json=event, headers={"content-type": "application/cloudevents+json"}
                    )
                    status = resp.json().get("status", "SUCCESS") if resp.is_success else "RETRY"
                except (httpx.HTTPError, ValueError):
                    status = "RETRY"
                self.deliveries.append((topic, str(event.get("id")), status))
                if status != "RETRY":
                    break
                await asyncio.sleep(0.05 * 2**attempt)
        if status in ("RETRY", "DROP") and subscription.get("deadLetterTopic"):
            dead = {k: v for k, v in event.items() if k not in ("pubsubname", "topic")}
            dead_topic = subscription["deadLetterTopic"]
            self.published.append((dead_topic, dead))
            await self._deliver(dead_topic, dead)
