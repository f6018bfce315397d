"""Pattern 3, retries and a DLQ: poison ends in the DLQ once, transient failures recover."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest

from examples.naive.retry_dlq_consumer import NaiveResilientConsumer
from examples.order_system.retry_dlq_consumer import RetryingConsumer
from examples.order_system.runtime import Connection, StopWhen
from pytest_kafka_patterns import (
    assert_delivered,
    assert_group_caught_up,
    assert_routed_to_dlq,
    eventually,
)

MAX_RETRIES = 3
DELAY = 0.2


class Handler:
    """Charges an order; poison (no ``total``) always fails, ``flaky`` ids fail twice."""

    def __init__(self, flaky: set[str]) -> None:
        self.failures_left = {event_id: 2 for event_id in flaky}
        self.attempts: dict[str, list[float]] = {}
        self.processed: list[dict] = []

    def __call__(self, event: dict) -> None:
        self.attempts.setdefault(event["event_id"], []).append(time.time())
        if self.failures_left.get(event["event_id"], 0) > 0:
            self.failures_left[event["event_id"]] -= 1
            raise TimeoutError("payment gateway timed out")
        print(f"charging {event['data']['total']:.2f}")  # KeyError for poison
        self.processed.append(event)


@pytest.fixture
def scenario(kafka_broker, kafka_topic_factory, kafka_producer, order_event_factory):
    """Topics, and good, poison and transiently failing events on the main topic."""
    topics = {
        "topic": kafka_topic_factory("orders"),
        "retry_topic": kafka_topic_factory("orders.retry", partitions=1),
        "dlq_topic": kafka_topic_factory("orders.dlq", partitions=1),
    }
    good = order_event_factory.build_batch(5)
    poison = order_event_factory.build_batch(2, poison=True)
    flaky = order_event_factory.build()
    for event in [*good, poison[0], flaky, poison[1]]:
        kafka_producer.send(topics["topic"], key=event["data"]["user_id"], value=event)
    kafka_producer.flush()
    connection = Connection(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        # A fetch the broker holds (fetch_max_wait_ms) delays a resumed retry partition.
        consumer_overrides={**kafka_broker.consumer_defaults, "fetch_max_wait_ms": 50},
    )
    return connection, topics, good, poison, flaky


def test_poison_goes_to_the_dlq_after_its_retries_and_a_transient_failure_recovers(
    scenario, kafka_broker, kafka_read
):
    connection, topics, good, poison, flaky = scenario
    handler = Handler(flaky={flaky["event_id"]})
    service = RetryingConsumer(
        handler, connection, group_id=topics["topic"], max_retries=MAX_RETRIES,
        retry_delay=DELAY, **topics,
    )
    attempts = len(good) + len(poison) * (MAX_RETRIES + 1) + 3
    try:
        assert service.run(StopWhen(max_messages=attempts, idle_timeout=10)) == attempts
    finally:
        service.close()

    dlq = kafka_read(topics["dlq_topic"], min_records=len(poison))
    assert_routed_to_dlq(dlq, poison, processed=handler.processed, max_retries=MAX_RETRIES)
    assert_delivered(handler.processed, [*good, flaky], allow_extra=False)
    for entry in dlq:
        original = next(e for e in poison if e["event_id"] == entry.value["event_id"])
        assert entry.key == original["data"]["user_id"]  # the key survives, unlike the guide's
        assert "KeyError: 'total'" in entry.value["_traceback"]
        assert entry.header("retry_count") == str(MAX_RETRIES).encode()
        assert entry.header("original_topic") == topics["topic"].encode()
    retries = kafka_read(topics["retry_topic"], min_records=len(poison) * MAX_RETRIES + 2)
    assert len(retries) == len(poison) * MAX_RETRIES + 2
    for tries in handler.attempts.values():  # each retry waited for its not_before
        assert all(later - earlier >= DELAY for earlier, later in pairwise(tries))
    for topic in (topics["topic"], topics["retry_topic"]):
        eventually(lambda t=topic: assert_group_caught_up(
            kafka_broker.bootstrap_servers, topics["topic"], t))


def test_the_guide_in_spirit_never_retries_so_poison_never_reaches_the_dlq(scenario, kafka_read):
    connection, topics, good, poison, flaky = scenario
    handler = Handler(flaky={flaky["event_id"]})
    service = NaiveResilientConsumer(
        handler, connection, group_id=topics["topic"], max_retries=MAX_RETRIES, **topics
    )
    try:
        service.run(StopWhen(max_messages=len(good) + len(poison) + 1, idle_timeout=10))
    finally:
        service.close()

    with pytest.raises(AssertionError, match=r"2 poison event\(s\) not in the DLQ"):
        assert_routed_to_dlq(kafka_read(topics["dlq_topic"]), poison, max_retries=MAX_RETRIES)
    with pytest.raises(AssertionError, match=r"1 of 6 expected event\(s\) missing"):
        assert_delivered(handler.processed, [*good, flaky])
    # ... they sit in the retry topic, which nobody reads.
    assert len(kafka_read(topics["retry_topic"], min_records=3)) == 3
