"""A topic that does not exist fails the same way in every helper that takes one:
:class:`~pytest_kafka_patterns.errors.TopicNotFound`, an ``AssertionError`` naming the
helper, the topic and the broker, with the fix."""

from __future__ import annotations

import importlib.util
import re
import time
from collections.abc import Callable
from typing import Literal

import pytest

from pytest_kafka_patterns import (
    KafkaPatternsError,
    TopicNotFound,
    assert_group_caught_up,
    assert_no_more_records,
    committed_offsets,
    group_progress,
    high_watermarks,
    read_topic,
)

MISSING = "no-such-topic-anywhere"
#: read_topic's confluent-kafka reader where the [confluent] extra is installed
CONFLUENT = "confluent-kafka" if importlib.util.find_spec("confluent_kafka") else "kafka-python"


def _helpers(servers: str) -> dict[str, Callable[[], object]]:
    return {
        "read_topic": lambda: read_topic(servers, MISSING, client="kafka-python"),
        "read_topic(isolation_level=read_uncommitted)": lambda: read_topic(
            servers, MISSING, isolation_level="read_uncommitted", client="kafka-python"),
        "read_topic(client=confluent-kafka)": lambda: read_topic(
            servers, MISSING, client=CONFLUENT),
        "read_topic(client=confluent-kafka, read_uncommitted)": lambda: read_topic(
            servers, MISSING, isolation_level="read_uncommitted", client=CONFLUENT),
        "high_watermarks": lambda: high_watermarks(servers, MISSING),
        "committed_offsets": lambda: committed_offsets(servers, "some-group", MISSING),
        "group_progress": lambda: group_progress(servers, "some-group", MISSING),
        "assert_group_caught_up": lambda: assert_group_caught_up(servers, "some-group", MISSING),
        "assert_no_more_records": lambda: assert_no_more_records(servers, MISSING, within=0.1),
    }


@pytest.mark.parametrize("helper", list(_helpers("")))
def test_every_helper_raises_topic_not_found(kafka_bootstrap_servers: str, helper: str) -> None:
    with pytest.raises(TopicNotFound) as caught:
        _helpers(kafka_bootstrap_servers)[helper]()
    assert isinstance(caught.value, AssertionError)
    assert caught.value.topic == MISSING
    message = str(caught.value)
    assert re.match(rf"^\w+: topic '{MISSING}' does not exist on {kafka_bootstrap_servers}\. "
                    r"Create it first", message), message


def test_the_kafka_read_fixture_raises_it_too(kafka_read: Callable[..., object]) -> None:
    with pytest.raises(TopicNotFound, match=rf"^read_topic: topic '{MISSING}' does not exist"):
        kafka_read(MISSING)


@pytest.mark.parametrize("client", ["kafka-python", CONFLUENT])
def test_read_topic_waits_for_the_topic_when_records_are_wanted(
    kafka_bootstrap_servers: str, client: Literal["kafka-python", "confluent-kafka"],
) -> None:
    started = time.monotonic()
    with pytest.raises(TopicNotFound, match=r"\(waited 0\.3 s for it\)"):
        read_topic(kafka_bootstrap_servers, MISSING, min_records=1, timeout=0.3, client=client)
    assert time.monotonic() - started >= 0.28


def test_an_existing_empty_topic_is_no_error(
    kafka_bootstrap_servers: str, kafka_topic: str
) -> None:
    assert read_topic(kafka_bootstrap_servers, kafka_topic, client="kafka-python") == []
    assert read_topic(kafka_bootstrap_servers, kafka_topic, client=CONFLUENT) == []
    assert set(high_watermarks(kafka_bootstrap_servers, kafka_topic).values()) == {0}
    assert committed_offsets(kafka_bootstrap_servers, "some-group", kafka_topic) == {}
    assert_no_more_records(kafka_bootstrap_servers, kafka_topic, within=0.1)


def test_read_topic_on_confluent_kafka_names_a_broker_that_does_not_answer() -> None:
    """librdkafka raises a bare KafkaException(_TRANSPORT); the read names the address."""
    pytest.importorskip("confluent_kafka")
    started = time.monotonic()
    with pytest.raises(KafkaPatternsError, match=r"^read_topic: the broker at 127\.0\.0\.1:1 "
                       r"gave no metadata for 'orders' within 1\.0 s .*Check that the broker"):
        read_topic("127.0.0.1:1", "orders", timeout=1.0, client="confluent-kafka")
    assert time.monotonic() - started < 5.0
