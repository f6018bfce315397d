"""The public API as a type checker sees it from a user's test: the fixtures' factories
are typed callables (``fixture_types``), ``scope`` is pytest's literal, the assertions
take ``RecordLike`` records. One mypy --strict run over a user-style file: the right calls
pass, and each wrong one (marked ``# WRONG``) is reported, on its line."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

USER_TEST = '''
from pytest_kafka_patterns import Record, RecordLike, assert_delivered, assert_ordered_by_key
from pytest_kafka_patterns.fixture_types import (
    ConsumerFactory, NoMoreCheck, ProducerFactory, TopicFactory, TopicReader,
)
from pytest_kafka_patterns.fixtures import kafka_broker_fixture

second_broker = kafka_broker_fixture(scope="module", backend="embedded")
third_broker = kafka_broker_fixture(scope="modul")  # WRONG


def test_orders(kafka_topic_factory: TopicFactory, kafka_producer_factory: ProducerFactory,
                kafka_consumer_factory: ConsumerFactory, kafka_read: TopicReader,
                kafka_expect_no_more: NoMoreCheck) -> None:
    topic: str = kafka_topic_factory("orders", partitions=1, retention_ms=1000)
    kafka_producer_factory(acks=1).send(topic, value={"event_id": "a"})
    kafka_consumer_factory(topic, group_id="g")
    records: list[Record] = kafka_read(topic, min_records=1, timeout=5.0)
    first: RecordLike = records[0]
    assert_delivered(records, ["a"], exactly_once=True)
    assert_ordered_by_key(records, [first])
    kafka_expect_no_more(topic, after=records, within=0.5)
    kafka_topic_factory(partitions="3")  # WRONG
    kafka_read(topic, min_records="1")  # WRONG
    kafka_expect_no_more(topic, within="soon")  # WRONG
    kafka_consumer_factory(topic, group_id=7)  # WRONG
    assert_ordered_by_key([{"key": "k"}])  # WRONG
'''


def test_right_calls_pass_and_each_wrong_call_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "test_user.py"
    path.write_text(USER_TEST)
    out, err, _ = api.run(["--strict", "--ignore-missing-imports",
                                "--cache-dir", str(tmp_path / ".mypy"), str(path)])
    wrong = {n for n, line in enumerate(USER_TEST.splitlines(), 1) if "# WRONG" in line}
    reported = {int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line}
    assert reported == wrong, out + err
