"""Event bus transports behind one interface."""

from learnflow.bus.base import EventBus, Handler, Outcome, Subscription
from learnflow.bus.memory import MemoryBus
from learnflow.config import BusSettings


def create_bus(settings: BusSettings) -> EventBus:
    """Build the transport the settings select."""
    if settings.backend == "memory":
        return MemoryBus(max_attempts=settings.max_attempts, backoff_s=settings.retry_backoff_s)
    if settings.backend == "kafka":
        from learnflow.bus.kafka import KafkaBus

        return KafkaBus(
            settings.kafka_bootstrap_servers,
            max_attempts=settings.max_attempts,
            backoff_s=settings.retry_backoff_s,
            topic_prefix=settings.kafka_topic_prefix,
            idempotence=settings.kafka_idempotence,
            session_timeout_ms=settings.kafka_session_timeout_ms,
        )
    from learnflow.bus.dapr import DaprBus

    return DaprBus(
        http_port=settings.dapr_http_port,
        pubsub=settings.dapr_pubsub_name,
        handler_deadline_s=settings.dapr_handler_deadline_s,
        max_attempts=settings.max_attempts,
        backoff_s=settings.retry_backoff_s,
        app_token=settings.dapr_app_token.get_secret_value() if settings.dapr_app_token else None,
    )


__all__ = ["EventBus", "Handler", "MemoryBus", "Outcome", "Subscription", "create_bus"]
