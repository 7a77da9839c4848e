"""Dapr transport: publish through the sidecar's HTTP API, receive the sidecar's deliveries.

* Publish: ``POST /v1.0/publish/<pubsub>/<topic>`` with our own CloudEvent
  (``application/cloudevents+json``) and the student id as ``metadata.partitionKey``.
* Subscribe: the app answers ``GET /dapr/subscribe`` with one programmatic subscription per topic,
  whose routing rules (``event.data.routed_to == "debug"``) send each specialist only the queries
  routed to it, and whose ``deadLetterTopic`` is ``<topic>.dlq``.
* Deliveries are answered ``{"status": "SUCCESS" | "RETRY" | "DROP"}``. daprd tries a delivery once
  unless an inbound pub/sub Resiliency policy says otherwise; what still fails, and what is dropped, goes
  to the dead-letter topic (the original event, whose ``topic`` attribute stays the original topic).
* daprd gives one message per partition at a time and waits for the answer without a timeout, so a
  delivery that outlives ``handler_deadline_s`` is stored in the inbox and answered SUCCESS; the handler
  goes on in the background (retried, then dead-lettered by the app itself if it fails), and an inbox
  row whose process died is taken up again. One slow answer holds up its partition for the deadline,
  not for as long as the LLM takes.
* Readiness waits for the sidecar (``GET /v1.0/healthz/outbound``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Collection
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from learnflow import observability
from learnflow.auth.access import public
from learnflow.bus.base import Outcome, Subscription, deliver
from learnflow.errors import Unauthenticated
from learnflow.events.envelope import CloudEvent
from learnflow.events.topics import DLQ_SUFFIX, dlq

log = logging.getLogger(__name__)

ROUTE_PREFIX = "/dapr/events"


def cel(match: dict[str, str]) -> str:
    """A Dapr routing rule (CEL) selecting events whose payload fields equal ``match``.

    Every selection is guarded by ``has()``: in CEL selecting a missing field is an error, and daprd
    dead-letters an event whose rule fails (or, on a topic without a dead-letter topic such as a DLQ,
    returns the error to the Kafka component, which retries that record forever). CEL's ``&&`` is
    ``false`` as soon as one side is, errors or not, so an event without ``data``, with ``data`` that is
    not an object, or without the field simply matches no rule.
    """
    clauses = ["has(event.data)", "type(event.data) == map"]
    for key, value in sorted(match.items()):
        clauses += [f"has(event.data.{key})", f"event.data.{key} == {json.dumps(value)}"]
    return " && ".join(clauses)


def _exclusive(subs: list[Subscription]) -> bool:
    """True when every subscription is filtered on the same fields with different values (one matches at most)."""
    if not subs or not all(s.match for s in subs):
        return False
    keys = {tuple(sorted(s.match)) for s in subs}
    values = [tuple(sorted(s.match.items())) for s in subs]
    return len(keys) == 1 and len(values) == len(set(values))


class Parking(Protocol):
    """Durable storage for events taken over from daprd before they are finished (the inbox)."""

    async def park(self, *, topic: str, consumer: str, wire: dict[str, Any]) -> bool: ...

    async def release(self, *, consumer: str, event_id: str) -> None: ...

    async def unclaim(self, *, consumer: str, event_id: str) -> None: ...

    async def claim_expired(
        self, *, consumers: Collection[str], limit: int = 20
    ) -> list[tuple[str, str, dict[str, Any]]]: ...


class DaprBus:
    name = "dapr"

    def __init__(
        self,
        *,
        http_port: int = 3500,
        pubsub: str = "kafka-pubsub",
        host: str = "127.0.0.1",
        handler_deadline_s: float = 5.0,
        max_attempts: int = 4,
        backoff_s: float = 0.2,
        resume_every_s: float = 30.0,
        app_token: str | None = None,
    ) -> None:
        self.app_token = app_token
        self.base_url = f"http://{host}:{http_port}"
        self.pubsub = pubsub
        self.handler_deadline_s = handler_deadline_s
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._resume_every_s = resume_every_s
        self._subs: dict[str, list[Subscription]] = defaultdict(list)  # topic -> subscriptions
        self._client: httpx.AsyncClient | None = None
        self._inbox: Parking | None = None
        self._background: dict[tuple[str, str], asyncio.Task[None]] = {}  # (group, event id) -> its finish
        self._resumer: asyncio.Task[None] | None = None

    def subscribe(self, subscription: Subscription) -> None:
        self._subs[subscription.topic].append(subscription)

    def use_inbox(self, inbox: Parking) -> None:
        """Let deliveries that outlive the handler deadline finish in the background, stored in ``inbox``."""
        self._inbox = inbox

    async def start(self) -> None:
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=10)
        if self._inbox is not None:
            self._resumer = asyncio.create_task(self._resume_loop(), name="dapr-inbox")

    async def stop(self) -> None:
        if self._resumer is not None:
            self._resumer.cancel()
            await asyncio.gather(self._resumer, return_exceptions=True)
            self._resumer = None
        unfinished = list(self._background.items())
        for _, task in unfinished:
            task.cancel()
        await asyncio.gather(*(t for _, t in unfinished), return_exceptions=True)
        if self._inbox is not None:
            for (group, event_id), _ in unfinished:
                with contextlib.suppress(Exception):  # else its lease runs out and it is taken up then
                    await self._inbox.unclaim(consumer=group, event_id=event_id)
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
        headers = {"content-type": "application/cloudevents+json"}
        if wire.get("traceparent"):  # daprd's own publish span joins the event's trace
            headers["traceparent"] = str(wire["traceparent"])
        resp = await self._client.post(
            f"/v1.0/publish/{quote(self.pubsub, safe='')}/{quote(topic, safe='')}",
            json=wire,
            params=params,
            headers=headers,
        )
        if resp.status_code != 204 and not resp.is_success:
            # Raising keeps the event in the outbox, to be sent again once the sidecar accepts it.
            raise ConnectionError(f"dapr publish to {topic} failed: HTTP {resp.status_code} {resp.text[:200]}")

    # -- the app side: subscriptions and deliveries ------------------------------------------
    def subscriptions(self) -> list[dict[str, Any]]:
        """What the app answers to ``GET /dapr/subscribe``."""
        result = []
        for topic, subs in sorted(self._subs.items()):
            # daprd sends an event down the first route whose rule matches, never down two: rules can
            # only select among subscriptions that exclude each other. Otherwise every event goes to
            # one route and the app gives it to each subscription that matches it.
            if _exclusive(subs):
                rules = [{"match": cel(dict(s.match)), "path": f"{ROUTE_PREFIX}/{s.group}/{topic}"} for s in subs]
                default = f"{ROUTE_PREFIX}/_none/{topic}"
            else:
                rules = []
                whole = len(subs) == 1 and not subs[0].match
                default = f"{ROUTE_PREFIX}/{subs[0].group if whole else '_all'}/{topic}"
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
        if group == "_all":
            subs = [s for s in self._subs.get(topic, []) if s.matches(wire.get("data", {}))]
            if not subs:
                return Outcome.DONE  # for none of this app's subscriptions
        else:
            subs = [s for s in self._subs.get(topic, []) if s.group == group]
        if not subs:
            log.warning("dapr delivery for unknown route %s/%s dropped", group, topic)
            return Outcome.DROP
        outcome = Outcome.DONE
        for sub in subs:
            if sub.skips(wire.get("data")):
                observability.record_skipped(topic=sub.topic, service=sub.group)
                continue  # done for this subscription, unopened
            try:
                # A payload class held in a variable cannot be a type argument for mypy (see envelope.event_model).
                event = CloudEvent[sub.payload].model_validate(wire)  # type: ignore[name-defined]
            except ValidationError as exc:
                log.error("dapr delivery on %s has an invalid payload: %s", topic, exc.errors()[:3])
                return Outcome.DROP
            result = await self._within_deadline(sub, event, wire)
            if result is Outcome.DROP:
                return Outcome.DROP
            if result is Outcome.RETRY:
                observability.record_retry(topic=sub.topic, service=sub.group)  # daprd retries, or dead-letters
                outcome = Outcome.RETRY
        return outcome

    async def _call(self, sub: Subscription, event: CloudEvent[Any]) -> Outcome:
        with observability.handling(sub.topic, sub.group, event) as handled:
            try:
                handled.outcome = await sub.handler(event)
            except Exception as exc:
                log.warning("handler %s failed on %s: %r", sub.group, event.id, exc)
                return Outcome.RETRY
            return handled.outcome

    async def _within_deadline(self, sub: Subscription, event: CloudEvent[Any], wire: dict[str, Any]) -> Outcome:
        """Run the handler; past the deadline, store the event and let daprd move on to the next."""
        if (sub.group, event.id) in self._background:
            return Outcome.DONE  # a redelivery of an event this process is finishing in the background
        task = asyncio.ensure_future(self._call(sub, event))
        if self._inbox is None:
            return await task
        done, _ = await asyncio.wait({task}, timeout=self.handler_deadline_s)
        if done:
            return task.result()
        try:
            parked = await self._inbox.park(topic=sub.topic, consumer=sub.group, wire=wire)
        except Exception as exc:  # cannot store it: keep holding the partition rather than risk losing it
            log.warning("could not park slow event %s for %s (%r); waiting for it", event.id, sub.group, exc)
            return await task
        if not parked:
            log.info("%s: event %s is already in the inbox", sub.group, event.id)
        log.info("%s: event %s outlived %.1fs; finishing it in the background", sub.group, event.id,
                 self.handler_deadline_s)  # fmt: skip
        self._finish_later(sub, wire, task)
        return Outcome.DONE

    def _finish_later(self, sub: Subscription, wire: dict[str, Any], first: Awaitable[Outcome] | None) -> None:
        key = (sub.group, str(wire["id"]))
        task = asyncio.create_task(self._finish(sub, wire, first), name=f"dapr-finish:{sub.group}:{key[1]}")
        self._background[key] = task
        task.add_done_callback(lambda _: self._background.pop(key, None))

    async def _finish(self, sub: Subscription, wire: dict[str, Any], first: Awaitable[Outcome] | None) -> None:
        """Finish a parked event as daprd would have: retries with backoff, then the dead-letter topic."""
        assert self._inbox is not None
        outcome = await first if first is not None else None
        try:
            if outcome is Outcome.DROP:
                await self._dead_letter(sub, wire, "dropped by handler")
            elif outcome is not Outcome.DONE:
                await deliver(sub, wire, max_attempts=self._max_attempts, backoff_s=self._backoff_s,
                              dead_letter=self._dead_letter, failed_attempts=0 if first is None else 1)  # fmt: skip
            await self._inbox.release(consumer=sub.group, event_id=str(wire["id"]))
        except Exception:  # the row stays: its lease runs out and it is taken up again
            log.exception("%s: could not finish parked event %s", sub.group, wire.get("id"))

    async def _dead_letter(self, sub: Subscription, wire: dict[str, Any], reason: str) -> None:
        if sub.topic.endswith(DLQ_SUFFIX):
            log.error("dropping event %s from %s: %s", wire.get("id"), sub.topic, reason)
            return
        log.error("dead-lettering event %s from %s for %s: %s", wire.get("id"), sub.topic, sub.group, reason)
        await self.publish_wire(dlq(sub.topic), {**wire, "dlqreason": reason[:1000], "dlqgroup": sub.group})

    async def resume(self) -> int:
        """Take up parked events whose process died (their lease ran out); return how many."""
        if self._inbox is None:
            return 0
        taken = 0
        groups = {s.group for subs in self._subs.values() for s in subs}
        for topic, group, wire in await self._inbox.claim_expired(consumers=groups):
            sub = next((s for s in self._subs.get(topic, []) if s.group == group), None)
            if sub is None or (group, str(wire.get("id"))) in self._background:
                continue  # another service's event (a shared database), or being finished here
            self._finish_later(sub, wire, None)
            taken += 1
        return taken

    async def _resume_loop(self) -> None:
        while True:
            try:
                await self.resume()
            except Exception as exc:  # the database may be down: the next round tries again
                log.warning("dapr inbox: could not resume parked events (%r)", exc)
            await asyncio.sleep(self._resume_every_s)

    def routes(self) -> APIRouter | None:
        """``GET /dapr/subscribe`` and the delivery routes the sidecar posts events to.

        No user signs in here: the sidecar calls over the pod's localhost. With an app token configured
        (Dapr's ``APP_API_TOKEN``) a call without the sidecar's ``dapr-api-token`` is refused, so nobody
        who reaches the app's port from outside the pod can inject events (see ``learnflow.auth.policy``).
        """

        async def from_sidecar(request: Request) -> None:
            if self.app_token is None:
                return
            given = request.headers.get("dapr-api-token", "")
            if not hmac.compare_digest(given.encode(), self.app_token.encode()):
                raise Unauthenticated("only the Dapr sidecar delivers events (dapr-api-token)")

        router = APIRouter(include_in_schema=False, dependencies=[public(), Depends(from_sidecar)])

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
