"""Per-test cost of the confluent-kafka fixtures against the kafka-python ones (issue 11).

    python benchmarks/confluent_fixtures.py [--rounds 10] [--kafka-backend embedded]

One pytest run (fresh interpreter, one broker for all tests) holds ``rounds`` pairs of
tests, alternating which of the pair runs first. Both tests of a pair do the same thing:
take a fresh topic (``kafka_topic``), produce one record with the function-scoped
producer fixture, make a consumer with the consumer factory (a fresh group, the broker's
tuned timings) and read that first record:

* confluent: ``confluent_producer`` + ``confluent_consumer_factory`` + ``poll_records``;
* kafka-python: ``kafka_producer`` + ``kafka_consumer_factory`` + ``next(iter(consumer))``.

A test's time is its set-up + call + teardown (pytest's report durations), so it includes
the topic's creation and deletion, the same in both. A warm-up test (both clients
imported, broker started) comes first and a closing test last (the broker's stop falls
in its teardown); neither is counted. Prints every pair, then the median and range of each
and of their ratio (confluent / kafka-python).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CONFTEST = """
import json

durations = {}


def pytest_runtest_logreport(report):
    durations.setdefault(report.nodeid.split("::")[-1], {})[report.when] = report.duration


def pytest_sessionfinish(session):
    with open("durations.json", "w") as out:
        json.dump(durations, out)
"""

TESTS = """
from pytest_kafka_patterns import poll_records


def confluent(kafka_topic, confluent_producer, confluent_consumer_factory):
    confluent_producer.produce(kafka_topic, key=b"user_42", value=b'{"total": 10}')
    assert confluent_producer.flush(10) == 0
    [message] = poll_records(confluent_consumer_factory(kafka_topic), 1, timeout=30)
    assert message.value() == b'{"total": 10}'


def kafka_python(kafka_topic, kafka_producer, kafka_consumer_factory):
    kafka_producer.send(kafka_topic, key="user_42", value={"total": 10})
    kafka_producer.flush(10)
    assert next(iter(kafka_consumer_factory(kafka_topic))).value == {"total": 10}


def test_0000_warm_up(kafka_topic_factory, confluent_producer, confluent_consumer_factory,
                      kafka_producer, kafka_consumer_factory):
    confluent(kafka_topic_factory(), confluent_producer, confluent_consumer_factory)
    kafka_python(kafka_topic_factory(), kafka_producer, kafka_consumer_factory)
"""

PAIR = """

def test_{index:04d}_{first}(kafka_topic, {first_fixtures}):
    {first}(kafka_topic, {first_fixtures})


def test_{index:04d}_{second}(kafka_topic, {second_fixtures}):
    {second}(kafka_topic, {second_fixtures})
"""

FIXTURES = {
    "confluent": "confluent_producer, confluent_consumer_factory",
    "kafka_python": "kafka_producer, kafka_consumer_factory",
}

CLOSING = """

def test_9999_closing(kafka_broker):
    pass
"""


def spread(samples: list[float], unit: str = "s") -> str:
    return (f"median {statistics.median(samples):.3f} {unit}  "
            f"range {min(samples):.3f}-{max(samples):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--kafka-backend", default="embedded")
    args = parser.parse_args()
    rounds = max(1, args.rounds)
    source = TESTS
    for index in range(1, rounds + 1):
        first, second = ("confluent", "kafka_python")[:: 1 if index % 2 else -1]
        source += PAIR.format(index=index, first=first, second=second,
                              first_fixtures=FIXTURES[first], second_fixtures=FIXTURES[second])
    source += CLOSING
    with tempfile.TemporaryDirectory(prefix="confluent-fixtures-") as tmp:
        directory = Path(tmp)
        (directory / "pytest.ini").write_text("[pytest]\n")  # no rootdir search upwards
        (directory / "conftest.py").write_text(CONFTEST)
        (directory / "test_pairs.py").write_text(source)
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
             f"--kafka-backend={args.kafka_backend}", "test_pairs.py"],
            cwd=directory, check=True, stdout=subprocess.DEVNULL,
        )
        durations: dict[str, dict[str, float]] = json.loads(
            (directory / "durations.json").read_text())
    confluent: list[float] = []
    kafka_python: list[float] = []
    ratios: list[float] = []
    phases: dict[tuple[str, str], list[float]] = {}
    print(f"{args.kafka_backend} broker, per test (set-up + call + teardown)")
    print(f"{'pair':>5} {'confluent s':>12} {'kafka-python s':>15} {'ratio':>6}")
    for index in range(1, rounds + 1):
        for client in ("confluent", "kafka_python"):
            for when, seconds in durations[f"test_{index:04d}_{client}"].items():
                phases.setdefault((client, when), []).append(seconds)
        ours = sum(durations[f"test_{index:04d}_confluent"].values())
        theirs = sum(durations[f"test_{index:04d}_kafka_python"].values())
        confluent.append(ours)
        kafka_python.append(theirs)
        ratios.append(ours / theirs)
        print(f"{index:>5} {ours:>12.3f} {theirs:>15.3f} {ratios[-1]:>6.2f}")
    print()
    print(f"confluent-kafka fixtures: {spread(confluent)}")
    print(f"kafka-python fixtures:    {spread(kafka_python)}")
    print(f"ratio (same pair):        median {statistics.median(ratios):.2f}  "
          f"range {min(ratios):.2f}-{max(ratios):.2f}")
    print()
    for (client, when), samples in sorted(phases.items()):
        print(f"  {client:<13} {when:<9} {spread(samples)}")


if __name__ == "__main__":
    main()
