"""Dapr transport: publish through the sidecar's HTTP API, receive the sidecar's deliveries.

* Publish: ``POST /v1.0/publish/<pubsub>/<topic>`` with our own CloudEvent
  (``application/cloudevents+json``) and the student id as ``metadata.partitionKey``.
* Subscribe: the app answers ``GET /dapr/subscribe`` with one programmatic subscription per topic,
  whose routing rules (``event.data.routed_to == "debug"``) send each specialist only the queries
  routed to it, and whose ``deadLetterTopic`` is ``<topic>.dlq``.
* Deliveries are answered ``{"status": "SUCCESS" | "RETRY" | "DROP"}``: Dapr retries RETRY with its
  resiliency policy and moves what still fails, and what is dropped, to the dead-letter topic.
* Readiness waits for the sidecar (``GET /v1.0/healthz/outbound``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from learnflow.bus.base import Outcome, Subscription
from learnflow.events.envelope import CloudEvent
from learnflow.events.topics import DLQ_SUFFIX, dlq

log = logging.getLogger(__name__)

ROUTE_PREFIX = "/dapr/events"


def cel(match: dict[str, str]) -> str:
    """A Dapr routing rule (CEL) selecting events whose payload fields equal ``match``."""
    return " && ".join(f'event.data.{key} == "{value}"' for key, value in sorted(match.items()))


class DaprBus:
    name = "dapr"

    def __init__(self, *, http_port: int = 3500, pubsub: str = "kafka-pubsub", host: str = "127.0.0.1") -> None:
        self.base_url = f"http://{host}:{http_port}"
        self.pubsub = pubsub
        self._subs: dict[str, list[Subscription]] = defaultdict(list)  # topic -> subscriptions
        self._client: httpx.AsyncClient | None = None

    def subscribe(self, subscription: Subscription) -> None:
        self._subs[subscription.topic].append(subscription)

    async def start(self) -> None:
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=10)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def ping(self) -> str | None:
        if self._client is None:
            return "event bus not started"
        try:
            resp = await self._client.get("/v1.0/healthz/outbound", timeout=3)
        except httpx.HTTPError as exc:
            return f"dapr sidecar unreachable at {self.base_url}: {type(exc).__name__}"
        return None if resp.status_code in (200, 204) else f"dapr sidecar not ready (HTTP {resp.status_code})"

    async def publish(self, topic: str, event: CloudEvent[Any]) -> None:
        await self.publish_wire(topic, event.model_dump(mode="json", exclude_none=True))

    async def publish_wire(self, topic: str, wire: dict[str, Any]) -> None:
        if self._client is None:
            raise RuntimeError("the Dapr bus is not started")
        params = {"metadata.partitionKey": str(wire["subject"])} if wire.get("subject") else {}
        resp = await self._client.post(
            f"/v1.0/publish/{quote(self.pubsub, safe='')}/{quote(topic, safe='')}",
            json=wire,
            params=params,
            headers={"content-type": "application/cloudevents+json"},
        )
        if resp.status_code != 204 and not resp.is_success:
            # Raising keeps the event in the outbox, to be sent again once the sidecar accepts it.
            raise ConnectionError(f"dapr publish to {topic} failed: HTTP {resp.status_code} {resp.text[:200]}")

    # -- the app side: subscriptions and deliveries ------------------------------------------
    def subscriptions(self) -> list[dict[str, Any]]:
        """What the app answers to ``GET /dapr/subscribe``."""
        result = []
        for topic, subs in sorted(self._subs.items()):
            rules = [
                {"match": cel(dict(s.match)), "path": f"{ROUTE_PREFIX}/{s.group}/{topic}"} for s in subs if s.match
            ]
            unfiltered = [s for s in subs if not s.match]
            default = (
                f"{ROUTE_PREFIX}/{unfiltered[0].group}/{topic}"
                if len(unfiltered) == 1
                else f"{ROUTE_PREFIX}/_all/{topic}"
                if unfiltered
                else f"{ROUTE_PREFIX}/_none/{topic}"
            )
            entry: dict[str, Any] = {
                "pubsubname": self.pubsub,
                "topic": topic,
                "routes": {"rules": rules, "default": default},
            }
            if not topic.endswith(DLQ_SUFFIX):
                entry["deadLetterTopic"] = dlq(topic)
            result.append(entry)
        return result

    async def handle(self, group: str, topic: str, wire: dict[str, Any]) -> Outcome:
        """Deliver one event to the subscriptions the route names, once; Dapr owns the retries."""
        if group == "_none":
            return Outcome.DONE  # no rule matched: not for this app
        subs = [
            s for s in self._subs.get(topic, []) if (group == "_all" and not s.match) or s.group == group
        ]  # fmt: skip
        if not subs:
            log.warning("dapr delivery for unknown route %s/%s dropped", group, topic)
            return Outcome.DROP
        outcome = Outcome.DONE
        for sub in subs:
            try:
                event = CloudEvent[sub.payload].model_validate(wire)  # type: ignore[name-defined]
            except ValidationError as exc:
                log.error("dapr delivery on %s has an invalid payload: %s", topic, exc.errors()[:3])
                return Outcome.DROP
            try:
                result = await sub.handler(event)
            except Exception as exc:
                log.warning("handler %s failed on %s: %r", sub.group, event.id, exc)
                result = Outcome.RETRY
            if result is Outcome.DROP:
                return Outcome.DROP
            if result is Outcome.RETRY:
                outcome = Outcome.RETRY
        return outcome

    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        @router.get("/dapr/subscribe")
        async def subscribe() -> list[dict[str, Any]]:
            return self.subscriptions()

        @router.post(ROUTE_PREFIX + "/{group}/{topic}")
        async def deliver(group: str, topic: str, request: Request) -> JSONResponse:
            try:
                wire = await request.json()
            except ValueError:
                return JSONResponse({"status": Outcome.DROP.value})
            if not isinstance(wire, dict):
                return JSONResponse({"status": Outcome.DROP.value})
            outcome = await self.handle(group, topic, wire)
            return JSONResponse({"status": outcome.value})

        return router
