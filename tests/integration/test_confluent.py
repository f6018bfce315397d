"""The confluent-kafka fixtures and ``poll_records`` on a real broker (issue 11).

Whatever backend the run uses; the inner pytest runs (teardown order, missing extra) pin
themselves to the local backends.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from pytest_kafka_patterns import confluent
from pytest_kafka_patterns.confluent import INSTALL_HINT, poll_records
from pytest_kafka_patterns.errors import TopicNotFound

confluent_kafka = pytest.importorskip("confluent_kafka")


def produce(producer: Any, topic: str, *values: bytes, key: bytes = b"user_42") -> None:
    for value in values:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(10) == 0


def test_round_trip_through_the_fixtures(
    kafka_topic_factory: Callable[..., str], confluent_producer: Any,
    confluent_consumer_factory: Callable[..., Any],
) -> None:
    topic = kafka_topic_factory("orders", partitions=1)
    produce(confluent_producer, topic, b'{"total": 10}', b'{"total": 20}', b'{"total": 30}')
    consumer = confluent_consumer_factory(topic)
    messages = poll_records(consumer, 3)
    assert [(m.topic(), m.key(), m.value()) for m in messages] == [
        (topic, b"user_42", b'{"total": 10}'), (topic, b"user_42", b'{"total": 20}'),
        (topic, b"user_42", b'{"total": 30}'),
    ]
    assert [m.offset() for m in messages] == [0, 1, 2]


def test_the_admin_client_sees_the_tests_topic(
    kafka_broker: Any, kafka_topic_factory: Callable[..., str], confluent_admin: Any
) -> None:
    topic = kafka_topic_factory("admin", partitions=2)
    metadata = confluent_admin.list_topics(topic, timeout=10)
    assert sorted(metadata.topics[topic].partitions) == [0, 1]
    assert f"{metadata.brokers[next(iter(metadata.brokers))].port}" in (
        kafka_broker.bootstrap_servers)


def test_a_fresh_group_gets_its_first_record_with_the_tuned_timings(
    kafka_broker: Any, kafka_topic: str, confluent_producer: Any,
    confluent_consumer_factory: Callable[..., Any],
) -> None:
    """librdkafka's default 45 s session would hold a fresh group's first join ~23 s on
    the embedded broker, past this poll's 10 s: the record arrives only with the tuned
    ``session.timeout.ms`` / ``heartbeat.interval.ms`` the factory passes."""
    config = kafka_broker.consumer_config("confluent-kafka")
    defaults = kafka_broker.consumer_defaults
    assert config["session.timeout.ms"] == defaults["session_timeout_ms"]
    assert config["heartbeat.interval.ms"] == defaults["heartbeat_interval_ms"]
    assert len(config) == len(defaults)
    produce(confluent_producer, kafka_topic, b"first")
    consumer = confluent_consumer_factory(kafka_topic)
    [message] = poll_records(consumer, 1, timeout=10.0)
    assert message.value() == b"first"


def test_each_consumer_gets_a_group_of_its_own(
    kafka_topic_factory: Callable[..., str], confluent_producer: Any,
    confluent_consumer_factory: Callable[..., Any],
) -> None:
    """Each consumer made without ``group_id`` reads the topic from the start, even after
    another one committed its end; two with the same explicit group share offsets."""
    topic = kafka_topic_factory("groups", partitions=1)
    produce(confluent_producer, topic, b"a", b"b")
    for _ in range(2):
        consumer = confluent_consumer_factory(topic)
        assert [m.value() for m in poll_records(consumer, 2)] == [b"a", b"b"]
        consumer.commit(asynchronous=False)
        consumer.close()

    shared = f"shared-{topic}"
    first = confluent_consumer_factory(topic, group_id=shared)
    poll_records(first, 2)
    first.commit(asynchronous=False)
    first.close()
    second = confluent_consumer_factory(topic, group_id=shared)
    with pytest.raises(AssertionError, match=r"0 of 1 record\(s\) arrived within 3 s"):
        poll_records(second, 1, timeout=3.0)


def test_groups_are_unique_per_test_and_worker(
    kafka_broker: Any, kafka_topic: str, confluent_consumer_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The group ids the factory hands librdkafka: unique per consumer, and named after
    the test, so no two tests share one."""
    made: list[dict[str, Any]] = []
    real = confluent.consumer_config

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(confluent, "consumer_config", spy)
    for _ in range(3):
        confluent_consumer_factory(kafka_topic)
    confluent_consumer_factory(kafka_topic, group_id="mine")
    groups = [config["group.id"] for config in made]
    assert len(set(groups[:3])) == 3 and groups[3] == "mine"
    assert all("test_groups_are_unique_per_test_and_worker" in group for group in groups[:3])
    assert all(config["auto.offset.reset"] == "earliest" for config in made)
    assert all(config["fetch.wait.max.ms"] == confluent.FETCH_WAIT_MAX_MS for config in made)
    assert all(config["bootstrap.servers"] == kafka_broker.bootstrap_servers for config in made)


def test_poll_records_names_the_shortfall_and_never_hangs(
    kafka_topic_factory: Callable[..., str], confluent_producer: Any,
    confluent_consumer_factory: Callable[..., Any],
) -> None:
    topic = kafka_topic_factory("short", partitions=1)
    produce(confluent_producer, topic, b"only one")
    consumer = confluent_consumer_factory(topic)
    started = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        poll_records(consumer, 3, timeout=5.0)
    took = time.monotonic() - started
    assert f"1 of 3 record(s) arrived within 5 s from {topic}; assigned {topic}[0]" in str(
        caught.value
    )
    assert took < 5.0 + 1.0, f"poll_records(timeout=5) took {took:.2f} s"
    # The records it did get are still the consumer's: nothing more is pending.
    assert poll_records(consumer, 0) == []


def test_poll_records_says_when_no_partition_was_assigned(
    kafka_topic: str, confluent_consumer_factory: Callable[..., Any],
) -> None:
    """A consumer subscribed to nothing (on every backend: Apache Kafka assigns even a
    45 s-session group within 0.5 s); ``topics=`` names what it was meant to read."""
    consumer = confluent_consumer_factory()
    with pytest.raises(AssertionError, match=(
        rf"0 of 1 record\(s\) arrived within 0.5 s from {kafka_topic}; no partitions assigned"
    )):
        poll_records(consumer, 1, timeout=0.5, topics=[kafka_topic])


def test_poll_records_skips_partition_eof_and_raises_other_message_errors(
    kafka_topic_factory: Callable[..., str], confluent_producer: Any,
    confluent_consumer_factory: Callable[..., Any],
) -> None:
    topic = kafka_topic_factory("eof", partitions=1)
    produce(confluent_producer, topic, b"x")
    consumer = confluent_consumer_factory(topic, **{"enable.partition.eof": True})
    [message] = poll_records(consumer, 1)
    assert message.value() == b"x"
    with pytest.raises(AssertionError, match=r"^poll_records: 0 of 1 record\(s\) arrived within"):
        poll_records(consumer, 1, timeout=1.0)  # EOF events arrive, and are not records

    missing = f"no-such-topic-{topic}"
    lost = confluent_consumer_factory(missing)
    with pytest.raises(TopicNotFound, match=rf"^poll_records: topic '{missing}' does not exist"):
        poll_records(lost, 1, timeout=10.0)


TEARDOWN_ORDER = """
import json
import pytest
from pytest_kafka_patterns import topics
from pytest_kafka_patterns.confluent import (
    confluent_consumer_factory_fixture, confluent_producer_factory_fixture)

unordered_consumers = confluent_consumer_factory_fixture(topic_factory=None)
unordered_producers = confluent_producer_factory_fixture(topic_factory=None)
clients = []


@pytest.fixture
def spy(monkeypatch):
    real = topics.delete_topics

    def delete_topics(admin, names):
        seen = []
        for kind, client in clients:
            if kind == "consumer":
                try:
                    client.assignment()
                    seen.append("consumer open")
                except RuntimeError:
                    seen.append("consumer closed")
            else:
                seen.append(f"producer holds {len(client)}")
        with open("order.json", "a") as out:
            out.write(json.dumps(seen) + "\\n")
        clients.clear()
        return real(admin, names)

    monkeypatch.setattr(topics, "delete_topics", delete_topics)


def use(consumers, producers, topic):
    consumer = consumers(topic, **{"enable.auto.commit": False})
    consumer.poll(0.5)
    producer = producers(**{"linger.ms": 60000})
    producer.produce(topic, b"pending")
    clients.extend([("consumer", consumer), ("producer", producer)])


# The clients' factories are set up before the topic factory, so without the ordering
# the topic factory would tear down (delete the topics) first.
def test_fixtures(spy, confluent_consumer_factory, confluent_producer_factory,
                  kafka_topic_factory):
    use(confluent_consumer_factory, confluent_producer_factory, kafka_topic_factory())


def test_unordered(spy, unordered_consumers, unordered_producers, kafka_topic_factory):
    use(unordered_consumers, unordered_producers, kafka_topic_factory())
"""


def test_clients_are_done_before_the_tests_topics_are_deleted(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    """When the topic factory deletes the test's topics, the fixtures' consumers are
    closed and their producers flushed; factories declared without the ordering
    (``topic_factory=None``) show the check sees the difference."""
    pytester.makepyfile(test_order=TEARDOWN_ORDER)
    result = pytester.runpytest_inprocess(*local_backends, "-p", "no:randomly",
                                          "-W", "ignore::UserWarning")
    result.assert_outcomes(passed=2)
    seen = [json.loads(line) for line in (pytester.path / "order.json").read_text().splitlines()]
    assert seen == [
        ["consumer closed", "producer holds 0"],
        ["consumer open", "producer holds 1"],
    ]


MISSING_EXTRA = """
def test_producer(confluent_producer): pass
def test_producer_factory(confluent_producer_factory): pass
def test_consumer_factory(confluent_consumer_factory): pass
def test_admin(confluent_admin): pass
"""


def test_without_the_extra_the_fixtures_fail_with_the_install_line(
    pytester: pytest.Pytester, local_backends: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)
    monkeypatch.setitem(sys.modules, "confluent_kafka.admin", None)
    pytester.makepyfile(MISSING_EXTRA)
    result = pytester.runpytest_inprocess(*local_backends)
    result.assert_outcomes(errors=4)
    # one per fixture in the ERRORS section (the short summary repeats them when $CI is set)
    errors = [line for line in result.stdout.lines if line.startswith("the confluent_")]
    assert len(errors) == 4 and all(line.endswith(INSTALL_HINT) for line in errors), errors
    assert "kafka-patterns services" not in result.stdout.str(), "no broker was started"
