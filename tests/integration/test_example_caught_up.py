"""The examples' ``caught_up`` helpers, which end a restarted service once it has nothing
left to read (issue 14): they must say False until the consumer has joined and read to
the high watermark, and must not trust ListOffsets "latest" (wrong on Tansu after a
multi-record batch, which is what a producer's flush of three records makes)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import KafkaConsumer

from examples.order_system.runtime import caught_up
from pytest_kafka_patterns.waiting import wait_until

DEADLINE = 15.0


def until(condition: Callable[[], bool], step: Callable[[], object]) -> None:
    """Call ``step`` (one poll of the consumer) until ``condition`` holds, 15 s at most."""

    def stepped() -> bool:
        if condition():
            return True
        step()
        return condition()

    assert wait_until(stepped, DEADLINE, interval=0) is not None, "condition not met within 15 s"


@pytest.fixture
def three_records(kafka_topic_factory, kafka_producer) -> str:
    topic = kafka_topic_factory("caught-up", partitions=1)
    for n in range(3):
        kafka_producer.send(topic, key="k", value={"n": n})
    kafka_producer.flush()  # one batch of three records
    return topic


def kafka_python_consumer(kafka_broker, topic: str, group: str) -> KafkaConsumer:
    return KafkaConsumer(topic, bootstrap_servers=kafka_broker.bootstrap_servers,
                         group_id=group, auto_offset_reset="earliest",
                         enable_auto_commit=False, max_poll_records=1,
                         **kafka_broker.consumer_defaults)


def test_kafka_python_caught_up_only_at_the_high_watermark(kafka_broker, three_records):
    consumer = kafka_python_consumer(kafka_broker, three_records, f"{three_records}-g")
    try:
        assert not caught_up(consumer), "caught up before joining"
        read: list[object] = []
        until(lambda: len(read) >= 2,
              lambda: read.extend(r for rs in consumer.poll(200).values() for r in rs))
        assert len(read) == 2 and not caught_up(consumer), "caught up with a record left"
        until(lambda: caught_up(consumer),
              lambda: read.extend(r for rs in consumer.poll(200).values() for r in rs))
        assert len(read) == 3
        consumer.commit()
    finally:
        consumer.close()

    restart = kafka_python_consumer(kafka_broker, three_records, f"{three_records}-g")
    try:  # the committed offset is the end: caught up without reading a record
        until(lambda: caught_up(restart), lambda: restart.poll(200))
    finally:
        restart.close()


def test_confluent_caught_up_by_position_then_by_committed_offset(kafka_broker, three_records):
    confluent_kafka = pytest.importorskip("confluent_kafka")
    from examples.order_system.confluent_runtime import caught_up as confluent_caught_up

    def consumer(group: str):
        made = confluent_kafka.Consumer({
            "bootstrap.servers": kafka_broker.bootstrap_servers, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            **kafka_broker.consumer_config("confluent")})
        made.subscribe([three_records])
        return made

    first = consumer(f"{three_records}-c")
    try:
        assert not confluent_caught_up(first), "caught up before joining"
        read: list[object] = []

        def take() -> None:
            message = first.poll(0.2)
            if message is not None and message.error() is None:
                read.append(message)

        until(lambda: len(read) >= 2, take)
        assert not confluent_caught_up(first), "caught up with a record left"
        until(lambda: confluent_caught_up(first), take)
        assert len(read) == 3
        first.commit(read[2], asynchronous=False)  # committed: offset 3, the end
    finally:
        first.close()

    restart = consumer(f"{three_records}-c")
    try:  # it consumes nothing: its committed offset (3) is where it stands, the end
        handed_out: list[object] = []

        def poll_restart() -> None:
            message = restart.poll(0.2)
            if message is not None and message.error() is None:
                handed_out.append(message)

        until(lambda: confluent_caught_up(restart), poll_restart)
        assert handed_out == []
    finally:
        restart.close()
