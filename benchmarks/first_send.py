"""The first send to a new topic: producer made before the topic, after it, and before
it with ``partitions_for(topic)`` called once the topic exists.

    python benchmarks/first_send.py [--repeat 7]

kafka-python 3.0.12 keeps its metadata retry backoff at 100 ms whatever
``retry_backoff_ms`` says (docs/kafka-python-metadata-backoff.md): a producer that
fetched metadata less than 100 ms before the topic existed waits the rest at its first
send. Prints the median and range of each way (interleaved rounds, one embedded broker),
and what ``partitions_for`` itself took: it moves the wait, it does not remove it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from kafka import KafkaAdminClient

from pytest_kafka_patterns import clients, topics
from pytest_kafka_patterns.backends import embedded
from pytest_kafka_patterns.config import KafkaSettings

WAYS = ("producer made before the topic (baseline)", "producer made after the topic",
        "before, then partitions_for(topic)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    running = embedded.start_kafka(KafkaSettings(backend="embedded"), Path(tempfile.mkdtemp()))
    try:
        bootstrap = running.info.bootstrap_servers
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        sends: dict[str, list[float]] = {way: [] for way in WAYS}
        partitions_for: list[float] = []
        for round_ in range(args.repeat):
            for way in WAYS:
                name = topics.unique_name("first-send", f"r{round_}")
                if way == WAYS[1]:
                    topics.create_topic(admin, name, 3)
                    producer = clients.new_producer(bootstrap)
                else:
                    producer = clients.new_producer(bootstrap)
                    topics.create_topic(admin, name, 3)
                    if way == WAYS[2]:
                        started = time.perf_counter()
                        producer.partitions_for(name)
                        partitions_for.append(time.perf_counter() - started)
                started = time.perf_counter()
                producer.send(name, key="k", value={"n": 1}).get(10)
                sends[way].append(time.perf_counter() - started)
                producer.close()
        admin.close()
    finally:
        running.stop()
    baseline = statistics.median(sends[WAYS[0]])
    print(f"{'first send, ms':<45} {'median':>7} {'min':>7} {'max':>7}  ratio  (n={args.repeat})")
    for way in WAYS:
        values = [v * 1000 for v in sends[way]]
        print(f"{way:<45} {statistics.median(values):>7.1f} {min(values):>7.1f} "
              f"{max(values):>7.1f}  {statistics.median(sends[way]) / baseline:.2f}")
    values = [v * 1000 for v in partitions_for]
    print(f"{'  (partitions_for itself)':<45} {statistics.median(values):>7.1f} "
          f"{min(values):>7.1f} {max(values):>7.1f}")


if __name__ == "__main__":
    main()
