"""Read what is really on a topic, and what a consumer group has really committed.

Everything here reads with manually assigned partitions (no consumer group, so no
rebalance wait) and decides "end of partition" by the high watermark that Fetch
responses carry. ListOffsets "latest" (``KafkaConsumer.end_offsets``) is never used:
some Kafka-protocol brokers (Tansu 0.6) answer it with a wrong offset.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from .clients import json_deserializer, key_deserializer

#: How long the broker may hold a Fetch for a partition with nothing new. Short, so an
#: empty topic (high watermark 0 everywhere) reads in a few tens of milliseconds.
FETCH_MAX_WAIT_MS = 25
#: Records handed over per ``poll``; large, so per-poll overhead stays negligible.
MAX_POLL_RECORDS = 5000
#: Bytes fetched per partition per request (kafka-python's default is 1 MiB).
MAX_PARTITION_FETCH_BYTES = 4 * 1024 * 1024
#: kafka-python checks CRC-32C in pure Python unless the ``crc32c`` package is installed,
#: which costs more than half of a read; a test reading its own broker skips it.
CHECK_CRCS = False
#: How long one ``poll`` may block before the loop re-checks watermarks and deadlines.
POLL_MS = 50


#: One record header as Kafka clients give it: ``(key, value)``, the value ``None`` when null.
Header = tuple[str, bytes | None]
#: What :func:`last_header` accepts: a record (or look-alike with ``headers``), a list of
#: ``(key, value)`` pairs, or a mapping (records built by hand in older tests).
HeaderSource = Any
_D = TypeVar("_D")


def last_header(source: HeaderSource, name: str, default: _D | None = None) -> bytes | _D | None:
    """The value of the last header called ``name`` (Kafka keeps repeats, in order), which
    may be ``None`` (a null header); ``default`` when there is no such header.

    ``source`` is a :class:`Record` or anything with ``headers`` (e.g. kafka-python's
    ``ConsumerRecord``), a list of ``(key, value)`` pairs, or a mapping.
    """
    headers = getattr(source, "headers", source)
    if not headers:
        return default
    if isinstance(headers, Mapping):
        return headers.get(name, default)  # type: ignore[no-any-return]
    found: Any = default
    for key, value in headers:
        if key == name:
            found = value
    return found  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Record:
    """One record as a test sees it: decoded key and value, headers as Kafka gives them."""

    topic: str
    partition: int
    offset: int
    key: str | bytes | None
    """UTF-8-decoded key, the raw bytes when they are not UTF-8, or ``None``."""
    value: Any
    """JSON-decoded value, the raw bytes when they are not JSON, or ``None`` (tombstone)."""
    headers: list[Header] = field(default_factory=list)
    """``(key, value)`` pairs in produce order: repeated keys kept, a null value is ``None``.
    :meth:`header` gives the last value of one."""
    timestamp: int = -1
    """Record timestamp in milliseconds since the epoch (-1 when the broker has none)."""

    def header(self, name: str, default: _D | None = None) -> bytes | _D | None:
        """The last value of header ``name`` (``None`` when null), else ``default``."""
        return last_header(self.headers, name, default)

    @property
    def where(self) -> str:
        """``topic[partition]@offset``, as failure messages print it."""
        return f"{self.topic}[{self.partition}]@{self.offset}"


#: Keys and values decode exactly as the consumer fixtures decode them.
decode_key = key_deserializer
decode_value = json_deserializer


def _record(raw: Any, _new: Any = object.__new__) -> Record:
    """A Record from a kafka-python ConsumerRecord (with undecoded key and value).

    Fills the instance dict directly: a frozen dataclass's ``__init__`` pays one
    ``object.__setattr__`` per field, which is a measurable share of a 100k-record read.
    """
    record: Record = _new(Record)
    fields = record.__dict__
    fields["topic"] = raw.topic
    fields["partition"] = raw.partition
    fields["offset"] = raw.offset
    fields["key"] = decode_key(raw.key)
    fields["value"] = decode_value(raw.value)
    fields["headers"] = list(raw.headers) if raw.headers else []
    fields["timestamp"] = raw.timestamp if raw.timestamp is not None else -1
    return record


def _reader(bootstrap_servers: str, group_id: str | None = None) -> KafkaConsumer:
    """A consumer for manual assignment only: it never joins a group or commits."""
    return KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        max_poll_records=MAX_POLL_RECORDS,
        max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
        check_crcs=CHECK_CRCS,
        client_id="pytest-kafka-patterns-reader",
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a read piles up records.

    Every record adds long-lived objects, so collections keep re-scanning the growing
    heap: with the collector running, reading 100k records takes ~1.7x as long.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _partitions(consumer: KafkaConsumer, topic: str, deadline: float, wait: bool) -> list[int]:
    """The topic's partition ids; with ``wait``, retry until the topic exists or time is up."""
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions or not wait or time.monotonic() >= deadline:
            return sorted(partitions or ())
        time.sleep(0.05)


def _poll_ms(deadline: float) -> int:
    return max(0, min(POLL_MS, int((deadline - time.monotonic()) * 1000)))


def _at_end(consumer: KafkaConsumer, tps: Iterable[TopicPartition]) -> bool:
    """True when every partition's position has reached its last Fetch high watermark."""
    for tp in tps:
        highwater = consumer.highwater(tp)
        if highwater is None or consumer.position(tp) < highwater:
            return False
    return True


def read_topic(
    bootstrap_servers: str, topic: str, *, min_records: int = 0, timeout: float = 10.0
) -> list[Record]:
    """Every record of ``topic``, ordered by partition then offset.

    Reads each partition from its beginning without a consumer group, with the cyclic GC
    paused (see :func:`gc_paused`). Returns once at least ``min_records`` records arrived
    and every partition is read up to the high watermark of its latest Fetch; or, when
    ``timeout`` seconds pass, with what arrived (the assertions then report the shortfall).
    A topic that does not exist reads as empty (after waiting up to ``timeout`` for it to
    appear when ``min_records`` > 0).
    """
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    consumer = _reader(bootstrap_servers)
    try:
        partitions = _partitions(consumer, topic, deadline, wait=min_records > 0)
        by_partition: dict[int, list[Record]] = {partition: [] for partition in partitions}
        if not partitions:
            return []
        tps = [TopicPartition(topic, partition) for partition in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        count = 0
        with gc_paused():
            while True:
                batches = consumer.poll(timeout_ms=_poll_ms(deadline))
                for tp, raws in batches.items():
                    by_partition[tp.partition].extend(map(_record, raws))
                    count += len(raws)
                if count >= min_records and _at_end(consumer, tps):
                    break
                if time.monotonic() >= deadline:
                    break
    finally:
        consumer.close()
    return [record for partition in partitions for record in by_partition[partition]]


def _next_offsets(
    topic: str, partitions: Sequence[int], after: Sequence[Record] | Mapping[int, int]
) -> dict[int, int]:
    if isinstance(after, Mapping):
        return {partition: int(after.get(partition, 0)) for partition in partitions}
    offsets = dict.fromkeys(partitions, 0)
    for record in after:
        if record.topic == topic and record.partition in offsets:
            offsets[record.partition] = max(offsets[record.partition], record.offset + 1)
    return offsets


def _fetch_high_watermarks(
    consumer: KafkaConsumer, tps: Sequence[TopicPartition], deadline: float
) -> dict[int, int]:
    """Poll until each assigned partition has answered a Fetch; its high watermarks."""
    __tracebackhide__ = True
    while True:
        known = {tp.partition: consumer.highwater(tp) for tp in tps}
        if all(mark is not None for mark in known.values()):
            return {partition: int(mark) for partition, mark in known.items()}
        if time.monotonic() >= deadline:
            silent = sorted(partition for partition, mark in known.items() if mark is None)
            raise TimeoutError(
                f"no Fetch response for {tps[0].topic} partitions {silent} before the deadline"
            )
        consumer.poll(timeout_ms=_poll_ms(deadline))


def expect_no_more(
    bootstrap_servers: str,
    topic: str,
    *,
    after: Sequence[Record] | Mapping[int, int] | None = None,
    within: float = 1.0,
) -> None:
    """Fail if a record lands on ``topic`` beyond ``after`` within ``within`` seconds.

    ``after`` is what the test already saw: the records :func:`read_topic` returned
    (partitions without any are taken as empty) or ``{partition: next offset}``.
    Without it, the baseline is each partition's high watermark right now. The check
    long-polls Fetch from the baseline, so it fails as soon as a record arrives and
    otherwise returns after ``within`` seconds.
    """
    __tracebackhide__ = True
    consumer = _reader(bootstrap_servers)
    try:
        partitions = _partitions(consumer, topic, time.monotonic(), wait=False)
        if not partitions:
            raise AssertionError(f"expect_no_more: topic {topic!r} does not exist")
        tps = [TopicPartition(topic, partition) for partition in partitions]
        consumer.assign(tps)
        if after is None:
            for tp in tps:
                consumer.seek(tp, 0)
            baseline = _fetch_high_watermarks(consumer, tps, time.monotonic() + 10.0)
        else:
            baseline = _next_offsets(topic, partitions, after)
        for tp in tps:
            consumer.seek(tp, baseline[tp.partition])
        deadline = time.monotonic() + within
        arrived: list[Record] = []
        while not arrived and time.monotonic() < deadline:
            for raws in consumer.poll(timeout_ms=_poll_ms(deadline)).values():
                arrived.extend(map(_record, raws))
    finally:
        consumer.close()
    if arrived:
        from .assertions import formatting

        arrived.sort(key=lambda record: (record.partition, record.offset))
        raise AssertionError(
            formatting.failure(
                f"expect_no_more: {len(arrived)} new record(s) on {topic!r} within "
                f"{within:g} s after offsets {formatting.offsets(baseline)}",
                ("arrived", [formatting.describe_record(record) for record in arrived]),
            )
        )


@dataclass(frozen=True)
class PartitionProgress:
    """Where a consumer group stands on one partition."""

    partition: int
    committed: int | None
    """The group's committed offset (the next record it will read), ``None`` if none."""
    high_watermark: int
    """The partition's end, from a Fetch response."""
    pending: Record | None = None
    """The first record at or after ``committed``, when there is one."""

    @property
    def lag(self) -> int:
        """Records the group has not committed yet (negative: committed past the end)."""
        return self.high_watermark - (self.committed or 0)


def committed_offsets(
    bootstrap_servers: str, group_id: str, topic: str, *, admin: Any = None
) -> dict[int, int]:
    """The group's committed offsets on ``topic``, by partition (absent: never committed).

    Uses the admin OffsetFetch API (``list_group_offsets`` in kafka-python 3,
    ``list_consumer_group_offsets`` in 2.x); no consumer joins the group.
    """
    __tracebackhide__ = True
    own = admin is None
    client = KafkaAdminClient(bootstrap_servers=bootstrap_servers) if own else admin
    try:
        if hasattr(client, "list_group_offsets"):
            offsets = client.list_group_offsets({group_id: None}).get(group_id, {})
        else:  # kafka-python 2.x: name the partitions (some brokers reject "all topics")
            offsets = client.list_consumer_group_offsets(
                group_id, partitions=_topic_partitions(bootstrap_servers, topic)
            )
    finally:
        if own:
            client.close()
    return {
        tp.partition: meta.offset
        for tp, meta in offsets.items()
        if tp.topic == topic and meta.offset is not None and meta.offset >= 0
    }


def _topic_partitions(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    consumer = _reader(bootstrap_servers)
    try:
        partitions = consumer.partitions_for_topic(topic) or ()
        return [TopicPartition(topic, p) for p in sorted(partitions)]
    finally:
        consumer.close()


def high_watermarks(bootstrap_servers: str, topic: str, *, timeout: float = 10.0) -> dict[int, int]:
    """Each partition's high watermark (end offset), as Fetch responses report it."""
    __tracebackhide__ = True
    return {p.partition: p.high_watermark for p in _progress(bootstrap_servers, topic, {}, timeout)}


def group_progress(
    bootstrap_servers: str, group_id: str, topic: str, *, timeout: float = 10.0
) -> list[PartitionProgress]:
    """Committed offset, high watermark and first pending record of each partition."""
    __tracebackhide__ = True
    committed = committed_offsets(bootstrap_servers, group_id, topic)
    return _progress(bootstrap_servers, topic, committed, timeout)


def _progress(
    bootstrap_servers: str, topic: str, committed: Mapping[int, int], timeout: float
) -> list[PartitionProgress]:
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    consumer = _reader(bootstrap_servers)
    try:
        partitions = _partitions(consumer, topic, deadline, wait=False)
        if not partitions:
            raise ValueError(f"topic {topic!r} does not exist on {bootstrap_servers}")
        tps = [TopicPartition(topic, partition) for partition in partitions]
        consumer.assign(tps)
        first: dict[int, Record] = {}
        for tp in tps:
            consumer.seek(tp, committed.get(tp.partition, 0))
        while True:
            for tp, raws in consumer.poll(timeout_ms=_poll_ms(deadline)).items():
                if raws and tp.partition not in first:
                    first[tp.partition] = _record(raws[0])
                consumer.pause(tp)  # one Fetch answer per partition is all we need
            marks = {tp.partition: consumer.highwater(tp) for tp in tps}
            if all(mark is not None for mark in marks.values()):
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no Fetch response for every partition of {topic!r}")
    finally:
        consumer.close()
    return [
        PartitionProgress(
            partition,
            committed.get(partition),
            int(marks[partition] or 0),
            first.get(partition),
        )
        for partition in partitions
    ]
