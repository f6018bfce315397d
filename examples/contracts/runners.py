"""Runners: the examples' consumers, wrapped for the contract harness.

Each runner takes the :class:`~pytest_kafka_patterns.contracts.runner.RunnerConfig` the
harness passes (through the environment of the consumer's subprocess), builds the
service on it, makes its handler raise for the scenario's poison events and records each
effect (the event id, in the Redis list the harness reads). It runs until SIGTERM.
The ``naive_*`` runners wrap ``examples/naive`` the same way, as negative controls.
"""

from __future__ import annotations

from typing import Any

from examples.naive.email_service import NaiveEmailService
from examples.naive.idempotent_consumer import NaiveIdempotentConsumer
from examples.naive.retry_dlq_consumer import NaiveResilientConsumer
from examples.order_system.email_service import Email, EmailService
from examples.order_system.idempotent_consumer import IdempotentConsumer, RedisWrite
from examples.order_system.retry_dlq_consumer import RetryingConsumer
from examples.order_system.runtime import Connection, StopWhen
from pytest_kafka_patterns.contracts.runner import RunnerConfig


def connection(config: RunnerConfig) -> Connection:
    return Connection(
        bootstrap_servers=config.bootstrap_servers,
        redis_url=config.redis_url,
        consumer_overrides=config.consumer_overrides,
    )


def _sender(config: RunnerConfig) -> Any:
    def send(email: Email) -> None:
        event = {"event_id": email.event_id}
        config.check_poison(event)
        config.record_effect(event)  # the email "sent"

    return send


def _handler(config: RunnerConfig) -> Any:
    def handle(event: Any) -> None:
        config.check_poison(event)
        config.record_effect(event)

    return handle


def _run(service: Any, config: RunnerConfig) -> None:
    try:
        service.run(StopWhen(stop=config.stop))
    finally:
        service.close()


def email_service(config: RunnerConfig) -> None:
    """``order_system.email_service``: at-least-once, failed sends retried in place."""
    service = EmailService(connection(config), config.topic, config.group_id,
                           send_email=_sender(config), retry_backoff=0.05)
    _run(service, config)


def idempotent_consumer(config: RunnerConfig) -> None:
    """``order_system.idempotent_consumer``: the effect (RPUSH of the event id to the
    effects list) is applied inside the claim script, so it happens once per event."""

    def writes(event: Any) -> list[RedisWrite]:
        config.check_poison(event)
        return [RedisWrite("RPUSH", config.effects_key, (str(event["event_id"]),))]

    consumer = IdempotentConsumer(connection(config), topic=config.topic,
                                  group_id=config.group_id, writes_of=writes)
    apply_event = consumer.effect.apply_event

    def apply_then_maybe_crash(event: Any, event_id: str) -> bool:
        applied = apply_event(event, event_id)
        config.after_effect()  # the crash point: after the effect, before the commit
        return applied

    consumer.effect.apply_event = apply_then_maybe_crash  # type: ignore[method-assign]
    _run(consumer, config)


def retry_dlq_consumer(config: RunnerConfig) -> None:
    """``order_system.retry_dlq_consumer`` with a short retry delay."""
    consumer = RetryingConsumer(
        _handler(config), connection(config), topic=config.topic, group_id=config.group_id,
        max_retries=config.max_retries, retry_delay=0.1,
        retry_topic=config.retry_topic, dlq_topic=config.dlq_topic,
    )
    _run(consumer, config)


def naive_email_service(config: RunnerConfig) -> None:
    """``naive.email_service``: a failed send is skipped by the next commit."""
    _run(NaiveEmailService(connection(config), _sender(config), config.topic, config.group_id),
         config)


def naive_idempotent_consumer(config: RunnerConfig) -> None:
    """``naive.idempotent_consumer``: check, act, then mark (a crash between act and
    mark repeats the effect)."""
    consumer = NaiveIdempotentConsumer(_handler(config), connection(config),
                                       topic=config.topic, group_id=config.group_id)
    _run(consumer, config)


def naive_retry_dlq_consumer(config: RunnerConfig) -> None:
    """``naive.retry_dlq_consumer``: nothing reads the retry topic."""
    consumer = NaiveResilientConsumer(
        _handler(config), connection(config), topic=config.topic, group_id=config.group_id,
        max_retries=config.max_retries, retry_topic=config.retry_topic,
        dlq_topic=config.dlq_topic,
    )
    _run(consumer, config)
