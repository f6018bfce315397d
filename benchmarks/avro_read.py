"""Avro (Confluent wire format, through the registry) beside JSON: encode, decode and
``read_topic`` on the same order.created events (issue 11).

    python benchmarks/avro_read.py [--records 100000] [--rounds 5]

Starts an embedded (Tansu) broker and uses confluent-kafka's in-process mock registry
(the ``schema_registry`` fixture's default; an external registry adds one HTTP lookup
per schema id, cached afterwards). Builds ``--records`` order.created events (the
shipped ``order_created.avsc`` shape) and, per round, alternating which goes first:

* encode: every event with ``json_serializer`` (what the kafka-python fixtures use) and
  with ``SchemaRegistry.serializer`` (confluent-kafka's ``AvroSerializer``, fastavro);
* decode: every encoded value with ``json_deserializer`` and with
  ``SchemaRegistry.deserializer()`` (``AvroDeserializer``), without a broker;
* read: ``read_topic`` of a 3-partition topic holding the JSON values, and of one holding
  the Avro values with ``value_deserializer=schema_registry.deserializer()``.

Prints records/s per round, then the median and range of each and of the Avro/JSON time
ratios (> 1: Avro is slower).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from kafka import KafkaAdminClient

from pytest_kafka_patterns import read_topic
from pytest_kafka_patterns.avro import SchemaRegistry, event_schema, new_client
from pytest_kafka_patterns.backends.embedded import start_kafka
from pytest_kafka_patterns.clients import json_deserializer, json_serializer
from pytest_kafka_patterns.config import KafkaSettings
from pytest_kafka_patterns.topics import create_topic

USERS = 1000


def events(count: int) -> list[dict[str, Any]]:
    out = []
    for index in range(count):
        out.append({
            "event_type": "order.created",
            "event_id": f"{index:08x}-0000-4000-8000-{index:012x}",
            "timestamp": "2025-01-01T00:00:00.000000",
            "data": {
                "order_id": f"order_{index:08x}", "user_id": f"user_{index % USERS:03d}",
                "items": [{"product_id": "prod_1", "name": "Widget", "price": 29.99,
                           "quantity": 2}],
                "total": 59.98, "status": "pending",
                "created_at": "2025-01-01T00:00:00.000000",
            },
        })
    return out


def produce(bootstrap: str, topic: str, keys: list[bytes], values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": 1,
                         "batch.size": 256 * 1024})
    for key, value in zip(keys, values, strict=True):
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0


def timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def summary(name: str, seconds: list[float], count: int) -> str:
    rates = sorted(count / s for s in seconds)
    return (f"{name:<12} median {statistics.median(rates):>9,.0f} records/s "
            f"(range {rates[0]:,.0f}-{rates[-1]:,.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    count = args.records

    registry = SchemaRegistry("mock://bench", "mock", new_client("mock://bench"))
    encode_avro = registry.serializer(event_schema("order.created"))
    decode_avro = registry.deserializer()
    built = events(count)
    keys = [event["data"]["user_id"].encode() for event in built]

    times: dict[str, list[float]] = {name: [] for name in (
        "encode json", "encode avro", "decode json", "decode avro", "read json", "read avro")}
    json_values = [json_serializer(event) for event in built]
    avro_values = [encode_avro(event, "bench-avro") for event in built]
    assert decode_avro(avro_values[0]) == built[0]
    print(f"{count} order.created events: JSON {statistics.mean(map(len, json_values)):.0f} "
          f"bytes, Avro {statistics.mean(map(len, avro_values)):.0f} bytes on average")

    with tempfile.TemporaryDirectory(prefix="kp-bench-") as workdir:
        running = start_kafka(KafkaSettings(backend="embedded"), Path(workdir))
        try:
            bootstrap = running.info.bootstrap_servers
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            for topic in ("bench-json", "bench-avro"):
                create_topic(admin, topic, 3)
            admin.close()
            produce(bootstrap, "bench-json", keys, json_values)
            produce(bootstrap, "bench-avro", keys, avro_values)

            def read_json() -> None:
                assert len(read_topic(bootstrap, "bench-json", min_records=count,
                                      timeout=120)) == count

            def read_avro() -> None:
                records = read_topic(bootstrap, "bench-avro", min_records=count, timeout=120,
                                     value_deserializer=decode_avro)
                assert len(records) == count

            jobs: dict[str, Callable[[], Any]] = {
                "encode json": lambda: [json_serializer(e) for e in built],
                "encode avro": lambda: [encode_avro(e, "bench-avro") for e in built],
                "decode json": lambda: [json_deserializer(v) for v in json_values],
                "decode avro": lambda: [decode_avro(v) for v in avro_values],
                "read json": read_json,
                "read avro": read_avro,
            }
            for round_ in range(args.rounds):
                for kind in ("encode", "decode", "read"):
                    order = ("json", "avro") if round_ % 2 == 0 else ("avro", "json")
                    for fmt in order:
                        times[f"{kind} {fmt}"].append(timed(jobs[f"{kind} {fmt}"]))
                print(f"round {round_ + 1}: " + ", ".join(
                    f"{name} {count / seconds[-1]:,.0f}/s" for name, seconds in times.items()))
            print(running.info.version)
        finally:
            running.stop()

    for name, seconds in times.items():
        print(summary(name, seconds, count))
    for kind in ("encode", "decode", "read"):
        ratios = sorted(a / j for a, j in zip(times[f"{kind} avro"], times[f"{kind} json"],
                                               strict=True))
        print(f"{kind}: Avro/JSON time ratio median {statistics.median(ratios):.2f} "
              f"(range {ratios[0]:.2f}-{ratios[-1]:.2f})")


if __name__ == "__main__":
    main()
