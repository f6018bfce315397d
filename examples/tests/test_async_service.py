"""AsyncKafkaService on the real embedded broker: acked publish, bounded consume, and
commit-after-handler (a failing handler leaves its record uncommitted)."""

from __future__ import annotations

import asyncio
import time

import pytest

from examples.order_system.async_service import AsyncKafkaService, AsyncStopWhen
from examples.order_system.runtime import Connection
from pytest_kafka_patterns import (
    assert_delivered,
    assert_group_caught_up,
    assert_ordered_by_key,
    committed_offsets,
)


@pytest.fixture
def connection(kafka_broker) -> Connection:
    """Fast group timings. Tansu numbers a group's first generation 0, and aiokafka sends
    LeaveGroup only for generation > 0, so the next member of the same group waits for
    the old one's session to expire: 1 s instead of 2 s keeps a re-join at ~1 s (not ~4 s).
    """
    overrides = dict(kafka_broker.consumer_defaults)
    if kafka_broker.backend == "embedded":
        overrides["session_timeout_ms"] = 1000
    return Connection(bootstrap_servers=kafka_broker.bootstrap_servers,
                      consumer_overrides=overrides)


@pytest.mark.asyncio
async def test_publish_then_consume_in_a_group(
    connection, kafka_broker, kafka_topic_factory, kafka_read, order_history
) -> None:
    topic = kafka_topic_factory("async-orders")
    history = order_history()  # created -> confirmed -> shipped of one order
    async with AsyncKafkaService(connection) as service:
        for event in history:
            metadata = await service.publish(topic, event, key=event["data"]["order_id"])
            assert metadata.offset >= 0  # acknowledged by the broker

        records = kafka_read(topic, min_records=3)
        assert_delivered(records, history, allow_extra=False)
        assert_ordered_by_key(records, expected=history)

        seen = []

        async def handler(record) -> None:
            seen.append(record.value)

        handled = await service.consume(
            topic, "async-group", handler, AsyncStopWhen(max_messages=3, idle_timeout=10)
        )
    assert handled == 3
    assert seen == history
    assert_group_caught_up(kafka_broker.bootstrap_servers, "async-group", topic)


@pytest.mark.asyncio
async def test_failing_handler_leaves_its_record_uncommitted(
    connection, kafka_broker, kafka_topic_factory, order_event_factory
) -> None:
    topic = kafka_topic_factory("async-fail", partitions=1)
    events = [order_event_factory.build(user_id="user_1") for _ in range(3)]
    poison_id = events[1]["event_id"]
    handled_ids: list[str] = []

    async def handler(record) -> None:
        if record.value["event_id"] == poison_id:
            raise RuntimeError("payment gateway down")
        handled_ids.append(record.value["event_id"])

    async with AsyncKafkaService(connection) as service:
        for event in events:
            await service.publish(topic, event, key="user_1")
        with pytest.raises(RuntimeError, match="payment gateway down"):
            await service.consume(topic, "billing", handler, AsyncStopWhen(idle_timeout=10))

        # The record before the failure is committed; the failing one is not.
        assert committed_offsets(kafka_broker.bootstrap_servers, "billing", topic) == {0: 1}
        with pytest.raises(AssertionError, match="behind by 2 record"):
            assert_group_caught_up(kafka_broker.bootstrap_servers, "billing", topic)

        # Once the handler recovers, the group resumes at the failed record (at-least-once).
        poison_id = ""
        handled = await service.consume(
            topic, "billing", handler, AsyncStopWhen(max_messages=2, idle_timeout=10)
        )
    assert handled == 2
    assert handled_ids == [event["event_id"] for event in events]
    assert_group_caught_up(kafka_broker.bootstrap_servers, "billing", topic)


@pytest.mark.asyncio
async def test_consume_is_bounded_by_idle_timeout_and_stop_event(
    connection, kafka_topic_factory
) -> None:
    topic = kafka_topic_factory("async-idle")
    service = AsyncKafkaService(connection)

    async def handler(record) -> None:
        raise AssertionError("the topic is empty")

    started = time.monotonic()
    assert await service.consume(topic, "idle", handler, AsyncStopWhen(idle_timeout=0.3)) == 0
    assert time.monotonic() - started < 5

    until = AsyncStopWhen()  # no limits but the event
    asyncio.get_running_loop().call_later(0.3, until.stop.set)
    started = time.monotonic()
    assert await service.consume(topic, "idle", handler, until) == 0
    assert time.monotonic() - started < 5
