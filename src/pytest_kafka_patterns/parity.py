"""Behaviour probes: what a broker really does, measured, one probe per capability.

Each probe takes bootstrap servers and a time budget, does the one thing a test would
rely on (with kafka-python, or aiokafka for ``aiokafka_idempotence``), and returns
whether the broker behaved like Apache Kafka plus what it measured. :func:`probe_all`
runs them concurrently, each in a daemon thread with a deadline (a probe that would hang
is a fail that says "timed out"), and caches results per bootstrap address for the rest
of the process, so the ~5 s bound of :func:`probe_fast_default_join` on a slow broker is
paid once per run.

These probes are the source of truth for :mod:`.capabilities`: the parity tests check
every backend's claimed capabilities against them, ``external`` derives its
capabilities from them on connect, and ``kafka-patterns parity`` prints the README's
"Backends compared" table from them.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .capabilities import CAPABILITIES

#: Seconds a probe may take before it counts as failed ("timed out").
DEFAULT_TIMEOUT = 10.0
#: A fresh group with the client's default settings must get its first assignment within
#: this many seconds to count as fast (Apache Kafka with
#: ``group.initial.rebalance.delay.ms=0``: well under 1 s; Tansu 0.6: ~23 s).
FAST_JOIN_SECONDS = 5.0
#: Records produced in one batch by :func:`probe_list_offsets_latest`.
BATCH_RECORDS = 5
#: ``max.message.bytes`` of the topic in :func:`probe_message_size_limits`, and the size
#: of the record it sends.
SIZE_LIMIT = 10_000
OVERSIZED_RECORD = 20_000

Outcome = tuple[bool, str]
"""A probe's verdict: whether the broker behaved like Apache Kafka, and what was seen."""
Probe = Callable[[str, float], Outcome]


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome on one broker."""

    capability: str
    passed: bool
    detail: str
    seconds: float


#: Capabilities no probe can measure through a bootstrap address, and why.
UNPROBED: dict[str, str] = {
    "persistence": "needs a broker restart, which only the backend that started it can do",
}


# -- helpers ------------------------------------------------------------------------------


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _client_options(bootstrap_servers: str, timeout: float) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap_servers,
        "client_id": "kafka-patterns-parity",
        "request_timeout_ms": _ms(timeout),
    }


def _error_name(exc: BaseException) -> str:
    """``"Name: message"`` in at most ~160 characters, floats in it to two decimals (a
    table cell, regenerated often: "waiting for 9.970274265999251 secs" reads 9.97)."""
    name, text = type(exc).__name__, str(exc).strip()
    while text.startswith(f"{name}: "):  # kafka-python repeats the class name
        text = text[len(name) + 2 :]
    text = re.sub(r"(\d+\.\d\d)\d+", r"\1", text)
    return f"{name}: {text[:160]}" if text else name


class _Scratch:
    """Uniquely named topics for one probe, deleted when it ends."""

    def __init__(self, bootstrap_servers: str, timeout: float):
        from kafka import KafkaAdminClient

        self.bootstrap_servers = bootstrap_servers
        self.timeout = timeout
        self.admin = KafkaAdminClient(**_client_options(bootstrap_servers, timeout))
        self.created: list[str] = []

    def name(self, purpose: str) -> str:
        return f"kafka-patterns-parity-{purpose}-{uuid.uuid4().hex[:10]}"

    def topic(
        self, purpose: str, partitions: int = 1, config: Mapping[str, str] | None = None
    ) -> str:
        """A new topic, ready (every partition led) when returned."""
        from .topics import create_topic

        name = self.name(purpose)
        self.created.append(name)
        create_topic(self.admin, name, partitions, dict(config or {}), timeout=self.timeout)
        return name

    def close(self) -> None:
        from .topics import delete_topics

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                delete_topics(self.admin, self.created)
        finally:
            self.admin.close()


@contextmanager
def _scratch(bootstrap_servers: str, timeout: float) -> Iterator[_Scratch]:
    scratch = _Scratch(bootstrap_servers, timeout)
    try:
        yield scratch
    finally:
        scratch.close()


def _producer(bootstrap_servers: str, timeout: float, **overrides: Any) -> Any:
    from kafka import KafkaProducer

    options = _client_options(bootstrap_servers, timeout)
    options.update(max_block_ms=_ms(timeout), **overrides)
    return KafkaProducer(**options)


def _consumer(bootstrap_servers: str, timeout: float, *topics: str, **overrides: Any) -> Any:
    from kafka import KafkaConsumer

    options = _client_options(bootstrap_servers, timeout)
    options.update(overrides)
    return KafkaConsumer(*topics, **options)


def _read_values(
    bootstrap_servers: str, topic: str, until: bytes, timeout: float, **overrides: Any
) -> list[bytes]:
    """Values of partition 0 from the start, until ``until`` is seen or ``timeout`` passes."""
    from kafka import TopicPartition

    consumer = _consumer(
        bootstrap_servers, timeout, enable_auto_commit=False, group_id=None, **overrides
    )
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while until not in values and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=100).values():
                values.extend(record.value for record in records)
        return values
    finally:
        consumer.close(autocommit=False)


def _transactional_producer(bootstrap_servers: str, timeout: float) -> Any:
    """A transactional producer, initialised; closed at once when initialisation fails.

    A producer left open keeps its I/O thread: with kafka-python 2 on a broker that
    refuses InitProducerId, that thread logs a crash on every loop for the rest of the run.
    """
    producer = _producer(
        bootstrap_servers, timeout, transactional_id=f"kafka-patterns-parity-{uuid.uuid4().hex}"
    )
    try:
        producer.init_transactions()
    except BaseException:
        _close_producer(producer, 0)
        raise
    return producer


def _close_producer(producer: Any, timeout: float) -> None:
    """Close a kafka-python producer, its I/O thread included, within about ``timeout`` s.

    kafka-python 2.x's ``close()`` flushes first and raises ``KafkaTimeoutError`` when the
    flush times out, before it stops its I/O thread; after a refused InitProducerId that
    thread crashes on every loop (``RecordAccumulator`` has no ``abort_batches``) and logs
    a traceback each time for the rest of the run. Then the thread is force-closed through
    the producer's sender, the one private attribute this module touches, and only then.
    """
    from kafka.errors import KafkaTimeoutError

    try:
        producer.close(timeout)
    except KafkaTimeoutError:
        sender = getattr(producer, "_sender", None)
        if sender is not None and hasattr(sender, "force_close"):
            sender.force_close()
            sender.join(1.0)


def _remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (``time.monotonic()``), never negative."""
    return max(0.0, deadline - time.monotonic())


# -- probes ---------------------------------------------------------------------------------


def probe_list_offsets_latest(bootstrap_servers: str, timeout: float) -> Outcome:
    """``end_offsets()`` after one multi-record batch equals the offset after its last record.

    Kafka: ListOffsets with timestamp -1 (``LATEST_TIMESTAMP``) returns the log end offset,
    the offset of the next record to be written (Kafka protocol guide, ListOffsets API;
    KIP-79). ``end_offsets()``, ``seek_to_end()`` and lag are built on it.
    """
    from kafka import TopicPartition

    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("offsets")
        producer = _producer(bootstrap_servers, timeout, linger_ms=_ms(timeout), batch_size=1 << 20)
        try:
            futures = [
                producer.send(topic, value=b"%d" % i, partition=0) for i in range(BATCH_RECORDS)
            ]
            producer.flush(timeout)
            offsets = [future.get(timeout).offset for future in futures]
        finally:
            _close_producer(producer, timeout)
        consumer = _consumer(bootstrap_servers, timeout)
        try:
            partition = TopicPartition(topic, 0)
            end = consumer.end_offsets([partition])[partition]
        finally:
            consumer.close(autocommit=False)
    true_end = offsets[-1] + 1
    return end == true_end, (
        f"end_offsets {end} after {len(offsets)} records in one batch "
        f"(offsets {offsets[0]}..{offsets[-1]}, true end {true_end})"
    )


def probe_read_committed(bootstrap_servers: str, timeout: float) -> Outcome:
    """A ``read_committed`` consumer does not see records of an aborted transaction.

    Kafka: KIP-98 (exactly-once delivery and transactional messaging); consumer config
    ``isolation.level=read_committed`` filters aborted transactions using the abort index.
    """
    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("committed")
        try:
            producer = _transactional_producer(bootstrap_servers, timeout)
        except Exception as exc:
            return False, f"no transactional producer to abort with: {_error_name(exc)}"
        try:
            producer.begin_transaction()
            for i in range(3):
                producer.send(topic, value=b"aborted-%d" % i, partition=0)
            producer.flush(timeout)
            producer.abort_transaction()
            producer.begin_transaction()
            producer.send(topic, value=b"committed", partition=0)
            producer.commit_transaction()
        finally:
            _close_producer(producer, timeout)
        values = _read_values(
            bootstrap_servers, topic, b"committed", timeout, isolation_level="read_committed"
        )
    aborted = [value for value in values if value.startswith(b"aborted")]
    if b"committed" not in values:
        return False, f"the committed record never arrived (saw {len(values)} records)"
    if aborted:
        return False, f"saw {len(aborted)} of 3 aborted records"
    return True, "saw the committed record and none of 3 aborted ones"


def probe_message_size_limits(bootstrap_servers: str, timeout: float) -> Outcome:
    """A record larger than the topic's ``max.message.bytes`` is rejected by the broker.

    Kafka: topic config ``max.message.bytes`` ("the largest record batch size allowed",
    Kafka docs, Topic Configs); the broker answers ``MESSAGE_TOO_LARGE`` (error 10,
    ``RecordTooLargeException`` in the Java client).
    """
    from kafka.errors import MessageSizeTooLargeError, RecordListTooLargeError

    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("size", config={"max.message.bytes": str(SIZE_LIMIT)})
        producer = _producer(bootstrap_servers, timeout, retries=0)
        try:
            future = producer.send(topic, value=b"x" * OVERSIZED_RECORD, partition=0)
            metadata = future.get(timeout)
        except (MessageSizeTooLargeError, RecordListTooLargeError) as exc:
            return True, f"{OVERSIZED_RECORD}-byte record rejected: {type(exc).__name__}"
        finally:
            _close_producer(producer, timeout)
    return False, (
        f"{OVERSIZED_RECORD}-byte record accepted at offset {metadata.offset} "
        f"(topic max.message.bytes={SIZE_LIMIT})"
    )


def probe_config_validation(bootstrap_servers: str, timeout: float) -> Outcome:
    """Creating a topic with an invalid config value fails with ``INVALID_CONFIG``.

    Kafka: CreateTopics validates each config against its definition (``cleanup.policy``
    must be ``delete`` and/or ``compact``, Kafka docs, Topic Configs) and answers error 40,
    ``InvalidConfigurationException`` (KIP-4 admin protocol).
    """
    from kafka.admin import NewTopic
    from kafka.errors import InvalidConfigurationError

    with _scratch(bootstrap_servers, timeout) as scratch:
        name = scratch.name("bogus")
        scratch.created.append(name)  # deleted at the end if it was created after all
        topic = NewTopic(
            name, num_partitions=1, replication_factor=1,
            topic_configs={"cleanup.policy": "bogus"},
        )
        try:
            scratch.admin.create_topics([topic], timeout_ms=_ms(timeout))
        except InvalidConfigurationError as exc:
            return True, f"cleanup.policy=bogus rejected: {type(exc).__name__}"
    return False, "topic created with cleanup.policy=bogus"


def probe_describe_configs(bootstrap_servers: str, timeout: float) -> Outcome:
    """``describe_configs`` of a topic returns the config it was created with, as a topic config.

    Kafka: DescribeConfigs API (KIP-133) returns a resource's config entries; a value set
    for the topic has source ``DYNAMIC_TOPIC_CONFIG`` (KIP-226), so clients that show only
    non-default entries (kafka-python 3's default ``config_filter='modified'``) show it.
    """
    from kafka.admin import ConfigResource, ConfigResourceType

    value = "123456789"
    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("configs", config={"retention.ms": value})
        resource = ConfigResource(ConfigResourceType.TOPIC, topic)
        entry = _config_entry(scratch.admin.describe_configs([resource]), "retention.ms")
        if entry is None:
            try:  # kafka-python 3 filters to modified entries: look at all of them
                every = scratch.admin.describe_configs([resource], config_filter="all")
            except TypeError:  # kafka-python 2 has no filter: it was not there at all
                every = None
            hidden = _config_entry(every, "retention.ms")
            if hidden is None:
                return False, f"retention.ms (created as {value}) is missing from the reply"
            return False, (
                f"retention.ms={hidden[0]} only with config_filter='all': the broker "
                f"marks it {hidden[1]}, so the default describe_configs omits it"
            )
    found, source = entry
    if found != value:
        return False, f"retention.ms={found!r}, created with {value}"
    if source is not None and "TOPIC" not in source:
        return False, f"retention.ms={found} as created, but marked {source}, not a topic config"
    return True, f"retention.ms={found} as created" + (f" ({source})" if source else "")


#: DescribeConfigs config sources by wire id (KIP-226).
CONFIG_SOURCES = {
    0: "UNKNOWN",
    1: "DYNAMIC_TOPIC_CONFIG",
    2: "DYNAMIC_BROKER_CONFIG",
    3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
    4: "STATIC_BROKER_CONFIG",
    5: "DEFAULT_CONFIG",
    6: "DYNAMIC_BROKER_LOGGER_CONFIG",
}


def _source_name(source: Any) -> str | None:
    if source is None or isinstance(source, bool):  # DescribeConfigs v0: is_default
        return None if source is None else ("DEFAULT_CONFIG" if source else "TOPIC_CONFIG")
    if isinstance(source, int):
        return CONFIG_SOURCES.get(source, str(source))
    return str(getattr(source, "name", source))


def _config_entry(reply: Any, key: str) -> tuple[str | None, str | None] | None:
    """``(value, source)`` of config ``key`` anywhere in a describe_configs reply.

    kafka-python 3 answers nested dicts (``{type: {name: {key: {"value": ...,
    "config_source": ...}}}}``), kafka-python 2 response objects whose resources hold
    ``(key, value, read_only, source, ...)`` tuples.
    """
    if isinstance(reply, Mapping):
        if key in reply:
            entry = reply[key]
            if not isinstance(entry, Mapping):
                return (None if entry is None else str(entry)), None
            found = entry.get("value", entry.get("config_value"))
            return (None if found is None else str(found)), _source_name(
                entry.get("config_source", entry.get("is_default"))
            )
        children: Iterable[Any] = reply.values()
    elif isinstance(reply, (list, tuple)):
        if len(reply) >= 2 and reply[0] == key and isinstance(reply[1], (str, type(None))):
            return reply[1], _source_name(reply[3]) if len(reply) > 3 else None
        children = reply
    elif hasattr(reply, "resources"):
        children = reply.resources
    else:
        return None
    for child in children:
        found = _config_entry(child, key)
        if found is not None:
            return found
    return None


def probe_transactions(bootstrap_servers: str, timeout: float) -> Outcome:
    """A kafka-python transactional producer initialises, sends and commits.

    Kafka: KIP-98 (InitProducerId, AddPartitionsToTxn, EndTxn); producer config
    ``transactional.id``.
    """
    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("transactions")
        started = time.monotonic()
        producer = _transactional_producer(bootstrap_servers, timeout)
        try:
            producer.begin_transaction()
            metadata = producer.send(topic, value=b"committed", partition=0).get(timeout)
            producer.commit_transaction()
        finally:
            _close_producer(producer, timeout)
        values = _read_values(bootstrap_servers, topic, b"committed", timeout)
    if b"committed" not in values:
        return False, "committed, but the record could not be read back"
    return True, (
        f"committed 1 record at offset {metadata.offset} in {time.monotonic() - started:.2f} s"
    )


def probe_idempotence(bootstrap_servers: str, timeout: float) -> Outcome:
    """An idempotent kafka-python producer gets a producer id and writes consecutive offsets.

    Kafka: KIP-98 idempotent producer (producer config ``enable.idempotence``, InitProducerId
    and per-partition sequence numbers).
    """
    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("idempotence")
        deadline = time.monotonic() + timeout
        producer = _producer(bootstrap_servers, timeout, enable_idempotence=True, acks="all")
        try:
            futures = [producer.send(topic, value=b"%d" % i, partition=0) for i in range(3)]
            offsets = [future.get(_remaining(deadline)).offset for future in futures]
        finally:
            # What is left of the time, then a forced close: a producer whose I/O thread
            # fails (kafka-python 2 refused InitProducerId) would otherwise take it all again.
            _close_producer(producer, _remaining(deadline))
    consecutive = offsets == list(range(offsets[0], offsets[0] + len(offsets)))
    return consecutive, f"3 idempotent sends acked at offsets {offsets}"


def probe_aiokafka_idempotence(bootstrap_servers: str, timeout: float) -> Outcome:
    """An idempotent aiokafka producer starts and gets its record acknowledged.

    Kafka: KIP-98 idempotent producer (InitProducerId), as aiokafka implements it
    (``enable_idempotence=True``).
    """
    try:
        from aiokafka import AIOKafkaProducer
    except ImportError:
        return False, "aiokafka is not installed"

    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("aiokafka")

        async def send() -> Outcome:
            producer = AIOKafkaProducer(
                bootstrap_servers=bootstrap_servers,
                enable_idempotence=True,
                request_timeout_ms=_ms(timeout),
            )
            try:
                try:
                    await asyncio.wait_for(producer.start(), timeout)
                except Exception as exc:
                    return False, f"producer start (InitProducerId) failed: {_error_name(exc)}"
                metadata = await asyncio.wait_for(
                    producer.send_and_wait(topic, b"x", partition=0), timeout
                )
                return True, f"acked at offset {metadata.offset}"
            finally:
                await asyncio.wait_for(producer.stop(), timeout)

        return asyncio.run(send())


def probe_fast_default_join(bootstrap_servers: str, timeout: float) -> Outcome:
    """A fresh group whose consumer keeps the client's DEFAULT settings is assigned fast.

    Kafka: group membership protocol (JoinGroup/SyncGroup, KIP-62 session timeouts); a
    broker delays a new group's first rebalance by ``group.initial.rebalance.delay.ms``
    (KIP-134), which test brokers set to 0. Passes when kafka-python's defaults get the
    first assignment within :data:`FAST_JOIN_SECONDS`.
    """
    limit = min(FAST_JOIN_SECONDS, timeout)
    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("join")
        group_id = scratch.name("group")
        assigned = threading.Event()
        stop = threading.Event()
        started = time.monotonic()
        waited: list[float] = []

        def join() -> None:
            # Only what a user must pass: every group setting stays the client's default.
            consumer = _default_consumer(bootstrap_servers, topic, group_id)
            try:
                # A poll can block inside the join for as long as the broker holds the
                # JoinGroup reply (~23 s on Tansu), so the caller waits on an event instead.
                while not stop.is_set():
                    consumer.poll(timeout_ms=100)
                    if consumer.assignment():
                        waited.append(time.monotonic() - started)
                        assigned.set()
                        return
            finally:
                consumer.close(autocommit=False)

        thread = threading.Thread(target=join, name="kafka-patterns-probe-join", daemon=True)
        thread.start()
        in_time = assigned.wait(limit)
        stop.set()
        if in_time:
            thread.join(1.0)  # it is closing; a consumer stuck in a join is left behind
    if in_time:
        return True, f"first assignment after {waited[0]:.2f} s"
    return False, f"no assignment within {limit:g} s"


def _default_consumer(bootstrap_servers: str, topic: str, group_id: str) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=group_id)


def probe_compaction(bootstrap_servers: str, timeout: float) -> Outcome:
    """A topic with ``cleanup.policy=compact`` can be created.

    Kafka: log compaction (Kafka docs, Design, "Log Compaction"; topic config
    ``cleanup.policy``). Only acceptance of the config is probed, not that the cleaner runs.
    """
    with _scratch(bootstrap_servers, timeout) as scratch:
        scratch.topic("compact", config={"cleanup.policy": "compact"})
    return True, "created with cleanup.policy=compact"


def probe_admin_metadata(bootstrap_servers: str, timeout: float) -> Outcome:
    """``KafkaAdminClient.list_topics`` and ``describe_topics`` parse the broker's reply.

    Kafka: Metadata API (Kafka protocol guide; KIP-430 adds authorized operations, whose
    encoding kafka-python 2 cannot parse from some brokers).
    """
    with _scratch(bootstrap_servers, timeout) as scratch:
        topic = scratch.topic("metadata", partitions=2)
        listed = topic in scratch.admin.list_topics()
        described = scratch.admin.describe_topics([topic])
    partitions = [len(entry.get("partitions", [])) for entry in described if entry.get("topic",
                  entry.get("name")) == topic]
    if listed and partitions == [2]:
        return True, "list_topics lists it; describe_topics: 2 partitions"
    return False, f"list_topics lists it: {listed}; describe_topics partitions: {partitions}"


#: One probe per capability, in the order of :data:`.capabilities.CAPABILITIES`.
PROBES: dict[str, Probe] = {
    "idempotence": probe_idempotence,
    "transactions": probe_transactions,
    "read_committed": probe_read_committed,
    "list_offsets_latest": probe_list_offsets_latest,
    "aiokafka_idempotence": probe_aiokafka_idempotence,
    "admin_metadata": probe_admin_metadata,
    "message_size_limits": probe_message_size_limits,
    "config_validation": probe_config_validation,
    "describe_configs": probe_describe_configs,
    "fast_default_join": probe_fast_default_join,
    "compaction": probe_compaction,
}
PROBES = {name: PROBES[name] for name in CAPABILITIES if name in PROBES}
assert set(PROBES) | set(UNPROBED) == set(CAPABILITIES), "every capability needs a probe"


# -- running --------------------------------------------------------------------------------

_cache: dict[tuple[str, str], ProbeResult] = {}
_cache_lock = threading.Lock()


def run_probe(name: str, bootstrap_servers: str, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """Run probe ``name`` in a daemon thread; past ``timeout`` (+1 s to close) it fails."""
    return _start(name, bootstrap_servers, timeout)()


def _start(name: str, bootstrap_servers: str, timeout: float) -> Callable[[], ProbeResult]:
    probe = PROBES[name]
    box: list[ProbeResult] = []
    started = time.monotonic()

    def target() -> None:
        try:
            passed, detail = probe(bootstrap_servers, timeout)
        except Exception as exc:
            passed, detail = False, _error_name(exc)
        box.append(ProbeResult(name, passed, detail, time.monotonic() - started))

    thread = threading.Thread(target=target, name=f"kafka-patterns-probe-{name}", daemon=True)
    thread.start()

    def result() -> ProbeResult:
        thread.join(max(0.0, started + timeout + 1.0 - time.monotonic()))
        if box:
            return box[0]
        waited = time.monotonic() - started
        return ProbeResult(name, False, f"timed out after {timeout:g} s", waited)

    return result


def probe_all(
    bootstrap_servers: str,
    names: Iterable[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cache: bool = True,
) -> dict[str, ProbeResult]:
    """Every probe (or ``names``) on one broker, concurrently; results cached per address."""
    wanted = list(PROBES) if names is None else [name for name in PROBES if name in set(names)]
    results: dict[str, ProbeResult] = {}
    pending: dict[str, Callable[[], ProbeResult]] = {}
    with _cache_lock:
        for name in wanted:
            cached = _cache.get((bootstrap_servers, name)) if cache else None
            if cached is not None:
                results[name] = cached
            else:
                pending[name] = _start(name, bootstrap_servers, timeout)
        for name, result in pending.items():
            results[name] = _cache[(bootstrap_servers, name)] = result()
    return {name: results[name] for name in wanted}


def forget(bootstrap_servers: str) -> None:
    """Drop cached results for an address (a broker stopped; another may reuse its port)."""
    with _cache_lock:
        for key in [key for key in _cache if key[0] == bootstrap_servers]:
            del _cache[key]


def measured_capabilities(results: Mapping[str, ProbeResult]) -> frozenset[str]:
    """The capabilities whose probes passed."""
    return frozenset(name for name, result in results.items() if result.passed)


# -- the README table -----------------------------------------------------------------------


def column_title(backend: str, version: str) -> str:
    """A table column's title: the backend, its broker version and the client's major."""
    from .capabilities import kafka_python_major

    return f"{backend} ({version}, kafka-python {kafka_python_major()})"


def markdown_table(columns: Sequence[tuple[str, Mapping[str, ProbeResult]]]) -> str:
    """A markdown table: one row per capability, one column per ``(title, results)``."""
    lines = [
        "| capability | probe | " + " | ".join(title for title, _ in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for name in CAPABILITIES:
        cells = []
        for _, results in columns:
            result = results.get(name)
            if result is None:
                cells.append(f"not probed ({_cell(UNPROBED.get(name, 'no probe'))})")
            else:
                verdict = "yes" if result.passed else "**no**"
                cells.append(f"{verdict}: {_cell(result.detail)}")
        lines.append(f"| `{name}` | {_cell(CAPABILITIES[name])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_marker() -> str:
    """The comment above the README table that :func:`replace_table` rewrites: one table
    per kafka-python major, since the client changes some answers."""
    from .capabilities import kafka_python_major

    return f"<!-- parity table, kafka-python {kafka_python_major()}: generated by "


def replace_table(markdown: str, table: str, command: str) -> str:
    """``markdown`` with the table under :func:`readme_marker` replaced by ``table``."""
    marker = readme_marker()
    start = markdown.find(marker)
    if start < 0:
        raise ValueError(f"no line starting {marker!r} to put the table under")
    end = markdown.find("\n\n", start)
    end = len(markdown) if end < 0 else end
    return f"{markdown[:start]}{marker}{command} -->\n{table.strip()}{markdown[end:]}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def parse_table(markdown: str) -> dict[str, dict[str, bool | None]]:
    """``{column title: {capability: passed (None: not probed)}}`` from every table
    :func:`markdown_table` printed into ``markdown``."""
    table: dict[str, dict[str, bool | None]] = {}
    titles: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("| capability | probe |"):
            titles = [cell.strip() for cell in line.strip().strip("|").split("|")][2:]
            table.update({title: {} for title in titles})
        elif titles and line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            name = cells[0].strip("`")
            for title, cell in zip(titles, cells[2:], strict=False):
                probed = not cell.startswith("not probed")
                table[title][name] = cell.startswith("yes") if probed else None
        elif not line.startswith("|---"):
            titles = []
    return table
