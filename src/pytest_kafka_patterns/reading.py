"""Read what is really on a topic, and what a consumer group has really committed.

Everything here reads with manually assigned partitions (no consumer group, so no
rebalance wait) and decides "end of partition" by the high watermark that Fetch
responses carry. ListOffsets "latest" (``KafkaConsumer.end_offsets``) is never used:
some Kafka-protocol brokers (Tansu 0.6) answer it with a wrong offset.
"""

from __future__ import annotations

import bisect
import gc
import inspect
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from .config import READ_CLIENTS
from .config import ReadClient as ReadClient
from .errors import KafkaPatternsError, TopicNotFound
from .records import Header as Header
from .records import HeaderSource as HeaderSource
from .records import Record as Record
from .records import ValueDeserializer as ValueDeserializer
from .records import decode_key as decode_key
from .records import decode_value as decode_value
from .records import last_header as last_header
from .records import record_from as _record
from .waiting import poll

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

IsolationLevel = Literal["read_committed", "read_uncommitted"]
ISOLATION_LEVELS = ("read_committed", "read_uncommitted")


class Transactions:
    """What the log says about transactions, per partition, computed by the client.

    Some brokers (Tansu 0.6) neither hide aborted records from ``read_committed``
    consumers nor list aborted transactions in Fetch responses, so this reads it from
    the log itself, as KIP-98 defines it: a transactional batch of producer ``P`` belongs
    to the transaction that P's next control record (marker) ends; an ABORT marker
    aborts it, a COMMIT marker commits it, and while there is none the transaction is
    open, so a ``read_committed`` reader stops at its first offset (the last stable
    offset). Markers occupy offsets but are never records. Apache Kafka's log holds the
    same batches and markers, so the answer is the same on every broker.
    """

    def __init__(self) -> None:
        #: partition -> {base offset: (last offset, producer id)} of transactional batches
        self.batches: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
        #: partition -> {offset: (producer id, aborted)} of control records
        self.markers: dict[int, dict[int, tuple[int, bool]]] = defaultdict(dict)

    def scan(self, partition: int, records: Any) -> None:
        """Note the transactional batches and markers of one Fetch answer (batch headers
        only: cheap, and nothing when the log holds no transactions)."""
        try:
            # Private (MemoryRecords keeps its bytes in ``_buffer`` and has no rewind):
            # the batch is re-read from its bytes, so the consumer's own iteration is left
            # untouched. See _track_transactions for why there is no public way.
            copy = type(records)(records._buffer)
        except (AttributeError, TypeError):  # pragma: no cover - another client version
            raise KafkaPatternsError(_UNTRACKABLE) from None
        batches = self.batches[partition]
        markers = self.markers[partition]
        while True:
            batch = copy.next_batch()
            if batch is None:
                return
            if getattr(batch, "magic", 0) < 2 or not batch.is_transactional:
                continue
            if batch.is_control_batch:
                control = next(batch, None)
                if control is not None:
                    markers[batch.base_offset] = (batch.producer_id, bool(control.abort))
            else:
                batches[batch.base_offset] = (batch.last_offset, batch.producer_id)

    @property
    def any(self) -> bool:
        """True once a transactional batch was seen (else nothing is ever hidden)."""
        return any(self.batches.values())

    def hidden(self, partition: int) -> tuple[list[tuple[int, int]], int | None]:
        """Offset ranges (inclusive) of aborted batches, and the first offset of the
        first open transaction (``None``: none open) on ``partition``."""
        batches = self.batches.get(partition)
        if not batches:
            return [], None
        ends: dict[int, list[tuple[int, bool]]] = defaultdict(list)
        for offset, (producer, aborted) in sorted(self.markers.get(partition, {}).items()):
            ends[producer].append((offset, aborted))
        aborted_ranges: list[tuple[int, int]] = []
        open_from: int | None = None
        for base, (last, producer) in sorted(batches.items()):
            marks = ends.get(producer, [])
            index = bisect.bisect_left(marks, (last + 1, False))
            if index == len(marks):
                open_from = base if open_from is None else min(open_from, base)
            elif marks[index][1]:
                aborted_ranges.append((base, last))
        return aborted_ranges, open_from

    def markers_in(self, partition: int, start: int, end: int) -> int:
        """How many offsets in ``[start, end)`` are transaction markers."""
        return sum(1 for offset in self.markers.get(partition, {}) if start <= offset < end)

    def committed_only(self, partition: int, records: list[Record]) -> list[Record]:
        """``records`` (of ``partition``, by offset) as ``read_committed`` sees them."""
        aborted, open_from = self.hidden(partition)
        if not aborted and open_from is None:
            return records
        starts = [start for start, _ in aborted]
        visible = []
        for record in records:
            offset = record.offset
            if open_from is not None and offset >= open_from:
                break
            index = bisect.bisect_right(starts, offset) - 1
            if index >= 0 and offset <= aborted[index][1]:
                continue
            visible.append(record)
        return visible


_UNTRACKABLE = (
    "read_committed: this kafka-python parses Fetch answers in a way pytest-kafka-patterns "
    "does not know, so aborted transactions cannot be told apart from delivered records. "
    "Install kafka-python>=2.2.15,<4 (the versions the plugin is tested with) or pass "
    "isolation_level='read_uncommitted' to read every record."
)


def _track_transactions(consumer: KafkaConsumer) -> Transactions:
    """Have ``consumer`` note transactional batches and markers of every Fetch answer.

    kafka-python parses each answer in ``Fetcher.PartitionRecords``; the consumer's
    fetcher gets a subclass that scans the batch headers first. With a client that does
    not build it that way the read fails with :class:`KafkaPatternsError` rather than
    count aborted records as delivered.
    """
    log = Transactions()
    # Private attributes of kafka-python (``_fetcher``, ``PartitionRecords``): no public API
    # shows a consumer the batch headers (producer id, transactional and control flags)
    # that tell aborted records apart, and ``isolation_level="read_committed"`` relies on
    # the broker's aborted-transaction list, which Tansu does not send. The public route
    # is to send our own Fetch requests (kafka.protocol) and parse them with
    # MemoryRecords: a second reader per partition, not done yet. Guarded here (the
    # signature is checked; anything else raises _UNTRACKABLE, naming the versions) and
    # run by tox on kafka-python 2.2.15 and 3.x.
    fetcher = getattr(consumer, "_fetcher", None)
    base = getattr(fetcher, "PartitionRecords", None)
    expected = ["self", "fetch_offset", "tp", "records"]
    if base is None or list(inspect.signature(base.__init__).parameters)[:4] != expected:
        # pragma: no cover - a kafka-python that parses Fetch answers otherwise
        raise KafkaPatternsError(_UNTRACKABLE)

    class Tracking(base):  # type: ignore[misc,valid-type]
        def __init__(self, fetch_offset: int, tp: TopicPartition, records: Any,
                     *args: Any, **kwargs: Any) -> None:
            log.scan(tp.partition, records)
            super().__init__(fetch_offset, tp, records, *args, **kwargs)

    fetcher.PartitionRecords = Tracking  # type: ignore[union-attr]
    return log


def _check_isolation(isolation_level: str) -> None:
    if isolation_level not in ISOLATION_LEVELS:
        raise ValueError(
            f"isolation_level must be one of {', '.join(ISOLATION_LEVELS)}, "
            f"not {isolation_level!r}"
        )


def _confluent_reader() -> ModuleType | None:
    """:mod:`.reading_confluent` when confluent-kafka imports, else ``None``."""
    try:
        from . import reading_confluent
    except ImportError:
        return None
    return reading_confluent


def _pick_client(client: str) -> ModuleType | None:
    """The confluent-kafka reader module for ``client``, or ``None`` for kafka-python."""
    if client not in READ_CLIENTS:
        raise ValueError(f"client must be one of {', '.join(READ_CLIENTS)}, not {client!r}")
    if client == "kafka-python":
        return None
    module = _confluent_reader()
    if module is None and client == "confluent-kafka":
        raise KafkaPatternsError(
            "read_topic(client='confluent-kafka'): confluent-kafka is not installed. "
            "pip install 'pytest-kafka-patterns[confluent]', or pass client='auto' "
            "(kafka-python when confluent-kafka is missing)."
        )
    return module


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


def _partitions(
    consumer: KafkaConsumer, topic: str, deadline: float, wait: bool, helper: str
) -> list[int]:
    """The topic's partition ids; with ``wait``, retry until the topic exists or time is up.

    Raises :class:`~.errors.TopicNotFound` (naming ``helper``) when it does not exist.
    """
    __tracebackhide__ = True
    timeout = max(0.0, deadline - time.monotonic()) if wait else 0.0
    polled = poll(lambda: consumer.partitions_for_topic(topic), timeout=timeout, interval=0.05)
    if not polled.value:
        configured = consumer.config["bootstrap_servers"]
        where = configured if isinstance(configured, str) else ",".join(configured)
        raise TopicNotFound(helper, topic, where, timeout)
    return sorted(polled.value)


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
    bootstrap_servers: str,
    topic: str,
    *,
    min_records: int = 0,
    timeout: float = 10.0,
    isolation_level: IsolationLevel = "read_committed",
    value_deserializer: ValueDeserializer | None = None,
    client: ReadClient = "auto",
) -> list[Record]:
    """Every record of ``topic``, ordered by partition then offset.

    Reads each partition from its beginning without a consumer group, with the cyclic GC
    paused (see :func:`gc_paused`). Returns once at least ``min_records`` records arrived
    and every partition is read up to the high watermark of its latest Fetch; or, when
    ``timeout`` seconds pass, with what arrived (the assertions then report the shortfall).
    A topic that does not exist raises :class:`~.errors.TopicNotFound` (an
    ``AssertionError``), at once, or after waiting up to ``timeout`` for it to appear when
    ``min_records`` > 0; an existing empty topic reads as ``[]``.

    Reads what a ``read_committed`` consumer (every downstream service) sees: records of
    aborted transactions are left out, and so is everything from the first offset of a
    transaction still open. This is computed from the log (see :class:`Transactions`),
    so it holds on brokers that do not hide aborted records themselves (Tansu).
    ``isolation_level="read_uncommitted"`` returns every record. Transaction markers
    are never records (they only occupy offsets).

    Values are JSON-decoded (else left as bytes), or decoded by ``value_deserializer``
    (``bytes -> value``, e.g. ``schema_registry.deserializer()`` for Avro in the Confluent
    wire format); a value it cannot decode fails the read with an ``AssertionError``
    naming the record (``topic[partition]@offset``). Null values stay ``None``.

    ``client``: ``"auto"`` reads with confluent-kafka when it is installed (librdkafka
    parses Fetch answers in C: see ``benchmarks/read.py``), else with kafka-python;
    ``"kafka-python"`` or ``"confluent-kafka"`` choose one (``KafkaPatternsError`` when
    confluent-kafka is asked for and missing). Both give the same records: a
    ``read_committed`` read of a log holding transactions (its offsets skip), or one that
    times out before a partition's end, is read again with kafka-python, which computes
    them from the batch headers librdkafka does not show (see :mod:`.reading_confluent`).
    ``ValueError`` for an unknown ``client``.
    """
    __tracebackhide__ = True
    _check_isolation(isolation_level)
    confluent = _pick_client(client)
    committed = isolation_level == "read_committed"
    deadline = time.monotonic() + timeout
    if confluent is not None:
        with gc_paused():
            read = confluent.read_records(
                bootstrap_servers, topic, min_records=min_records, deadline=deadline,
                committed=committed, value_deserializer=value_deserializer,
                batch=MAX_POLL_RECORDS, poll_ms=POLL_MS, fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
            )
        if read != confluent.NEEDS_LOG_SCAN:
            return read  # type: ignore[no-any-return]
    return _read_with_kafka_python(
        bootstrap_servers, topic, min_records=min_records, deadline=deadline,
        committed=committed, value_deserializer=value_deserializer)


def _read_with_kafka_python(
    bootstrap_servers: str,
    topic: str,
    *,
    min_records: int,
    deadline: float,
    committed: bool,
    value_deserializer: ValueDeserializer | None,
) -> list[Record]:
    """:func:`read_topic` with kafka-python, until ``deadline`` (``time.monotonic()``)."""
    __tracebackhide__ = True
    consumer = _reader(bootstrap_servers)
    log = _track_transactions(consumer) if committed else None
    try:
        partitions = _partitions(consumer, topic, deadline, min_records > 0, "read_topic")
        by_partition: dict[int, list[Record]] = {partition: [] for partition in partitions}
        tps = [TopicPartition(topic, partition) for partition in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        count = 0
        make = _record if value_deserializer is None else (
            lambda raw: _record(raw, value_deserializer=value_deserializer)
        )
        with gc_paused():
            while True:
                batches = consumer.poll(timeout_ms=_poll_ms(deadline))
                for tp, raws in batches.items():
                    by_partition[tp.partition].extend(map(make, raws))
                    count += len(raws)
                if count >= min_records and _at_end(consumer, tps):
                    if log is None or not log.any:
                        break
                    readable = {p: log.committed_only(p, rs) for p, rs in by_partition.items()}
                    if sum(map(len, readable.values())) >= min_records:
                        by_partition = readable
                        break
                if time.monotonic() >= deadline:
                    if log is not None and log.any:
                        by_partition = {
                            p: log.committed_only(p, rs) for p, rs in by_partition.items()
                        }
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


@dataclass(frozen=True)
class Arrivals:
    """What landed on a topic beyond a baseline while :func:`watch_for_records` watched."""

    baseline: dict[int, int]
    """The next offset of each partition when the watch began."""
    records: list[Record]
    """The records that landed (readable ones: see ``isolation_level``), by partition and
    offset; empty when none did."""


def watch_for_records(
    bootstrap_servers: str,
    topic: str,
    *,
    after: Sequence[Record] | Mapping[int, int] | None = None,
    within: float = 1.0,
    isolation_level: IsolationLevel = "read_committed",
    helper: str = "watch_for_records",
) -> Arrivals:
    """Long-poll ``topic`` beyond ``after`` for up to ``within`` seconds, stopping at the
    first readable record. :class:`~.errors.TopicNotFound` (naming ``helper``) when the
    topic does not exist.

    ``after`` as in :func:`~pytest_kafka_patterns.assertions.assert_no_more_records`
    (the assertion built on this): records already seen, ``{partition: next offset}``,
    or ``None`` for each partition's high watermark right now.
    """
    __tracebackhide__ = True
    _check_isolation(isolation_level)
    consumer = _reader(bootstrap_servers)
    log = _track_transactions(consumer) if isolation_level == "read_committed" else None
    try:
        partitions = _partitions(consumer, topic, time.monotonic(), False, helper)
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
        landed: dict[int, list[Record]] = defaultdict(list)
        arrived: list[Record] = []
        while not arrived and time.monotonic() < deadline:
            for tp, raws in consumer.poll(timeout_ms=_poll_ms(deadline)).items():
                landed[tp.partition].extend(map(_record, raws))
            if log is None or not log.any:
                arrived = [record for records in landed.values() for record in records]
            else:
                arrived = [record for partition, records in landed.items()
                           for record in log.committed_only(partition, records)]
    finally:
        consumer.close()
    arrived.sort(key=lambda record: (record.partition, record.offset))
    return Arrivals(baseline, arrived)


@dataclass(frozen=True)
class PartitionProgress:
    """Where a consumer group stands on one partition."""

    partition: int
    committed: int | None
    """The group's committed offset (the next record it will read), ``None`` if none."""
    high_watermark: int
    """The partition's end, from a Fetch response."""
    pending: Record | None = None
    """The first readable record at or after ``committed``, when there is one."""
    uncommitted: int | None = None
    """Readable records (as ``read_committed`` sees them) at or after ``committed``;
    ``None`` when not counted (then every offset up to the end counts)."""
    markers: int = 0
    """Offsets from ``committed`` to the end that are transaction markers (not records)."""
    hidden: int = 0
    """Records from ``committed`` to the end that no ``read_committed`` consumer reads
    (aborted, or in a transaction still open)."""

    @property
    def offsets_behind(self) -> int:
        """Offsets between the committed offset and the end (negative: committed past it)."""
        return self.high_watermark - (self.committed or 0)

    @property
    def lag(self) -> int:
        """Readable records the group has not committed yet (negative: committed past the
        end). Transaction markers and aborted records occupy offsets but are not records:
        a group that committed every readable record has no lag."""
        behind = self.offsets_behind
        if behind < 0 or self.uncommitted is None:
            return behind
        return self.uncommitted


def committed_offsets(
    bootstrap_servers: str, group_id: str, topic: str, *, admin: Any = None
) -> dict[int, int]:
    """The group's committed offsets on ``topic``, by partition (absent: never committed).

    Uses the admin OffsetFetch API (``list_group_offsets`` in kafka-python 3,
    ``list_consumer_group_offsets`` in 2.x); no consumer joins the group.
    :class:`~.errors.TopicNotFound` when the topic does not exist.
    """
    __tracebackhide__ = True
    partitions = _topic_partitions(bootstrap_servers, topic)
    own = admin is None
    client = KafkaAdminClient(bootstrap_servers=bootstrap_servers) if own else admin
    try:
        if hasattr(client, "list_group_offsets"):
            offsets = client.list_group_offsets({group_id: None}).get(group_id, {})
        else:  # kafka-python 2.x: name the partitions (some brokers reject "all topics")
            offsets = client.list_consumer_group_offsets(group_id, partitions=partitions)
    finally:
        if own:
            client.close()
    return {
        tp.partition: meta.offset
        for tp, meta in offsets.items()
        if tp.topic == topic and meta.offset is not None and meta.offset >= 0
    }


def _topic_partitions(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    __tracebackhide__ = True
    consumer = _reader(bootstrap_servers)
    try:
        partitions = _partitions(consumer, topic, 0.0, False, "committed_offsets")
        return [TopicPartition(topic, p) for p in partitions]
    finally:
        consumer.close()


def high_watermarks(bootstrap_servers: str, topic: str, *, timeout: float = 10.0) -> dict[int, int]:
    """Each partition's high watermark (end offset), as Fetch responses report it.
    :class:`~.errors.TopicNotFound` when the topic does not exist."""
    __tracebackhide__ = True
    return {
        p.partition: p.high_watermark
        for p in _progress(bootstrap_servers, topic, {}, timeout, "high_watermarks", scan=False)
    }


def group_progress(
    bootstrap_servers: str, group_id: str, topic: str, *, timeout: float = 10.0
) -> list[PartitionProgress]:
    """Committed offset, high watermark, and what lies between, for each partition: the
    readable records not committed yet (the first one, and how many), and how many
    offsets are transaction markers or hidden (aborted, or in an open transaction).
    :class:`~.errors.TopicNotFound` when the topic does not exist."""
    __tracebackhide__ = True
    committed = committed_offsets(bootstrap_servers, group_id, topic)
    return _progress(bootstrap_servers, topic, committed, timeout, "group_progress")


def _progress(
    bootstrap_servers: str,
    topic: str,
    committed: Mapping[int, int],
    timeout: float,
    helper: str,
    *,
    scan: bool = True,
) -> list[PartitionProgress]:
    """Each partition's progress; with ``scan``, reads from the committed offset to the
    high watermark to tell readable records from markers and hidden records; without,
    one Fetch answer per partition (the high watermark and the first record)."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    consumer = _reader(bootstrap_servers)
    log = _track_transactions(consumer)
    try:
        partitions = _partitions(consumer, topic, deadline, False, helper)
        tps = [TopicPartition(topic, partition) for partition in partitions]
        consumer.assign(tps)
        read: dict[int, list[Record]] = {partition: [] for partition in partitions}
        for tp in tps:
            consumer.seek(tp, committed.get(tp.partition, 0))
        while True:
            for tp, raws in consumer.poll(timeout_ms=_poll_ms(deadline)).items():
                if scan:
                    read[tp.partition].extend(map(_record, raws))
                elif raws and not read[tp.partition]:
                    read[tp.partition].append(_record(raws[0]))
                if not scan:
                    consumer.pause(tp)  # one Fetch answer per partition is all we need
            marks = {tp.partition: consumer.highwater(tp) for tp in tps}
            if all(mark is not None for mark in marks.values()) and (
                not scan or _at_end(consumer, tps)
            ):
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no Fetch response for every partition of {topic!r}")
    finally:
        consumer.close()
    progress = []
    for partition in partitions:
        end = int(marks[partition] or 0)
        start = committed.get(partition, 0)
        readable = log.committed_only(partition, read[partition])
        progress.append(PartitionProgress(
            partition,
            committed.get(partition),
            end,
            readable[0] if readable else None,
            uncommitted=len(readable) if scan else None,
            markers=log.markers_in(partition, start, end),
            hidden=len(read[partition]) - len(readable) if scan else 0,
        ))
    return progress
