"""Wiring: one Runtime per process holds the database, bus, AI provider, sandbox and the services it runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow import observability, uow
from learnflow.ai import AIProvider, create_provider
from learnflow.auth.access import Authenticator
from learnflow.auth.service import dapr_app_token, runner_token
from learnflow.auth.setup import Authentication
from learnflow.bus import EventBus, Outcome, Subscription, create_bus
from learnflow.bus.base import RawPayload
from learnflow.config import Settings, get_settings
from learnflow.curriculum import Curriculum, get_curriculum
from learnflow.db import Database
from learnflow.db.models import DeadLetter, ProcessedEvent
from learnflow.db.session import core, insert_into, table_of
from learnflow.events import PAYLOADS, CloudEvent, Topic, dlq, new_event
from learnflow.events.ids import derived_id
from learnflow.inbox import Inbox
from learnflow.outbox import Outbox
from learnflow.sandbox import CodeRunner, NoCode, Sandbox
from learnflow.sandbox.grading import Grader, GradesCode
from learnflow.sandbox.remote import RemoteRunner
from learnflow.services.declare import Catalog, DeadLetterReaction, ServiceDeclaration
from learnflow.signals import ResponseHub, create_signal
from learnflow.uow import UnitOfWork

log = logging.getLogger(__name__)
__all__ = ["ResponseHub", "Runtime", "derived_id"]

P = TypeVar("P", bound=BaseModel)


class Runtime:
    """Serves the declared ``services`` (all of ``catalog`` when None); the catalog answers about the rest."""

    def __init__(
        self,
        catalog: Catalog,
        services: Iterable[str] | None = None,
        *,
        settings: Settings | None = None,
        bus: EventBus | None = None,
        ai: AIProvider | None = None,
        sandbox: Sandbox | None = None,
        curriculum: Curriculum | None = None,
    ) -> None:
        if not isinstance(catalog, Catalog):
            raise TypeError("Runtime serves a Catalog of declarations: Runtime(CATALOG, ('runner',), ...)")
        self.catalog = catalog
        self.declarations: tuple[ServiceDeclaration, ...] = tuple(
            catalog[name] for name in (catalog.names if services is None else services)
        )
        self.services = tuple(d.name for d in self.declarations)
        if not self.services:
            raise ValueError("a runtime serves at least one service")
        self.settings = settings or get_settings()
        self.name = self.services[0] + "-service" if len(self.services) == 1 else "learnflow"
        self.source = f"/learnflow/{self.name}"
        self.db = Database(self.settings.database_url, connect_timeout_s=self.settings.db.connect_timeout_s)
        self.bus = bus or create_bus(self.settings.bus)
        dapr_app_token(self.settings)  # on Dapr, only the sidecar may deliver events (refused at start if not)
        self.ai = ai or create_provider(self.settings.ai)
        # Who is calling, chosen from settings (local accounts, the platform's OIDC provider, or off).
        self.auth = Authentication(
            self.settings, self.db, holds_secrets=not all(d.is_runner for d in self.declarations)
        )
        self.authenticator: Authenticator = self.auth.authenticator
        self.sandbox: CodeRunner
        self.grader: GradesCode
        self.remote: RemoteRunner | None = None
        if sandbox is None and not any(d.runs_code for d in self.declarations):
            # Triage alone runs no code: no sandbox to probe, and none that could make it unready.
            self.sandbox = self.grader = NoCode(self.name)
        elif sandbox is None and self.settings.runner.url and not any(d.is_runner for d in self.declarations):
            # This process holds secrets: its code runs in the runner service, never here.
            token = runner_token(self.settings, needed_by="this service cannot run code in the runner (401)")
            self.remote = RemoteRunner(self.settings.runner.url, timeout_s=self.settings.runner.timeout_s, token=token)
            self.sandbox = self.grader = self.remote
        else:
            local = sandbox or Sandbox(self.settings.sandbox)
            self.sandbox = local
            self.grader = Grader(local, timeout_s=max(self.settings.sandbox.default_timeout_s * 2, 10.0))
        self.curriculum = curriculum or get_curriculum()
        self.hub = ResponseHub()
        self.signal = create_signal(self.db, self.hub)
        self.outbox = Outbox(self.db, self.bus)
        from learnflow.bus.dapr import DaprBus

        if isinstance(self.bus, DaprBus):
            self.bus.use_inbox(Inbox(self.db))
        observability.setup_tracing(self.name)
        self.started = False
        self._periodic: list[tuple[str, float, Callable[[], Awaitable[object]]]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run ``job`` every ``seconds`` while the runtime is started (registered before start)."""
        self._periodic.append((name, seconds, job))

    async def _repeat(self, name: str, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:  # a failed round must not end the schedule; the next one retries
                log.exception("periodic job %s failed", name)

    async def start(self) -> None:
        await self.db.upgrade()
        await self.signal.start()
        for declaration in self.declarations:
            await self._serve(declaration)
        await self.bus.start()
        self.outbox.start()
        self.outbox.kick()  # events a previous run committed but could not send
        self._tasks = [asyncio.create_task(self._repeat(*job), name=job[0]) for job in self._periodic]
        self.started = True
        if not self.auth.enabled:
            log.warning(
                "LEARNFLOW_AUTH=off: nobody signs in; student ids are taken from the requests as sent "
                "(local experiments only)"
            )
        if self.sandbox.isolation == "rlimits":
            log.error("code runs WITHOUT namespace isolation (%s)", self.sandbox.isolation_reason)
        elif isinstance(self.sandbox, Sandbox) and not self.sandbox.available:
            log.error("no code will run: %s", self.sandbox.isolation_reason)
        log.info(
            "%s started: sandbox=%s services=%s bus=%s ai=%s db=%s auth=%s",
            self.name,
            self.sandbox.isolation,
            ",".join(self.services),
            self.bus.name,
            self.ai.name,
            "sqlite" if self.db.is_sqlite else "postgresql",
            self.auth.describe(),
        )

    async def _serve(self, declaration: ServiceDeclaration) -> None:
        """Prepare ``declaration``'s service and subscribe and schedule what it declares."""
        if declaration.prepare is not None:
            await declaration.prepare(self)
        for consumer in declaration.subscriptions():
            self.consume(
                consumer.topic,
                declaration.name,
                partial(consumer.handler, self),
                payload=consumer.payload,
                match=consumer.match,
                on_dead_letter=consumer.on_dead_letter,
                skip=consumer.skip,
            )
        for periodic in declaration.periodic:
            self.every(periodic.every_s, periodic.name, partial(periodic.job, self))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.outbox.stop()
        await self.bus.stop()
        await self.outbox.release()  # what the bus finished is deleted, what it did not is sent next start
        await self.signal.stop()
        await self.db.dispose()
        if self.remote is not None:
            await self.remote.close()
        self.started = False

    async def ready(self) -> dict[str, str]:
        """Each dependency's state: 'ok' or the reason it is not."""
        checks: dict[str, str] = {}
        checks["database"] = await self.db.ping() or "ok"
        checks["event_bus"] = await self.bus.ping() or "ok"
        checks["sandbox"] = await self.sandbox.ping() or "ok"
        return checks

    async def publish(
        self,
        topic: Topic,
        payload: BaseModel,
        *,
        subject: str | None = None,
        event_id: str | None = None,
        session: AsyncSession | None = None,
    ) -> CloudEvent[Any]:
        """Stage an event in the outbox of the open unit of work (or of ``session``); it is sent once that commits.

        Without either, a unit of work is opened for this event alone. An event id that is already staged
        is not staged again: a redelivered handler publishing its (deterministic) answer id does not
        duplicate it.
        """
        if not isinstance(payload, PAYLOADS[topic]):
            raise TypeError(f"{topic} carries {PAYLOADS[topic].__name__}, not {type(payload).__name__}")
        event = new_event(topic, payload, source=self.source, subject=subject, event_id=event_id)
        # The request's or the delivery's span: whoever handles this event continues its trace.
        trace_context = observability.current_trace_context()
        if "traceparent" in trace_context:
            event.traceparent = event.traceid = trace_context["traceparent"]
            event.tracestate = trace_context.get("tracestate") or None
        observability.record_published(topic=str(topic))
        wire = event.model_dump(mode="json", exclude_none=True)
        async with self.unit_of_work() as work:
            if session is None or session is work.session:
                work.stage(topic=str(topic), wire=wire)
            elif await Outbox.stage(session, str(topic), wire):
                work.staged_events += 1
        return event

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session to read in: the open unit of work's (no second connection), else a short one."""
        work = uow.current()
        if work is not None:
            yield work.session
            return
        async with self.db.session() as session:
            yield session

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """The transaction of one request, delivery or job (joins the one already open in this task)."""
        return uow.begin(self.db, on_events=self._committed)

    def _committed(self, work: UnitOfWork) -> None:
        # The unit's own outbox rows go to the relay as they are; one staged in another session
        # (``publish(session=...)``) is only in the table, which the relay then sweeps.
        self.outbox.committed(work.outbox)
        if work.staged_events > len(work.outbox):
            self.outbox.kick()

    def consume(
        self,
        topic: Topic | str,
        group: str,
        handler: Callable[[CloudEvent[P]], Awaitable[Outcome]],
        *,
        payload: type[P],
        match: Mapping[str, str] | None = None,
        on_dead_letter: DeadLetterReaction | None = None,
        skip: Mapping[str, str] | None = None,
    ) -> None:
        """Subscribe ``handler`` for consumer ``group``, processing each event id at most once.

        Events whose payload fields are as ``skip`` says are acknowledged unopened by the transport
        (nothing to do, nothing to mark; see :class:`Subscription`).

        What the group gives up on is recorded, and ``on_dead_letter`` reacts to it in the same transaction.
        """

        # Built once per consumer, executed with parameters (see ``db.session``): twice per event.
        marks = table_of(ProcessedEvent).c
        find_mark = select(marks.id).where(marks.consumer == group, marks.event_id == bindparam("event_id"))

        async def processed(session: AsyncSession, event_id: str) -> bool:
            return await (await core(session)).scalar(find_mark, {"event_id": event_id}) is not None

        async def idempotent(event: CloudEvent[Any]) -> Outcome:
            # The handler's changes, its events and the processed mark commit together: a failure
            # anywhere leaves none of them, and the redelivery then does the work once.
            try:
                async with self.unit_of_work() as work:
                    if await processed(work.session, event.id):
                        log.info("%s: event %s already processed", group, event.id)
                        return Outcome.DONE
                    outcome = await handler(event)
                    if outcome is not Outcome.DONE:
                        work.discard()  # acknowledge only what succeeded
                        return outcome
                    # A Core INSERT: no ORM flush for a row nobody reads back.
                    mark = {"consumer": group, "event_id": event.id}
                    await (await core(work.session)).execute(insert_into(ProcessedEvent), mark)
            except IntegrityError:
                async with self.db.session() as session:
                    if not await processed(session, event.id):
                        raise
                # A concurrent delivery of the same event committed first; this one's work is undone.
                log.info("%s: event %s processed by a concurrent delivery", group, event.id)
                return Outcome.DONE
            return outcome

        self.bus.subscribe(Subscription(str(topic), group, idempotent, payload, dict(match or {}), dict(skip or {})))
        self._record_dead_letters(str(topic), group, payload, dict(match or {}), on_dead_letter)

    def _record_dead_letters(
        self,
        topic: str,
        group: str,
        payload: type[BaseModel],
        match: dict[str, str],
        react: DeadLetterReaction | None,
    ) -> None:
        """Keep the events ``group`` gave up on in the database, and react to them (once per consumer)."""

        async def record(event: CloudEvent[Any]) -> Outcome:
            extra = event.model_extra or {}
            # Our transports say which consumer gave up; Dapr's dead-lettering does not, but then the
            # DLQ subscription's routing rule (the same match as the consumer's) already selected it.
            consumer = str(extra.get("dlqgroup", "")) or group
            if consumer != group:
                return Outcome.DONE
            wire = event.model_dump(mode="json")
            try:
                # A payload class held in a variable cannot be a type argument for mypy (see envelope.event_model).
                typed: CloudEvent[Any] | None = CloudEvent[payload].model_validate(wire)  # type: ignore[valid-type]
            except ValidationError:
                # Kept for people to inspect; there is no valid payload to react to.
                log.warning("%s: dead-lettered event %s has an invalid payload", group, event.id)
                typed = None
            # The row and the reaction's events commit together, and the row is unique per consumer and
            # event: a redelivered dead letter is recognised here and neither recorded nor reacted to again.
            try:
                async with self.unit_of_work() as work:
                    session = work.session
                    recorded = await session.scalar(
                        select(DeadLetter.id).where(DeadLetter.consumer == group, DeadLetter.event_id == event.id)
                    )
                    if recorded is not None:
                        log.info("%s: dead letter %s already recorded", group, event.id)
                        return Outcome.DONE
                    session.add(
                        DeadLetter(
                            topic=topic,
                            event_id=event.id,
                            consumer=group,
                            reason=str(extra.get("dlqreason", "")) or "dead-lettered by the transport",
                            event=wire,
                        )
                    )
                    if typed is not None and react is not None:
                        await react(self, typed, session)
            except IntegrityError:
                # A concurrent redelivery recorded it first: recorded and reacted to once, by that one.
                return Outcome.DONE
            # Counted here, once per consumer and event, whoever dead-lettered it (our retries or daprd's).
            observability.record_dead_letter(topic=topic, service=group)
            return Outcome.DONE

        # The DLQ consumer accepts any payload: an event dead-lettered *because* it was invalid must
        # still be recorded.
        self.bus.subscribe(Subscription(dlq(topic), f"{group}.dlq", record, RawPayload, match))
