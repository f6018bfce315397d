"""Runners for the confluent-kafka examples, wrapped for the contract harness as
:mod:`.runners` wraps the kafka-python ones.

A confluent-kafka runner asks its :class:`~pytest_kafka_patterns.contracts.runner.RunnerConfig`
for the harness's group timings in librdkafka's names
(``config.consumer_config("confluent-kafka")``: ``session.timeout.ms``,
``heartbeat.interval.ms``, ``auto.commit.interval.ms``) and sets ``client.id``, so a fault
proxy can cut this consumer's connections by client id
(:meth:`~pytest_kafka_patterns.faults.TcpProxy.cut`). Each runs until SIGTERM.
"""

from __future__ import annotations

import os
from typing import Any

from examples.contracts.runners import email_sender
from examples.naive.confluent_email_service import NaiveConfluentEmailService
from examples.order_system.confluent_email_service import ConfluentEmailService
from examples.order_system.confluent_idempotent_consumer import ConfluentIdempotentConsumer
from examples.order_system.idempotent_consumer import RedisWrite
from examples.order_system.runtime import StopWhen
from pytest_kafka_patterns.confluent import FETCH_WAIT_MAX_MS
from pytest_kafka_patterns.contracts.runner import RunnerConfig


def librdkafka_config(config: RunnerConfig, name: str) -> dict[str, Any]:
    """librdkafka properties for a runner's consumer: the harness's broker, group and
    group timings (librdkafka names), earliest for the new group, fetches answered within
    ``FETCH_WAIT_MAX_MS`` (as the ``confluent_*`` fixtures) and ``client.id``
    ``contract-<name>-<pid>`` (one per incarnation)."""
    return {
        "bootstrap.servers": config.bootstrap_servers,
        "group.id": config.group_id,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
        "client.id": f"contract-{name}-{os.getpid()}",
        **config.consumer_config("confluent-kafka"),
    }


def _run(service: Any, config: RunnerConfig) -> None:
    try:
        service.run(StopWhen(stop=config.stop))
    finally:
        service.close()


def confluent_email_service(config: RunnerConfig) -> None:
    """``order_system.confluent_email_service``: offsets stored after each send,
    committed in the background (at-least-once); a failed send is retried in place."""
    service = ConfluentEmailService(librdkafka_config(config, "email"), config.topic,
                                    send_email=email_sender(config), retry_backoff=0.05)
    _run(service, config)


def confluent_idempotent_consumer(config: RunnerConfig) -> None:
    """``order_system.confluent_idempotent_consumer``: the effect (RPUSH of the event id
    to the effects list) is applied inside the claim script, then the batch is committed;
    the crash point is after the effect, before the commit."""

    def writes(event: Any) -> list[RedisWrite]:
        config.check_poison(event)
        return [RedisWrite("RPUSH", config.effects_key, (str(event["event_id"]),))]

    consumer = ConfluentIdempotentConsumer(librdkafka_config(config, "payments"),
                                           config.redis_url, topic=config.topic,
                                           writes_of=writes)
    apply_event = consumer.effect.apply_event

    def apply_then_maybe_crash(event: Any, event_id: str) -> bool:
        applied = apply_event(event, event_id)
        config.after_effect()
        return applied

    consumer.effect.apply_event = apply_then_maybe_crash  # type: ignore[method-assign]
    _run(consumer, config)


def naive_confluent_email_service(config: RunnerConfig) -> None:
    """``naive.confluent_email_service``: librdkafka stores each offset on hand-over, so a
    failed send is committed with the next ones and never retried (negative control)."""
    service = NaiveConfluentEmailService(librdkafka_config(config, "naive-email"),
                                         email_sender(config), config.topic)
    _run(service, config)
