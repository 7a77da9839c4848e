"""Ids of events caused by other events."""

from __future__ import annotations

import uuid


def derived_id(parent_event_id: str, purpose: str) -> str:
    """Deterministic id for an event caused by another, so a redelivery re-publishes the same event."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"learnflow:{parent_event_id}:{purpose}"))
