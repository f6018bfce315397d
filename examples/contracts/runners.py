"""Runners: the examples' consumers, wrapped for the contract harness.

Each runner takes the :class:`~pytest_kafka_patterns.contracts.runner.RunnerConfig` the
harness passes (through the environment of the consumer's subprocess), builds the
service on it, makes its handler raise for the scenario's poison events and records each
effect (the event id, in the Redis list the harness reads). It runs until SIGTERM.
The ``naive_*`` runners wrap ``examples/naive`` the same way, as negative controls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from examples.naive.analytics_service import NaiveAnalyticsService
from examples.naive.batch_consumer import NaiveBatchProcessor
from examples.naive.email_service import NaiveEmailService
from examples.naive.idempotent_consumer import NaiveIdempotentConsumer
from examples.naive.inventory_service import NaiveInventoryService
from examples.naive.ledger import NaiveLedger
from examples.naive.retry_dlq_consumer import NaiveResilientConsumer
from examples.order_system.analytics_service import AnalyticsService
from examples.order_system.batch_consumer import BatchConsumer
from examples.order_system.email_service import Email, EmailService
from examples.order_system.idempotent_consumer import IdempotentConsumer, RedisWrite
from examples.order_system.inventory_service import InventoryService, Reservation
from examples.order_system.retry_dlq_consumer import RetryingConsumer
from examples.order_system.runtime import Connection, StopWhen
from examples.payments.ledger import Ledger
from pytest_kafka_patterns.contracts.runner import RunnerConfig


def connection(config: RunnerConfig) -> Connection:
    return Connection(
        bootstrap_servers=config.bootstrap_servers,
        redis_url=config.redis_url,
        consumer_overrides=config.consumer_overrides,
    )


def email_sender(config: RunnerConfig) -> Any:
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


def _batch_handler(config: RunnerConfig) -> Any:
    def process(batch: list[Any]) -> None:
        for event in batch:
            config.check_poison(event)
            config.record_effect(event)

    return process


#: Enough of every product the scenarios order that no reservation fails for stock.
STOCK = {f"prod_{number}": 1_000_000 for number in range(1, 10)}


def _run(service: Any, config: RunnerConfig) -> None:
    try:
        service.run(StopWhen(stop=config.stop))
    finally:
        service.close()


def email_service(config: RunnerConfig) -> None:
    """``order_system.email_service``: at-least-once, failed sends retried in place."""
    service = EmailService(connection(config), config.topic, config.group_id,
                           send_email=email_sender(config), retry_backoff=0.05)
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


def inventory_service(config: RunnerConfig) -> None:
    """``order_system.inventory_service``: the reserve script journals each order it
    decides (the effect) in the same atomic step; results go to the contract's
    ``produces`` topic."""
    service = InventoryService(
        connection(config), config.topic, config.output_topics[0], config.group_id,
        key_prefix=f"{config.effects_key}:inventory", retry_backoff=0.05,
        journal_key=config.effects_key,
    )
    service.seed_stock(STOCK)
    reserve = service.reserve

    def reserve_then_maybe_crash(order: Mapping[str, Any], event_id: str | None = None
                                 ) -> Reservation:
        config.check_poison({"event_id": event_id})
        reservation = reserve(order, event_id)
        config.after_effect()  # the crash point: after the effect, before publish + commit
        return reservation

    service.reserve = reserve_then_maybe_crash  # type: ignore[method-assign]
    _run(service, config)


def analytics_service(config: RunnerConfig) -> None:
    """``order_system.analytics_service``: the count script journals each event it
    counts (the effect) in the same atomic step."""
    service = AnalyticsService(
        connection(config), config.topic, config.group_id,
        key_prefix=f"{config.effects_key}:analytics", retry_backoff=0.05,
        journal_key=config.effects_key, on_counted=lambda event: config.after_effect(),
    )
    count = service.count

    def checked_count(event: Mapping[str, Any]) -> bool:
        config.check_poison(event)
        return count(event)

    service.count = checked_count  # type: ignore[method-assign]
    _run(service, config)


def batch_consumer(config: RunnerConfig) -> None:
    """``order_system.batch_consumer`` in batches of 5: a failed batch is sought back."""
    _run(BatchConsumer(_batch_handler(config), connection(config), topic=config.topic,
                       group_id=config.group_id, batch_size=5, retry_backoff=0.05), config)


def naive_email_service(config: RunnerConfig) -> None:
    """``naive.email_service``: a failed send is skipped by the next commit."""
    _run(NaiveEmailService(connection(config), email_sender(config), config.topic, config.group_id),
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


def naive_inventory_service(config: RunnerConfig) -> None:
    """``naive.inventory_service``: reserves again when an order is redelivered."""
    service = NaiveInventoryService(
        connection(config), config.topic, config.output_topics[0], config.group_id,
        key_prefix=f"{config.effects_key}:inventory", on_reserved=config.record_effect,
    )
    service.redis.hset(service.stock_key, mapping=STOCK)
    _run(service, config)


def naive_analytics_service(config: RunnerConfig) -> None:
    """``naive.analytics_service``: counts every delivery, duplicates included."""
    _run(NaiveAnalyticsService(connection(config), config.topic, config.group_id,
                               key_prefix=f"{config.effects_key}:analytics",
                               on_counted=config.record_effect), config)


def naive_batch_consumer(config: RunnerConfig) -> None:
    """``naive.batch_consumer``: a failed batch is logged and skipped."""
    _run(NaiveBatchProcessor(_batch_handler(config), connection(config), topic=config.topic,
                             group_id=config.group_id, batch_size=5), config)


def _ledger(config: RunnerConfig, kind: type[Ledger]) -> None:
    ledger = kind(
        config.bootstrap_servers, config.redis_url, topic=config.topic,
        group_id=config.group_id, prefix=f"{config.effects_key}:ledger",
        journal_key=config.effects_key, consumer_config=config.consumer_overrides,
        before_booking=config.check_poison,
        after_booking=lambda payment: config.after_effect(),  # after the effect, before commit
        retry_backoff=0.05,
    )
    try:
        ledger.run(config.stop)
    finally:
        ledger.close()


def payments_ledger(config: RunnerConfig) -> None:
    """``payments.ledger``: the journal entry (the effect) is written by the same Lua
    script that claims the message id, so each payment is booked once."""
    _ledger(config, Ledger)


def naive_payments_ledger(config: RunnerConfig) -> None:
    """``naive.ledger``: books without a claim (negative control)."""
    _ledger(config, NaiveLedger)
