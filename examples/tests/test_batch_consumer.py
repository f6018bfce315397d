"""Pattern 2, the batch consumer: every record processed once, a failed batch retried."""

from __future__ import annotations

import pytest

from examples.naive.batch_consumer import NaiveBatchProcessor
from examples.order_system.batch_consumer import BatchConsumer, BatchFailed
from examples.order_system.runtime import Connection, StopWhen
from pytest_kafka_patterns import assert_delivered, assert_group_caught_up, eventually


def produce(producer, topic, events):
    for event in events:
        producer.send(topic, key=event["data"]["user_id"], value=event)
    producer.flush()


class FailingOnce:
    """``process_batch`` that fails on its ``fail_on``-th call, recording successful batches."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on
        self.calls: list[list[dict]] = []
        self.processed: list[dict] = []

    def __call__(self, batch: list[dict]) -> None:
        self.calls.append(batch)
        if len(self.calls) == self.fail_on:
            raise ConnectionError("database unavailable")
        self.processed.extend(batch)


@pytest.fixture
def connection(kafka_broker):
    return Connection(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        consumer_overrides=kafka_broker.consumer_defaults,
    )


def run(service, count):
    try:
        service.run(StopWhen(max_messages=count, idle_timeout=10))
    finally:
        service.close()


def test_every_event_is_processed_once_in_batches_and_committed(
    connection, kafka_broker, kafka_topic_factory, kafka_producer, order_event_factory
):
    topic = kafka_topic_factory("orders")
    events = order_event_factory.build_batch(40)
    produce(kafka_producer, topic, events)
    process = FailingOnce()

    run(BatchConsumer(process, connection, topic=topic, group_id=topic, batch_size=10), 40)

    assert_delivered(process.processed, events, allow_extra=False)
    assert all(len(batch) <= 10 for batch in process.calls)
    eventually(lambda: assert_group_caught_up(kafka_broker.bootstrap_servers, topic, topic))


def test_a_failed_batch_is_processed_again_not_skipped(
    connection, kafka_topic_factory, kafka_producer, order_event_factory
):
    topic = kafka_topic_factory("orders")
    events = order_event_factory.build_batch(30)
    produce(kafka_producer, topic, events)
    process = FailingOnce(fail_on=1)

    service = BatchConsumer(
        process, connection, topic=topic, group_id=topic, batch_size=10, retry_backoff=0
    )
    run(service, 30)

    failed = process.calls[0]
    assert_delivered(process.processed, failed)  # the failed batch came back
    assert_delivered(process.processed, events, allow_extra=False)


def test_the_guide_in_spirit_loses_the_failed_batch(
    connection, kafka_topic_factory, kafka_producer, order_event_factory
):
    topic = kafka_topic_factory("orders")
    events = order_event_factory.build_batch(30)
    produce(kafka_producer, topic, events)
    process = FailingOnce(fail_on=1)

    run(NaiveBatchProcessor(process, connection, topic=topic, group_id=topic, batch_size=10), 30)

    with pytest.raises(AssertionError, match=rf"{len(process.calls[0])} of 30 expected event"):
        assert_delivered(process.processed, events, allow_extra=False)


def test_a_batch_that_keeps_failing_stops_the_consumer_uncommitted(
    connection, kafka_broker, kafka_topic_factory, kafka_producer, order_event_factory
):
    topic = kafka_topic_factory("orders", partitions=1)
    events = order_event_factory.build_batch(5)
    produce(kafka_producer, topic, events)
    calls = []

    def always_fails(batch):
        calls.append(batch)
        raise ConnectionError("database unavailable")

    service = BatchConsumer(
        always_fails, connection, topic=topic, group_id=topic, max_retries=2, retry_backoff=0
    )
    with pytest.raises(BatchFailed, match=rf"{topic}\[0\]@0 failed 3 time"):
        run(service, 5)

    assert [batch[0]["event_id"] for batch in calls] == [events[0]["event_id"]] * 3
    with pytest.raises(AssertionError, match="nothing committed"):
        assert_group_caught_up(kafka_broker.bootstrap_servers, topic, topic)
