"""read_topic, expect_no_more and the group helpers against a real broker."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from pytest_kafka_patterns import (
    Record,
    committed_offsets,
    expect_no_more,
    group_progress,
    high_watermarks,
    read_topic,
    reading,
)

Read = Callable[..., list[Record]]
CLIENTS = ["kafka-python", "confluent-kafka"]


@pytest.fixture(params=CLIENTS)
def read_client(request: pytest.FixtureRequest) -> str:
    """Every read_topic test runs with each client (confluent-kafka: the [confluent] extra)."""
    if request.param == "confluent-kafka":
        pytest.importorskip("confluent_kafka")
    return str(request.param)


@pytest.fixture
def kafka_read(kafka_bootstrap_servers: str, read_client: str) -> Read:
    """The plugin's kafka_read, on the client this run of the test reads with."""
    return partial(read_topic, kafka_bootstrap_servers, client=read_client)


def later(delay: float, action: Callable[[], Any]) -> threading.Thread:
    thread = threading.Timer(delay, action)
    thread.start()
    return thread


@pytest.fixture
def commit(kafka_bootstrap_servers: str) -> Iterator[Callable[[str, str, dict[int, int]], None]]:
    """Commit offsets for a group without joining it (no ~1 s rebalance)."""
    made: list[KafkaConsumer] = []

    def do(group: str, topic: str, offsets: dict[int, int]) -> None:
        consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap_servers, group_id=group,
                                 enable_auto_commit=False)
        made.append(consumer)
        consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "", -1)
                         for p, o in offsets.items()})

    yield do
    for consumer in made:
        consumer.close()


def test_empty_topic_reads_promptly(kafka_topic: str, kafka_read: Read) -> None:
    started = time.monotonic()
    assert kafka_read(kafka_topic) == []
    assert time.monotonic() - started < 1.0


def test_every_partition_by_partition_then_offset_decoded(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    for p in (2, 0, 1, 0):
        kafka_producer.send(kafka_topic, key=f"k{p}", value={"p": p}, partition=p)
    kafka_producer.send(kafka_topic, key=b"\xff\xfe", value=b"\x00not json", partition=1,
                        headers=[("error", b"boom"), ("retry_count", b"3")])
    kafka_producer.send(kafka_topic, key="gone", value=None, partition=2)
    kafka_producer.flush()
    records = kafka_read(kafka_topic, min_records=6)
    assert [(r.partition, r.offset) for r in records] == [
        (0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    first = records[0]
    assert (first.topic, first.key, first.value, first.headers) == (kafka_topic, "k0", {"p": 0}, [])
    assert first.timestamp > 1_600_000_000_000
    assert first.where == f"{kafka_topic}[0]@0"
    raw = records[3]
    assert (raw.key, raw.value) == (b"\xff\xfe", b"\x00not json")
    assert raw.headers == [("error", b"boom"), ("retry_count", b"3")]
    assert records[5].value is None


def send_with_null_header(bootstrap_servers: str, topic: str, headers: list[Any]) -> None:
    """kafka-python's producer refuses a null header value (other clients allow it)."""
    from aiokafka import AIOKafkaProducer

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b'{"n": 0}', partition=0, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(send())


def test_headers_keep_order_repeats_and_nulls(
    kafka_topic: str, kafka_bootstrap_servers: str, kafka_read: Read
) -> None:
    """Issue 10 (1): a dict kept only the last repeat and turned a null value into b""."""
    send_with_null_header(kafka_bootstrap_servers, kafka_topic,
                          [("e", b"1"), ("e", b"2"), ("t", None)])
    (record,) = kafka_read(kafka_topic, min_records=1)
    assert record.headers == [("e", b"1"), ("e", b"2"), ("t", None)]
    assert (record.header("e"), record.header("t"), record.header("x")) == (b"2", None, None)
    assert record.header("x", b"default") == b"default"
    assert record.header("t", b"default") is None  # present, and null


@pytest.fixture
def transactional(kafka_bootstrap_servers: str, kafka_topic: str) -> Iterator[KafkaProducer]:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap_servers,
                             transactional_id=f"tx-{kafka_topic}")
    producer.init_transactions()
    yield producer
    producer.close()


def send_in_transaction(producer: KafkaProducer, topic: str, *values: bytes,
                        end: str | None = "commit") -> None:
    producer.begin_transaction()
    for value in values:
        producer.send(topic, value, partition=0)
    producer.flush()
    if end == "commit":
        producer.commit_transaction()
    elif end == "abort":
        producer.abort_transaction()


@pytest.mark.kafka_requires("transactions")
def test_reads_committed_by_default_on_every_broker(
    kafka_topic: str, transactional: KafkaProducer, kafka_producer: KafkaProducer,
    kafka_read: Read,
) -> None:
    """Issue 10 (2): aborted records are computed away from the log's markers (Tansu keeps
    them visible to read_committed consumers); markers are never records."""
    send_in_transaction(transactional, kafka_topic, b'"c1"', b'"c2"')  # 0-1, COMMIT at 2
    send_in_transaction(transactional, kafka_topic, b'"a1"', end="abort")  # 3, ABORT at 4
    kafka_producer.send(kafka_topic, value="plain", partition=0).get(10)  # 5
    committed = kafka_read(kafka_topic)
    assert [(r.offset, r.value) for r in committed] == [(0, "c1"), (1, "c2"), (5, "plain")]
    everything = kafka_read(kafka_topic, isolation_level="read_uncommitted")
    assert [(r.offset, r.value) for r in everything] == [
        (0, "c1"), (1, "c2"), (3, "a1"), (5, "plain")]
    started = time.monotonic()  # aborted records do not count towards min_records
    assert len(kafka_read(kafka_topic, min_records=4, timeout=0.5)) == 3
    assert time.monotonic() - started >= 0.45

    send_in_transaction(transactional, kafka_topic, b'"open"', end=None)  # 6, still open
    kafka_producer.send(kafka_topic, value="after", partition=0).get(10)  # 7
    assert [r.value for r in kafka_read(kafka_topic)] == ["c1", "c2", "plain"]  # stable only
    transactional.commit_transaction()  # COMMIT at 8
    assert [r.value for r in kafka_read(kafka_topic)] == ["c1", "c2", "plain", "open", "after"]
    with pytest.raises(ValueError, match="isolation_level must be one of"):
        kafka_read(kafka_topic, isolation_level="read_committed ")


@pytest.mark.kafka_requires("transactions")
def test_expect_no_more_ignores_aborted_records(
    kafka_topic: str, transactional: KafkaProducer, kafka_bootstrap_servers: str,
) -> None:
    later(0.1, lambda: send_in_transaction(transactional, kafka_topic, b'"x"', end="abort"))
    expect_no_more(kafka_bootstrap_servers, kafka_topic, after={0: 0}, within=0.8)
    with pytest.raises(AssertionError, match=r"1 new record\(s\)"):
        expect_no_more(kafka_bootstrap_servers, kafka_topic, after={0: 0}, within=0.5,
                       isolation_level="read_uncommitted")


def test_waits_for_min_records_then_returns(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    kafka_producer.send(kafka_topic, value={"n": 0}).get(10)
    late = later(0.3, lambda: [kafka_producer.send(kafka_topic, value={"n": 1}),
                               kafka_producer.flush()])
    started = time.monotonic()
    records = kafka_read(kafka_topic, min_records=2, timeout=10)
    late.join()
    assert sorted(r.value["n"] for r in records) == [0, 1]
    assert time.monotonic() - started < 3.0


def test_timeout_returns_what_arrived(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    kafka_producer.send(kafka_topic, value={"n": 0}).get(10)
    started = time.monotonic()
    records = kafka_read(kafka_topic, min_records=5, timeout=0.4)
    assert [r.value for r in records] == [{"n": 0}]
    assert 0.35 < time.monotonic() - started < 2.0


def test_end_comes_from_fetch_high_watermark_not_list_offsets(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_bootstrap_servers: str,
    monkeypatch: pytest.MonkeyPatch, kafka_read: Read,
) -> None:
    for n in range(7):  # several records in one batch: Tansu's ListOffsets "latest" is wrong
        kafka_producer.send(kafka_topic, value={"n": n}, partition=0)
    kafka_producer.flush()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("end_offsets (ListOffsets latest) must not be used")

    monkeypatch.setattr(KafkaConsumer, "end_offsets", forbidden)
    records = kafka_read(kafka_topic)  # min_records=0: end by HW only
    assert [r.value["n"] for r in records] == list(range(7))
    assert high_watermarks(kafka_bootstrap_servers, kafka_topic) == {0: 7, 1: 0, 2: 0}


def test_read_ends_at_the_high_watermark_not_at_the_first_poll(
    kafka_topic: str, kafka_producer: KafkaProducer, monkeypatch: pytest.MonkeyPatch,
    kafka_read: Read,
) -> None:
    """Issue 12: with ``min_records=0`` only the high watermarks tell the read it is done.
    Polls hand over two records at a time here, so a read that stopped before every
    partition's position reached its high watermark would miss records."""
    for n in range(12):
        kafka_producer.send(kafka_topic, value={"n": n}, partition=n % 3)
    kafka_producer.flush()
    monkeypatch.setattr(reading, "MAX_POLL_RECORDS", 2)
    records = kafka_read(kafka_topic)
    assert sorted(r.value["n"] for r in records) == list(range(12))
    assert [(r.partition, r.offset) for r in records] == [
        (p, offset) for p in range(3) for offset in range(4)]


def test_expect_no_more_passes_when_quiet(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_read: Read,
    kafka_expect_no_more: Callable[..., None],
) -> None:
    kafka_producer.send(kafka_topic, value={"n": 0}).get(10)
    seen = kafka_read(kafka_topic, min_records=1)
    started = time.monotonic()
    kafka_expect_no_more(kafka_topic, after=seen, within=0.3)
    kafka_expect_no_more(kafka_topic, within=0.3)  # baseline: high watermarks now
    assert 0.55 < time.monotonic() - started < 3.0


def test_expect_no_more_fails_as_soon_as_a_record_lands(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_bootstrap_servers: str,
) -> None:
    kafka_producer.send(kafka_topic, key="u1", value={"n": 0}, partition=1).get(10)
    late = later(0.2, lambda: kafka_producer.send(kafka_topic, key="u1", value={"n": 1},
                                                  partition=1).get(10))
    started = time.monotonic()
    with pytest.raises(AssertionError) as info:
        expect_no_more(kafka_bootstrap_servers, kafka_topic, within=5.0)
    late.join()
    assert time.monotonic() - started < 2.5
    assert str(info.value) == (
        f"expect_no_more: 1 new record(s) on {kafka_topic!r} within 5 s after offsets "
        f"p0=0 p1=1 p2=0\n  arrived (1):\n    - {kafka_topic}[1]@1 key='u1' {{\"n\": 1}}"
    )


def test_expect_no_more_after_records_sees_what_came_since(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_read: Read,
    kafka_expect_no_more: Callable[..., None],
) -> None:
    kafka_producer.send(kafka_topic, value={"n": 0}, partition=0).get(10)
    seen = kafka_read(kafka_topic, min_records=1)
    kafka_producer.send(kafka_topic, value={"n": 1}, partition=2).get(10)
    with pytest.raises(AssertionError, match=r"\[2\]@0 key=None \{\"n\": 1\}"):
        kafka_expect_no_more(kafka_topic, after=seen, within=0.5)


def test_group_offsets_and_progress(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_bootstrap_servers: str,
    commit: Callable[[str, str, dict[int, int]], None],
) -> None:
    for n in range(3):
        kafka_producer.send(kafka_topic, key="a", value={"n": n}, partition=0)
    kafka_producer.flush()
    assert committed_offsets(kafka_bootstrap_servers, "g-reading", kafka_topic) == {}
    commit("g-reading", kafka_topic, {0: 1, 1: 0})
    assert committed_offsets(kafka_bootstrap_servers, "g-reading", kafka_topic) == {0: 1, 1: 0}
    p0, p1, p2 = group_progress(kafka_bootstrap_servers, "g-reading", kafka_topic)
    assert (p0.committed, p0.high_watermark, p0.lag) == (1, 3, 2)
    assert p0.pending is not None and (p0.pending.offset, p0.pending.value) == (1, {"n": 1})
    assert (p1.committed, p1.lag, p1.pending) == (0, 0, None)
    assert (p2.committed, p2.lag) == (None, 0)


def forbid_kafka_python(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("read_topic fell back to kafka-python")

    monkeypatch.setattr(reading, "_read_with_kafka_python", forbidden)


def test_confluent_kafka_reads_a_log_without_transactions_by_itself(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_bootstrap_servers: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 11: with the [confluent] extra installed, ``auto`` reads with librdkafka, and
    a log without transaction markers never needs kafka-python (both isolation levels)."""
    pytest.importorskip("confluent_kafka")
    for n in range(9):
        kafka_producer.send(kafka_topic, key=f"u{n}", value={"n": n}, partition=n % 3)
    kafka_producer.flush()
    forbid_kafka_python(monkeypatch)
    for isolation_level in reading.ISOLATION_LEVELS:
        records = read_topic(kafka_bootstrap_servers, kafka_topic, min_records=9,
                             isolation_level=isolation_level)  # type: ignore[arg-type]
        assert [(r.partition, r.offset, r.value["n"]) for r in records] == [
            (p, offset, p + 3 * offset) for p in range(3) for offset in range(3)]


@pytest.mark.kafka_requires("transactions")
def test_confluent_kafka_stops_at_an_open_transaction_by_the_last_stable_offset(
    kafka_topic: str, transactional: KafkaProducer, kafka_producer: KafkaProducer,
    kafka_bootstrap_servers: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transaction still open has no marker yet, so the offsets do not skip: the read
    must end at the last stable offset of the Fetch answers (KIP-98), without kafka-python."""
    pytest.importorskip("confluent_kafka")
    send_in_transaction(transactional, kafka_topic, b'"open"', end=None)  # 0, open
    kafka_producer.send(kafka_topic, value="after", partition=0).get(10)  # 1
    kafka_producer.send(kafka_topic, value="elsewhere", partition=1).get(10)
    forbid_kafka_python(monkeypatch)
    committed = read_topic(kafka_bootstrap_servers, kafka_topic, client="confluent-kafka")
    assert [(r.partition, r.value) for r in committed] == [(1, "elsewhere")]
    everything = read_topic(kafka_bootstrap_servers, kafka_topic, client="confluent-kafka",
                            isolation_level="read_uncommitted")
    assert [r.value for r in everything] == ["open", "after", "elsewhere"]
    transactional.abort_transaction()  # ABORT at 2: the offsets skip now
    with pytest.raises(AssertionError, match="fell back to kafka-python"):
        read_topic(kafka_bootstrap_servers, kafka_topic, client="confluent-kafka")
    monkeypatch.undo()
    assert [r.value for r in read_topic(kafka_bootstrap_servers, kafka_topic,
                                        client="confluent-kafka")] == ["after", "elsewhere"]


def test_after_waiting_for_min_records_the_read_still_ends_at_the_high_watermark(
    kafka_topic: str, kafka_bootstrap_servers: str, monkeypatch: pytest.MonkeyPatch,
    kafka_read: Read,
) -> None:
    """Every partition was at its end (empty) before the records came: the read must not
    stop at the first record of the wait, but at the new end. Two records per poll; the
    ten records land in one batch (one append: the high watermark goes from 0 to 10)."""
    batching = KafkaProducer(bootstrap_servers=kafka_bootstrap_servers, linger_ms=60_000)

    def send() -> None:
        for n in range(10):
            batching.send(kafka_topic, value=b'{"n": %d}' % n, partition=0)
        batching.flush()

    late = later(0.3, send)
    monkeypatch.setattr(reading, "MAX_POLL_RECORDS", 2)
    records = kafka_read(kafka_topic, min_records=1, timeout=10)
    late.join()
    batching.close()
    assert [r.value["n"] for r in records] == list(range(10))


def test_confluent_kafka_leaves_a_read_committed_timeout_to_kafka_python(
    kafka_topic: str, kafka_producer: KafkaProducer, kafka_bootstrap_servers: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Timed out before a partition's end, librdkafka cannot show that the records it read
    so far belong to no aborted transaction; read_uncommitted needs no such proof."""
    pytest.importorskip("confluent_kafka")
    kafka_producer.send(kafka_topic, value={"n": 0}, partition=0).get(10)
    forbid_kafka_python(monkeypatch)
    with pytest.raises(AssertionError, match="fell back to kafka-python"):
        read_topic(kafka_bootstrap_servers, kafka_topic, timeout=0.0, client="confluent-kafka")
    read_topic(kafka_bootstrap_servers, kafka_topic, timeout=0.0, client="confluent-kafka",
               isolation_level="read_uncommitted")
