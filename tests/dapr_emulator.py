"""A Dapr sidecar emulator for tests that behaves as daprd 1.18 does, not as one would hope.

Each behaviour follows daprd's source (github.com/dapr/dapr, dapr/components-contrib):

* Publish (``pkg/api/http/http.go`` ``onPublish``; ``pkg/runtime/pubsub/cloudevents.go``;
  contrib ``pubsub/envelope.go`` ``FromCloudEvent``): a ``application/cloudevents+json`` body is kept
  as it is, plus ``topic``, ``pubsubname`` and, when absent, ``traceid``/``traceparent``/``tracestate``.
  Answers 204. The stored bytes are what every delivery, and every dead letter, carries.
* Kafka (contrib ``common/component/kafka``): ``metadata.partitionKey`` picks the partition; each
  subscription consumes each partition one message at a time (``consumer.go`` ``ConsumeClaim``);
  ``initialOffset`` defaults to ``newest`` (``utils.go`` ``parseInitialOffset``), so a subscription
  without a committed offset sees only what is published after it joined; a handler error is retried
  by the component every ``consumeRetryInterval``, forever, holding up the partition.
* Routing (``pkg/runtime/subscription/subscription.go`` ``findMatchingRoute``; ``pkg/expr``): rules are
  CEL over ``{"event": <cloud event>}``; an evaluation error (selecting a missing field) sends the
  event to the dead-letter topic, or without one fails it (component retry); no matching rule and no
  default route is "not for me", which is also sent to the dead-letter topic when there is one.
* Delivery (``pkg/runtime/subscription/postman/http/http.go`` ``Deliver``): 2xx with an empty or
  unparsable body or status ``""``/``SUCCESS`` is success, ``RETRY`` and any unknown status are
  retriable errors, ``DROP`` and HTTP 404 drop the event (to the dead-letter topic when set), any other
  status or an unreachable app is a retriable error.
* Resiliency (``pkg/resiliency/resiliency.go`` ``ComponentInboundPolicy``, ``policy.go``): without an
  inbound pub/sub policy a delivery is tried once; with one, retriable errors are retried with its
  backoff. What still fails goes to the dead-letter topic when set (``sendToDeadLetter`` publishes
  the original bytes, so the ``topic`` attribute stays the original topic), else to component retry.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from fastapi import FastAPI, Request, Response


# -- a CEL subset: has(), type(), field selection, ==, !=, &&, ||, !, (), string/bool literals ------
class CelError(Exception):
    """An evaluation error, as cel-go reports for ``no such key``."""


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>&&|\|\||==|!=|[().!])|(?P<id>[A-Za-z_]\w*))')


def _tokens(expr: str) -> list[str]:
    out, pos, expr = [], 0, expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"unsupported CEL at {expr[pos:]!r}")
        out.append(m.group(0).strip())
        pos = m.end()
    return out


@dataclass(frozen=True)
class _Type:
    name: str


_TYPES = {"map", "list", "string", "bool", "int", "double", "null_type"}


def _type_of(value: Any) -> _Type:
    kinds = ((dict, "map"), (list, "list"), (str, "string"), (bool, "bool"), (int, "int"), (float, "double"))
    for python, name in kinds:
        if isinstance(value, python):
            return _Type(name)
    return _Type("null_type")


def _eval(tokens: list[str], env: dict[str, Any]) -> Any:
    """Evaluate with CEL's semantics: ``&&``/``||`` absorb an error when the other side decides."""
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal pos
        tok = tokens[pos]
        if expected is not None and tok != expected:
            raise ValueError(f"expected {expected!r}, got {tok!r}")
        pos += 1
        return tok

    def select(value: Any, name: str) -> Any:
        if isinstance(value, CelError):
            return value
        if not isinstance(value, dict):
            return CelError(f"no such overload: select {name} on {type(value).__name__}")
        return value[name] if name in value else CelError(f"no such key: {name}")

    def primary() -> Any:
        tok = take()
        if tok == "(":
            value = disjunction()
            take(")")
            return value
        if tok == "!":
            value = primary()
            return value if isinstance(value, CelError) else not value
        if tok.startswith('"'):
            return json.loads(tok)
        if tok in ("true", "false"):
            return tok == "true"
        if tok in _TYPES:
            return _Type(tok)
        if tok == "type":
            take("(")
            value = disjunction()
            take(")")
            return value if isinstance(value, CelError) else _type_of(value)
        if tok == "has":
            take("(")
            value: Any = env.get(take(), CelError("undeclared"))
            names = []
            while peek() == ".":
                take(".")
                names.append(take())
            take(")")
            if not names:
                raise ValueError("has() needs a field selection")
            for name in names[:-1]:
                value = select(value, name)
            if isinstance(value, CelError):
                return value
            if not isinstance(value, dict):
                return CelError(f"no such overload: has on {type(value).__name__}")
            return names[-1] in value
        value = env.get(tok, CelError(f"undeclared reference to '{tok}'"))
        while peek() == ".":
            take(".")
            value = select(value, take())
        return value

    def comparison() -> Any:
        left = primary()
        if peek() in ("==", "!="):
            op = take()
            right = primary()
            for side in (left, right):
                if isinstance(side, CelError):
                    return side
            return (left == right) if op == "==" else (left != right)
        return left

    def conjunction() -> Any:
        values = [comparison()]
        while peek() == "&&":
            take()
            values.append(comparison())
        if len(values) == 1:
            return values[0]
        if any(v is False for v in values):
            return False
        return next((v for v in values if isinstance(v, CelError)), all(values))

    def disjunction() -> Any:
        values = [conjunction()]
        while peek() == "||":
            take()
            values.append(conjunction())
        if len(values) == 1:
            return values[0]
        if any(v is True for v in values):
            return True
        return next((v for v in values if isinstance(v, CelError)), any(values))

    result = disjunction()
    if pos != len(tokens):
        raise ValueError(f"unparsed CEL tokens {tokens[pos:]}")
    return result


def cel_eval(expr: str, event: dict[str, Any]) -> bool:
    """Evaluate a routing rule over ``event`` as daprd does; raise :class:`CelError` as cel-go fails."""
    result = _eval(_tokens(expr), {"event": event})
    if isinstance(result, CelError):
        raise result
    if not isinstance(result, bool):
        raise CelError(f"the result of match expression {expr} was not a boolean")
    return result


# -- the sidecar --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resiliency:
    """An inbound pub/sub retry policy (``spec.policies.retries`` + ``targets.components.<pubsub>.inbound``)."""

    max_retries: int = 3
    duration_s: float = 0.05
    policy: Literal["constant", "exponential"] = "exponential"
    max_interval_s: float = 1.0

    def delay(self, retry: int) -> float:
        if self.policy == "constant":
            return self.duration_s
        return min(self.duration_s * 2**retry, self.max_interval_s)


class _Retriable(Exception):
    pass


class _Dropped(Exception):
    pass


@dataclass
class Delivery:
    topic: str  # the topic the event was consumed from
    event_id: str
    status: str  # SUCCESS, RETRY, DROP, ERROR (unreachable or an unknown answer), ROUTE-ERROR
    path: str | None
    started: float
    ended: float


class DaprEmulator:
    def __init__(
        self,
        *,
        pubsub: str = "kafka-pubsub",
        resiliency: Resiliency | None = None,
        initial_offset: Literal["newest", "oldest"] = "newest",
        partitions: int = 3,
        consume_retry_interval_s: float = 0.1,
    ) -> None:
        self.pubsub = pubsub
        self.resiliency = resiliency
        self.initial_offset = initial_offset
        self.partitions = partitions
        self.consume_retry_interval_s = consume_retry_interval_s
        self.app_url: str | None = None
        self.healthy = True
        self.subscriptions: list[dict[str, Any]] = []
        self.published: list[tuple[str, dict[str, Any]]] = []  # every record written, dead letters included
        self.deliveries: list[Delivery] = []
        self.component_retries: list[tuple[str, str]] = []  # (topic, event id) each time Kafka retries a record
        self.app = FastAPI()
        self.app.post("/v1.0/publish/{pubsub}/{topic}")(self._publish)
        self.app.get("/v1.0/healthz/outbound")(self._health)
        self._log: dict[str, list[tuple[int, bytes]]] = {}  # topic -> (partition, record)
        self._offsets: dict[tuple[str, int], int] = {}  # committed: (topic, partition) -> next index
        self._queues: dict[tuple[str, int], asyncio.Queue[tuple[int, bytes]]] = {}
        self._workers: list[asyncio.Task[None]] = []

    @property
    def statuses(self) -> list[tuple[str, str, str]]:
        """(topic, event id, status) of every delivery attempt."""
        return [(d.topic, d.event_id, d.status) for d in self.deliveries]

    async def connect(self, app_url: str) -> None:
        """Discover the app's subscriptions and join their consumer groups, as daprd does at start."""
        self.app_url = app_url
        async with httpx.AsyncClient() as client:
            self.subscriptions = (await client.get(app_url + "/dapr/subscribe")).json()
        await self.join()

    async def join(self) -> None:
        """(Re)start consuming ``subscriptions``, from the committed offsets or else ``initialOffset``."""
        await self.disconnect()
        for sub in self.subscriptions:
            topic = sub["topic"]
            log = self._log.setdefault(topic, [])
            for partition in range(self.partitions):
                key = (topic, partition)
                if key not in self._offsets:  # no committed offset: initialOffset decides
                    self._offsets[key] = 0 if self.initial_offset == "oldest" else len(log)
                queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
                for index, (p, record) in enumerate(log):
                    if p == partition and index >= self._offsets[key]:
                        queue.put_nowait((index, record))
                self._queues[key] = queue
                self._workers.append(asyncio.create_task(self._consume(sub, partition, queue)))

    async def disconnect(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        self._queues.clear()

    async def _health(self) -> Response:
        return Response(status_code=204 if self.healthy else 500)

    async def _publish(self, pubsub: str, topic: str, request: Request) -> Response:
        if pubsub != self.pubsub:
            return Response(status_code=404, content=f"pubsub {pubsub} not found")
        body = await request.json()
        if request.headers.get("content-type", "").startswith("application/cloudevents+json"):
            event = dict(body)
        else:  # plain data: the sidecar wraps it in a CloudEvent of its own
            event = {"specversion": "1.0", "id": secrets.token_hex(16), "source": "dapr",
                     "type": "com.dapr.event.sent", "datacontenttype": "application/json", "data": body}  # fmt: skip
        if "traceid" not in event:  # FromCloudEvent: the publish request's span, when the event has none
            traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
            event["traceid"] = event["traceparent"] = traceparent
        event.setdefault("tracestate", "")
        event.update({"topic": topic, "pubsubname": pubsub})
        self._append(topic, request.query_params.get("metadata.partitionKey"), json.dumps(event).encode())
        return Response(status_code=204)

    def _append(self, topic: str, key: str | None, record: bytes) -> None:
        partition = zlib.crc32(key.encode()) % self.partitions if key else 0
        log = self._log.setdefault(topic, [])
        log.append((partition, record))
        self.published.append((topic, json.loads(record)))
        queue = self._queues.get((topic, partition))
        if queue is not None:
            queue.put_nowait((len(log) - 1, record))

    async def _consume(self, sub: dict[str, Any], partition: int, queue: asyncio.Queue[tuple[int, bytes]]) -> None:
        """One partition, one record at a time; a failed record is retried forever, holding the rest."""
        async with httpx.AsyncClient(timeout=None) as client:  # the app channel has no timeout
            while True:
                index, record = await queue.get()
                while not await self._handle(client, sub, record):
                    self.component_retries.append((sub["topic"], str(json.loads(record).get("id"))))
                    await asyncio.sleep(self.consume_retry_interval_s)
                self._offsets[(sub["topic"], partition)] = index + 1

    async def _handle(self, client: httpx.AsyncClient, sub: dict[str, Any], record: bytes) -> bool:
        """daprd's subscription handler; False is an error returned to the Kafka component."""
        event = json.loads(record)
        dead_topic = sub.get("deadLetterTopic")
        try:
            path = self._route(sub, event)
        except CelError:
            self._record(sub["topic"], event, "ROUTE-ERROR", None, 0.0)
            return self._dead_letter(dead_topic, record, event)
        if path is None:  # no rule matched and no default: skipped (and dead-lettered when there is a topic)
            if dead_topic:
                self._dead_letter(dead_topic, record, event)
            return True
        retry = 0
        while True:
            try:
                await self._post(client, sub["topic"], path, event, record)
                return True
            except _Dropped:
                if dead_topic:
                    self._dead_letter(dead_topic, record, event)
                return True
            except _Retriable:
                if self.resiliency is None or 0 <= self.resiliency.max_retries <= retry:
                    break
                await asyncio.sleep(self.resiliency.delay(retry))
                retry += 1
        return self._dead_letter(dead_topic, record, event)

    def _route(self, sub: dict[str, Any], event: dict[str, Any]) -> str | None:
        for rule in sub["routes"].get("rules", []):
            if cel_eval(rule["match"], event):
                return str(rule["path"])
        return sub["routes"].get("default") or None

    async def _post(
        self, client: httpx.AsyncClient, topic: str, path: str, event: dict[str, Any], record: bytes
    ) -> None:
        started = asyncio.get_running_loop().time()
        headers = {"content-type": "application/cloudevents+json", "pubsubname": self.pubsub}
        if event.get("traceparent"):
            headers["traceparent"] = event["traceparent"]
        try:
            resp = await client.post(f"{self.app_url}{path}", content=record, headers=headers)
        except httpx.HTTPError as exc:
            self._record(topic, event, "ERROR", path, started)
            raise _Retriable from exc
        if 200 <= resp.status_code <= 299:
            try:
                status = json.loads(resp.content).get("status", "")
            except (ValueError, AttributeError):
                status = ""  # empty or unparsable body: success
            status = status or "SUCCESS"
            self._record(topic, event, status if status in ("SUCCESS", "RETRY", "DROP") else "ERROR", path, started)
            if status == "SUCCESS":
                return
            if status == "DROP":
                raise _Dropped
            raise _Retriable  # RETRY, and any status daprd does not know
        if resp.status_code == 404:
            self._record(topic, event, "DROP", path, started)
            raise _Dropped
        self._record(topic, event, "ERROR", path, started)
        raise _Retriable

    def _record(self, topic: str, event: dict[str, Any], status: str, path: str | None, started: float) -> None:
        now = asyncio.get_running_loop().time()
        self.deliveries.append(Delivery(topic, str(event.get("id")), status, path, started or now, now))

    def _dead_letter(self, dead_topic: str | None, record: bytes, event: dict[str, Any]) -> bool:
        """Publish the record as it is (the original ``topic`` attribute included); False without a topic."""
        if not dead_topic:
            return False
        self._append(dead_topic, event.get("subject"), record)
        return True
