"""read_topic (on each client) vs raw kafka-python and confluent-kafka consumers, and the
cost of each assertion.

Starts an embedded (Tansu) broker, produces ``--records`` order events to a 3-partition
topic, then reads them all back ``--rounds`` times with each reader, interleaved. Every
raw reader is ``KafkaConsumer`` + ``assign`` + ``poll`` with the same JSON/UTF-8
deserializers, keeping the records in a list (as a test must), and is told how many
records to expect; read_topic has to find the end by Fetch high watermarks and builds
``Record`` objects.

* ``raw defaults``: kafka-python's default fetch settings (CRC-32C checked in pure Python);
* ``raw tuned``: read_topic's fetch settings (bigger fetches, no CRC check);
* ``raw tuned+nogc``: the same with the cyclic GC paused, as read_topic does; the gap
  between this row and read_topic is read_topic's own overhead;
* ``raw confluent-kafka`` (``+nogc``): ``confluent_kafka.Consumer`` + ``assign`` +
  ``consume(num_messages=...)``, read_topic's fetch settings, the same decoding;
* ``read_topic kafka-python`` / ``read_topic confluent``: ``read_topic(client=...)``.

Each round times every reader once; ratios (records/s relative to read_topic on
kafka-python) are medians and ranges of the per-round pairs, by wall time and by this
process's CPU time (all its threads: librdkafka's included; steadier when the machine is
shared). Then small reads (an empty topic, 10 records) on each client, and each
assertion on the records read. Usage::

    python benchmarks/read.py --records 100000
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from pytest_kafka_patterns import (
    assert_delivered,
    assert_exactly_once_effect,
    assert_group_caught_up,
    assert_ordered_by_key,
    assert_routed_to_dlq,
    eventually,
    read_topic,
    reading,
)
from pytest_kafka_patterns.backends.embedded import start_kafka
from pytest_kafka_patterns.clients import json_deserializer, json_serializer, key_deserializer
from pytest_kafka_patterns.config import KafkaSettings
from pytest_kafka_patterns.topics import create_topic

TOPIC = "bench-orders"
USERS = 1000


def produce(bootstrap: str, count: int) -> list[dict[str, Any]]:
    """``count`` order.created events (DLQ-shaped: they carry ``_error``/``_retry_count``),
    keyed by user, with a per-user sequence number; returns them in produce order."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, value_serializer=json_serializer,
        key_serializer=str.encode, linger_ms=20, batch_size=256 * 1024, acks=1,
    )
    events = []
    for index in range(count):
        user = f"user_{index % USERS:03d}"
        event = {
            "event_type": "order.created",
            "event_id": f"{index:08x}-0000-4000-8000-{index:012x}",
            "timestamp": "2025-01-01T00:00:00.000000",
            "data": {
                "order_id": f"order_{index:08x}", "user_id": user, "status": "pending",
                "items": [{"product_id": "prod_1", "name": "Widget", "price": 29.99,
                           "quantity": 2}],
                "total": 59.98, "created_at": "2025-01-01T00:00:00.000000",
                "seq": index // USERS,
            },
            "_retry_count": 3,
            "_error": "boom",
        }
        events.append(event)
        producer.send(TOPIC, key=user, value=event)
    producer.flush()
    producer.close()
    return events


def raw_read(bootstrap: str, count: int, tuned: bool) -> list[Any]:
    """assign + poll until ``count`` records; returns them."""
    tuning: dict[str, Any] = {}
    if tuned:
        tuning = {
            "fetch_max_wait_ms": reading.FETCH_MAX_WAIT_MS,
            "max_poll_records": reading.MAX_POLL_RECORDS,
            "max_partition_fetch_bytes": reading.MAX_PARTITION_FETCH_BYTES,
            "check_crcs": reading.CHECK_CRCS,
        }
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        value_deserializer=json_deserializer, key_deserializer=key_deserializer, **tuning,
    )
    tps = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC))]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    seen: list[Any] = []
    while len(seen) < count:
        for batch in consumer.poll(timeout_ms=100).values():
            seen.extend(batch)
    consumer.close()
    return seen


def raw_confluent_read(bootstrap: str, count: int) -> list[Any]:
    """confluent_kafka.Consumer: assign + consume until ``count`` records; returns the
    decoded (key, value) pairs beside each message (a test needs both)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer
    from confluent_kafka import TopicPartition as ConfluentTopicPartition

    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": "bench-unused",
        "enable.auto.commit": False, "enable.auto.offset.store": False,
        "fetch.wait.max.ms": reading.FETCH_MAX_WAIT_MS,
        "max.partition.fetch.bytes": reading.MAX_PARTITION_FETCH_BYTES,
    })
    partitions = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
    consumer.assign([ConfluentTopicPartition(TOPIC, p, OFFSET_BEGINNING)
                     for p in sorted(partitions)])
    seen: list[Any] = []
    while len(seen) < count:
        wanted = min(reading.MAX_POLL_RECORDS, count - len(seen))  # never wait for more
        for message in consumer.consume(num_messages=wanted, timeout=0.1):
            if message.error() is not None:
                raise RuntimeError(message.error())
            seen.append((message, key_deserializer(message.key()),
                         json_deserializer(message.value())))
    consumer.close()
    return seen


def raw_confluent_read_nogc(bootstrap: str, count: int) -> list[Any]:
    with reading.gc_paused():
        return raw_confluent_read(bootstrap, count)


def raw_read_nogc(bootstrap: str, count: int) -> list[Any]:
    with reading.gc_paused():
        return raw_read(bootstrap, count, tuned=True)


def small_reads(bootstrap: str, admin: KafkaAdminClient, rounds: int) -> None:
    """What a test mostly reads: read_topic of an empty 3-partition topic and of one with
    10 records, on each client, interleaved; milliseconds, median (range)."""
    create_topic(admin, "bench-empty", 3)
    create_topic(admin, "bench-small", 3)
    producer = KafkaProducer(bootstrap_servers=bootstrap, value_serializer=json_serializer)
    for n in range(10):
        producer.send("bench-small", value={"n": n}, partition=n % 3)
    producer.flush()
    producer.close()
    cases = [(topic, client) for topic in ("bench-empty", "bench-small")
             for client in ("kafka-python", "confluent-kafka")]
    times: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
    for _ in range(rounds):
        for topic, client in cases:
            seconds, _records = timed(lambda: read_topic(bootstrap, topic, client=client))  # type: ignore[arg-type]  # noqa: B023
            times[topic, client].append(seconds * 1000)
    print(f"\n{'small read (ms)':<36}{'median (range)':>20}")
    for (topic, client), values in times.items():
        spread = f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"
        print(f"{topic + ' ' + client:<36}{spread:>20}")


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)

    with tempfile.TemporaryDirectory(prefix="kp-bench-") as workdir:
        running = start_kafka(KafkaSettings(backend="embedded"), Path(workdir))
        try:
            bootstrap = running.info.bootstrap_servers
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            create_topic(admin, TOPIC, 3)
            seconds, events = timed(lambda: produce(bootstrap, args.records))
            print(f"{running.info.version}, {args.records} records produced in {seconds:.1f} s")

            readers: dict[str, Callable[[], list[Any]]] = {
                "raw defaults": lambda: raw_read(bootstrap, args.records, tuned=False),
                "raw tuned": lambda: raw_read(bootstrap, args.records, tuned=True),
                "raw tuned+nogc": lambda: raw_read_nogc(bootstrap, args.records),
                "raw confluent-kafka": lambda: raw_confluent_read(bootstrap, args.records),
                "raw confluent+nogc": lambda: raw_confluent_read_nogc(bootstrap, args.records),
                "read_topic kafka-python": lambda: read_topic(
                    bootstrap, TOPIC, min_records=args.records, timeout=120,
                    client="kafka-python"),
                "read_topic confluent": lambda: read_topic(
                    bootstrap, TOPIC, min_records=args.records, timeout=120,
                    client="confluent-kafka"),
            }
            wall: dict[str, list[float]] = {name: [] for name in readers}
            cpu: dict[str, list[float]] = {name: [] for name in readers}
            records: list[Any] = []
            for _ in range(args.rounds):
                for name, reader in readers.items():
                    records = []
                    gc.collect()
                    started_cpu = time.process_time()
                    seconds, records = timed(reader)
                    cpu[name].append(time.process_time() - started_cpu)
                    assert len(records) == args.records, (name, len(records))
                    wall[name].append(seconds)

            print(f"\n{'reader':<26}{'records/s median (range)':>28}{'client CPU s':>14}")
            for name in readers:
                rates = [args.records / seconds for seconds in wall[name]]
                spread = f"{statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"
                print(f"{name:<26}{spread:>28}{statistics.median(cpu[name]):>14.2f}")
            print("\nrecords/s relative to read_topic kafka-python, per-round pairs, "
                  "median (range); client CPU median:")
            baseline = "read_topic kafka-python"
            for name in readers:
                if name == baseline:
                    continue
                pairs = [mine / other for other, mine in zip(wall[name], wall[baseline],
                                                             strict=True)]
                cpu_pairs = [mine / other for other, mine in zip(cpu[name], cpu[baseline],
                                                                 strict=True)]
                print(f"  {name:<26} {statistics.median(pairs):.2f} "
                      f"({min(pairs):.2f}-{max(pairs):.2f}); "
                      f"{statistics.median(cpu_pairs):.2f}")

            small_reads(bootstrap, admin, args.rounds * 3)

            group = "bench-group"
            committer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                      enable_auto_commit=False)
            ends = reading.high_watermarks(bootstrap, TOPIC)
            committer.commit({TopicPartition(TOPIC, p): OffsetAndMetadata(end, "", -1)
                              for p, end in ends.items()})
            committer.close()

            effects = [event["data"]["order_id"].encode() for event in events]
            ids = [event["event_id"] for event in events]
            checks: dict[str, Callable[[], Any]] = {
                "assert_delivered (dicts, allow_extra=False)":
                    lambda: assert_delivered(records, events, allow_extra=False),
                "assert_delivered (ids)": lambda: assert_delivered(records, ids),
                "assert_ordered_by_key (expected)":
                    lambda: assert_ordered_by_key(records, expected=events),
                "assert_ordered_by_key (seq_of)":
                    lambda: assert_ordered_by_key(records, seq_of=lambda v: v["data"]["seq"]),
                "assert_routed_to_dlq (max_retries=3)":
                    lambda: assert_routed_to_dlq(records, events, max_retries=3),
                "assert_exactly_once_effect (bytes ids)":
                    lambda: assert_exactly_once_effect(
                        effects, events, id_of=lambda e: e["data"]["order_id"]),
                "assert_group_caught_up": lambda: assert_group_caught_up(bootstrap, group, TOPIC),
                "eventually (passes at once)": lambda: eventually(lambda: None),
            }
            print(f"\n{'assertion on ' + str(len(records)) + ' records':<46}{'seconds':>9}")
            for name, check in checks.items():
                seconds, _ = timed(check)
                print(f"{name:<46}{seconds:>9.3f}")
            missing = [*events[:-1], dict(events[-1], event_id="not-there")]
            seconds, _error = timed(lambda: _failure(lambda: assert_delivered(records, missing)))
            print(f"{'assert_delivered, failing (1 missing)':<46}{seconds:>9.3f}")
            admin.close()
        finally:
            running.stop()


def _failure(check: Callable[[], Any]) -> AssertionError:
    try:
        check()
    except AssertionError as exc:
        return exc
    raise RuntimeError("the check was expected to fail")


if __name__ == "__main__":
    main()
