"""How a service declares itself: its name, title, routes, consumers, periodic jobs and dead-letter reactions.

Each ``services/<name>/declaration.py`` builds one :class:`ServiceDeclaration`; ``services/catalog.py``
lists them; the runtime and the app factory serve whatever they are given. Nothing here imports a
service or the runtime, so declaring never forms an import cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from learnflow.bus.base import Outcome
from learnflow.events.envelope import CloudEvent
from learnflow.events.payloads import LearningQuery
from learnflow.events.topics import Topic
from learnflow.specialists import Specialist

if TYPE_CHECKING:
    from learnflow.runtime import Runtime

EventHandler = Callable[["Runtime", CloudEvent[Any]], Awaitable[Outcome]]
DeadLetterReaction = Callable[["Runtime", CloudEvent[Any], AsyncSession], Awaitable[None]]
Job = Callable[["Runtime"], Awaitable[object]]


@dataclass(frozen=True)
class Consumer:
    """One subscription of the service: ``handler(rt, event)`` for events on ``topic`` carrying ``payload``.

    ``on_dead_letter`` reacts, in the transaction that records it, to an event this consumer gave up on.
    ``skip`` names, by payload fields as ``match`` does, events the consumer has nothing to do for (their
    effects were committed where they were produced): they are acknowledged unopened, without validating
    them, a span, a transaction or a processed mark.
    """

    topic: Topic
    handler: EventHandler
    payload: type[BaseModel]
    match: Mapping[str, str] = field(default_factory=dict)
    on_dead_letter: DeadLetterReaction | None = None
    skip: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Periodic:
    """A job the service runs every ``every_s`` seconds while its runtime is started."""

    name: str
    every_s: float
    job: Job


@dataclass(frozen=True)
class ServiceDeclaration:
    """Everything the runtime and the app need to serve one service.

    A specialist names itself (``specialist``), says what triage tells the student while it works
    (``acknowledgement``) and answers ``learning.query`` events routed to it with ``answer``; the
    runtime subscribes that handler with the routing rule, so no other module lists the specialists.
    """

    name: str
    title: str
    router: APIRouter
    consumers: tuple[Consumer, ...] = ()
    periodic: tuple[Periodic, ...] = ()
    runs_code: bool = False
    # The service that runs everyone's code: a process serving it never hands code to a remote runner.
    is_runner: bool = False
    specialist: Specialist | None = None
    acknowledgement: str = ""
    answer: EventHandler | None = None
    on_unanswered: DeadLetterReaction | None = None
    prepare: Job | None = None  # seeds its data and fits its models before the first request

    def __post_init__(self) -> None:
        if (self.specialist is None) != (self.answer is None):
            raise ValueError(f"{self.name}: a specialist and its answer handler are declared together")
        if self.specialist is not None and not self.acknowledgement:
            raise ValueError(f"{self.name}: a specialist says what triage tells the student while it works")

    def subscriptions(self) -> tuple[Consumer, ...]:
        """The consumers to subscribe: the declared ones, and a specialist's routed queries."""
        if self.specialist is None or self.answer is None:
            return self.consumers
        routed = Consumer(
            Topic.LEARNING_QUERY,
            self.answer,
            LearningQuery,
            match={"routed_to": str(self.specialist)},
            on_dead_letter=self.on_unanswered,
        )
        return (routed, *self.consumers)


class Catalog:
    """The services a deployment knows, by name; a runtime serves some of them and can ask about all."""

    def __init__(self, declarations: Iterable[ServiceDeclaration]) -> None:
        self._by_name: dict[str, ServiceDeclaration] = {}
        for declaration in declarations:
            if declaration.name in self._by_name:
                raise ValueError(f"service {declaration.name!r} is declared twice")
            self._by_name[declaration.name] = declaration
        specialists = [d.specialist for d in self._by_name.values() if d.specialist is not None]
        if len(specialists) != len(set(specialists)):
            raise ValueError("two services declare the same specialist")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def __iter__(self) -> Iterator[ServiceDeclaration]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> ServiceDeclaration:
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError(f"unknown service {name!r}; choose from {', '.join(self._by_name)}") from None

    def specialist(self, specialist: Specialist | str) -> ServiceDeclaration:
        """The service that answers queries routed to ``specialist``."""
        for declaration in self._by_name.values():
            if declaration.specialist is not None and declaration.specialist == specialist:
                return declaration
        raise LookupError(f"no service answers queries routed to {specialist!r}")

    def plus(self, *declarations: ServiceDeclaration) -> Catalog:
        """This catalog with more services (a plugin's, or a test's)."""
        return Catalog([*self, *declarations])
