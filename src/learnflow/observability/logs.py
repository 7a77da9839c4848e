"""Logging, configured in one place: JSON lines in the cluster, text locally, ids from the context, no secrets.

What a log line may carry is decided here, not at each call site: the request, query and event ids come
from context variables set by the HTTP middleware and the event delivery path; the trace and span ids
from the current OpenTelemetry span; and every line passes a filter that blanks the values of the secret
settings before any handler writes it. Request bodies (students' code) are never logged by the middleware.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any

from opentelemetry import trace
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from learnflow.config import Settings

REDACTED = "[REDACTED]"
# The fields a line may carry from the context, in the order the text format shows them.
CONTEXT_FIELDS = ("request_id", "query_id", "event_id", "topic", "consumer")
# Secret settings by environment name, read even when a test or tool builds its own Settings.
SECRET_ENV = ("OPENAI_API_KEY", "POSTGRES_PASSWORD")
# Credentials that look like credentials, whoever's they are (an OpenAI-style key, a bearer token, a
# password in a URL).
_PATTERNS = re.compile(
    r"(?P<key>\bsk-[A-Za-z0-9_-]{16,})"
    r"|(?P<bearer>(?<=Bearer )[A-Za-z0-9._~+/=-]{8,})"
    r"|(?P<url>(?<=://)[^/\s:@]+:[^/\s@]+(?=@))"
)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "context",
    "ids",
    "taskName",
    "color_message",
}

_context: ContextVar[Mapping[str, str]] = ContextVar("learnflow_log_context", default=MappingProxyType({}))


def context() -> Mapping[str, str]:
    """The ids bound to the current request or event delivery."""
    return _context.get()


@contextlib.contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Add ``ids`` to every line logged inside the block (and in tasks it starts)."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**ids: str | None) -> None:
    """Add ``ids`` to every line logged from here to the end of the current request or delivery."""
    _context.set({**_context.get(), **{k: v for k, v in ids.items() if v}})


class ContextFilter(logging.Filter):
    """Copy the bound ids and the current trace onto the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = dict(_context.get())
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            ids["trace_id"] = format(span.trace_id, "032x")
            ids["span_id"] = format(span.span_id, "016x")
        record.context = ids
        return True


class RedactFilter(logging.Filter):
    """Replace secret values (and anything shaped like a credential) in the message, arguments and traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is blanked whole. Very short values would
        # blank ordinary words, and a real credential is never that short.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _PATTERNS.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


def secret_values(settings: Settings | None = None) -> list[str]:
    """The values of every secret setting: each ``SecretStr`` field, the known secret variables, a URL's password."""
    found: list[str] = [os.environ.get(name, "") for name in SECRET_ENV]
    if settings is not None:
        for f in dataclass_fields(settings):
            group = getattr(settings, f.name)
            if not isinstance(group, BaseSettings):
                continue
            for name in type(group).model_fields:
                value = getattr(group, name)
                if isinstance(value, SecretStr):
                    found.append(value.get_secret_value())
        url = settings.db.database_url or ""
        match = re.search(r"://[^/\s:@]+:([^/\s@]+)@", url)
        if match:
            found.append(match.group(1))
    return [s for s in found if s]


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the bound ids, and any ``extra`` fields."""

    def __init__(self, *, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        line.update(getattr(record, "context", {}))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value if isinstance(value, str | int | float | bool) or value is None else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request_id=… event_id=…]: message`` for a person reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = getattr(record, "context", {})
        shown = [f"{k}={ids[k]}" for k in (*CONTEXT_FIELDS, "trace_id") if k in ids]
        record.ids = f" [{' '.join(shown)}]" if shown else ""
        return super().format(record)


class CurrentStderr(logging.StreamHandler[IO[str]]):
    """Writes to ``sys.stderr`` as it is when a record is emitted, not as it was when logging was set up.

    A command run inside another program (typer's test runner, an embedding tool) gets a stderr that is
    swapped in and closed afterwards; a handler holding that object would fail on every later record.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(
    settings: Settings,
    *,
    level: str | int | None = None,
    service: str = "learnflow",
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Make the root logger write ``settings``' format at its level, with ids and without secrets.

    Replaces the root's handlers (uvicorn is started with ``log_config=None`` so its loggers come here
    too) and returns the handler, so that a test can inspect exactly what would be written.
    """
    handler: logging.StreamHandler[IO[str]] = logging.StreamHandler(stream) if stream else CurrentStderr()
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter(secret_values(settings)))
    if settings.app.resolved_log_format == "json":
        handler.setFormatter(JsonFormatter(service=service))
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if level is not None else settings.app.log_level)
    # One line per request comes from our middleware, with the request id; httpx's per-call INFO lines
    # (every Dapr publish) would only repeat it.
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
    return handler
