"""read_topic's records through confluent-kafka (librdkafka), when it is installed.

One job: read every record of a topic from each partition's start up to its end into
:class:`~.records.Record` objects, as :func:`~.reading.read_topic` does with
kafka-python, only faster (librdkafka parses Fetch answers in C). The end of a
partition is where librdkafka signals ``_PARTITION_EOF`` (``enable.partition.eof``):
the high watermark of the latest Fetch answer, or for ``isolation.level=read_committed``
its last stable offset (librdkafka's CONFIGURATION.md, and KIP-98 for the LSO).
ListOffsets "latest" is never asked (Tansu 0.6 answers it wrongly).

What librdkafka cannot tell: a broker that does not hide aborted records (Tansu 0.6)
hands them to a ``read_committed`` consumer as if committed, and librdkafka shows no batch
headers (producer id, transactional flag) to tell them apart. So a ``read_committed`` read
stops as soon as a partition's offsets skip (a transaction marker, an aborted record a
correct broker left out, or compaction) and returns :data:`NEEDS_LOG_SCAN`;
:func:`~.reading.read_topic` then reads the topic with kafka-python, which computes the
transactions from the log's batch headers. Every transaction that ended before the last
stable offset left a marker there, and the read goes on to that offset, so a partition
read to its end without a skip holds no aborted record; an open transaction lies past
its last stable offset. A ``read_committed`` read that times out before a partition's
end cannot know that of what it read, so it answers :data:`NEEDS_LOG_SCAN` too.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from .errors import KafkaPatternsError, TopicNotFound
from .records import Record, ValueDeserializer, decode_key, decode_value, deserialized
from .waiting import poll

#: Returned instead of records when a ``read_committed`` read met a partition whose
#: offsets skip (the log holds transactions, or gaps), or timed out before a partition's
#: end: only kafka-python's reader can tell aborted records apart there.
NEEDS_LOG_SCAN: Final = "needs a log scan"

LOGGER = logging.getLogger(__name__)
_EOF = KafkaError._PARTITION_EOF
_NOT_AVAILABLE = 0  # confluent_kafka.TIMESTAMP_NOT_AVAILABLE


def reader_config(
    bootstrap_servers: str, *, committed: bool, fetch_max_wait_ms: int,
    max_partition_fetch_bytes: int,
) -> dict[str, Any]:
    """librdkafka settings of the reader: assignment only (the group id is required by
    confluent-kafka, never joined or committed to), EOF events on, no CRC checks."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "group.id": "pytest-kafka-patterns-reader",
        "client.id": "pytest-kafka-patterns-reader",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "isolation.level": "read_committed" if committed else "read_uncommitted",
        "fetch.wait.max.ms": fetch_max_wait_ms,
        "max.partition.fetch.bytes": max_partition_fetch_bytes,
        "check.crcs": False,
        # librdkafka's own log lines (a refused connection...) go to logging, which
        # pytest captures, not straight to stderr
        "logger": LOGGER,
    }


def _partitions(consumer: Consumer, topic: str, bootstrap_servers: str, deadline: float,
                wait: bool) -> list[int]:
    """The topic's partition ids; with ``wait``, until it exists or time is up.
    :class:`~.errors.TopicNotFound` naming ``read_topic`` when it does not exist."""
    __tracebackhide__ = True

    def ask() -> list[int]:
        waited = max(1.0, deadline - time.monotonic())
        try:
            metadata = consumer.list_topics(topic, timeout=waited).topics.get(topic)
        except KafkaException as exc:
            raise KafkaPatternsError(
                f"read_topic: the broker at {bootstrap_servers} gave no metadata for "
                f"{topic!r} within {waited:.1f} s ({exc.args[0] if exc.args else exc}). "
                "Check that the broker runs and the address is right."
            ) from None
        if metadata is None or metadata.error is not None:
            return []
        return sorted(metadata.partitions)

    timeout = max(0.0, deadline - time.monotonic()) if wait else 0.0
    polled = poll(ask, timeout=timeout, interval=0.05)
    if not polled.value:
        raise TopicNotFound("read_topic", topic, bootstrap_servers, timeout)
    return polled.value


def read_records(
    bootstrap_servers: str,
    topic: str,
    *,
    min_records: int,
    deadline: float,
    committed: bool,
    value_deserializer: ValueDeserializer | None,
    batch: int,
    poll_ms: int,
    fetch_max_wait_ms: int,
    max_partition_fetch_bytes: int,
) -> list[Record] | str:
    """Every record of ``topic`` by partition then offset, read until at least
    ``min_records`` arrived and every partition signalled its end, or until ``deadline``
    (``time.monotonic()``) with what arrived; or :data:`NEEDS_LOG_SCAN` (``committed``
    only) as soon as a partition's offsets skip, or at the deadline with a partition not
    read to its end.

    ``batch``: most records taken per ``consume`` call; ``poll_ms``: longest wait for
    one when none is queued.
    Raises :class:`~.errors.TopicNotFound` (at once, or after waiting for the topic
    until ``deadline`` when ``min_records`` > 0), ``AssertionError`` naming the record
    for a value ``value_deserializer`` cannot decode, :class:`KafkaPatternsError` for a
    broker that gives no metadata, or a fatal client error.
    """
    __tracebackhide__ = True
    consumer = Consumer(reader_config(
        bootstrap_servers, committed=committed, fetch_max_wait_ms=fetch_max_wait_ms,
        max_partition_fetch_bytes=max_partition_fetch_bytes,
    ))
    try:
        partitions = _partitions(consumer, topic, bootstrap_servers, deadline, min_records > 0)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        by_partition: dict[int, list[Record]] = {p: [] for p in partitions}
        at_end = dict.fromkeys(partitions, False)
        #: the offset each partition's next record, or its end, must have for a committed
        #: read (None: no record yet; the first may be anywhere from the log start)
        expected: dict[int, int | None] = dict.fromkeys(partitions)
        #: each partition's offset after its last record read (-1: none read)
        after = dict.fromkeys(partitions, -1)
        tps = {p: TopicPartition(topic, p) for p in partitions}
        count = 0
        while True:
            # Any: the stubs allow None partitions and offsets, which messages of an
            # assigned partition never have. consume() blocks until ``batch`` messages
            # or its timeout, so it only drains what is queued; poll() waits for one.
            messages: list[Any] = consumer.consume(num_messages=batch, timeout=0)
            if not messages:
                timeout = max(0.0, min(poll_ms / 1000, deadline - time.monotonic()))
                message = consumer.poll(timeout)
                messages = [] if message is None else [message]
            for message in messages:
                partition = message.partition()
                error = message.error()
                if error is not None:
                    if error.code() == _EOF:
                        at_end[partition] = True
                        end = expected[partition]
                        if committed and end is not None and message.offset() != end:
                            return NEEDS_LOG_SCAN
                    elif error.fatal():
                        raise KafkaPatternsError(
                            f"read_topic: confluent-kafka failed reading {topic!r}: {error}")
                    continue  # librdkafka retries transient errors itself
                offset = message.offset()
                if committed:
                    follows = expected[partition]
                    if follows is not None and offset != follows:
                        return NEEDS_LOG_SCAN
                    expected[partition] = offset + 1
                after[partition] = offset + 1
                at_end[partition] = False
                by_partition[partition].append(_record(message, topic, value_deserializer))
                count += 1
            if count >= min_records and _all_at_end(consumer, tps, at_end, after):
                break
            if time.monotonic() >= deadline:
                if committed and not all(at_end.values()):
                    return NEEDS_LOG_SCAN
                break
    finally:
        consumer.close()
    return [record for partition in partitions for record in by_partition[partition]]


def _all_at_end(consumer: Consumer, tps: dict[int, TopicPartition], at_end: dict[int, bool],
                after: dict[int, int]) -> bool:
    """Whether every partition is read to its end: it signalled EOF, or the records read
    reach the high watermark of its latest Fetch answer (or it has none: log start =
    high watermark). librdkafka signals EOF only on the Fetch after the one that brought
    the last records (one more ``fetch.wait.max.ms``); the high watermark says it at
    once. For ``read_committed`` it is the end too: records come only from below the
    last stable offset, which is at most the high watermark."""
    for partition, done in at_end.items():
        if done:
            continue
        start, high = consumer.get_watermark_offsets(tps[partition], cached=True)
        last = after[partition]
        if high < 0 or (last < high if last >= 0 else start != high):
            return False
        at_end[partition] = True
    return True


def _record(message: Any, topic: str, value_deserializer: ValueDeserializer | None,
            _new: Any = object.__new__) -> Record:
    """A Record from a confluent-kafka Message, decoded as
    :func:`~.records.record_from` decodes kafka-python's (fields set directly, for speed)."""
    record: Record = _new(Record)
    fields = record.__dict__
    partition = message.partition()
    offset = message.offset()
    value = message.value()
    fields["topic"] = topic
    fields["partition"] = partition
    fields["offset"] = offset
    fields["key"] = decode_key(message.key())
    if value_deserializer is None or value is None:
        fields["value"] = decode_value(value)
    else:
        fields["value"] = deserialized(value, topic, partition, offset, value_deserializer)
    headers = message.headers()
    fields["headers"] = list(headers) if headers else []
    kind, timestamp = message.timestamp()
    fields["timestamp"] = timestamp if kind != _NOT_AVAILABLE else -1
    return record
