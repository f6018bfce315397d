"""Per-test cost of the confluent-kafka fixtures against the kafka-python ones (issue 11).

    python benchmarks/confluent_fixtures.py [--rounds 10] [--kafka-backend embedded]
        [--clients confluent,kafka_python]

``--clients confluent_aio,confluent`` compares the async twins (``confluent_kafka.aio``,
pytest-asyncio) with the sync confluent fixtures instead.

One pytest run (fresh interpreter, one broker for all tests) holds ``rounds`` pairs of
tests, alternating which of the pair runs first. Both tests of a pair do the same thing:
take a fresh topic (``kafka_topic``), produce one record with the function-scoped
producer fixture, make a consumer with the consumer factory (a fresh group, the broker's
tuned timings) and read that first record:

* confluent: ``confluent_producer`` + ``confluent_consumer_factory`` + ``poll_records``;
* kafka-python: ``kafka_producer`` + ``kafka_consumer_factory`` + ``next(iter(consumer))``;
* confluent_aio: ``confluent_aio_producer`` (``produce``, ``flush``, the delivery awaited)
  + ``confluent_aio_consumer_factory`` + ``apoll_records``.

A test's time is its set-up + call + teardown (pytest's report durations), so it includes
the topic's creation and deletion, the same in both. A warm-up test (both clients
imported, broker started) comes first and a closing test last (the broker's stop falls
in its teardown); neither is counted. Prints every pair, then the median and range of each
and of their ratio (first client / second).
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
import pytest

from pytest_kafka_patterns import apoll_records, poll_records


def confluent(kafka_topic, confluent_producer, confluent_consumer_factory):
    confluent_producer.produce(kafka_topic, key=b"user_42", value=b'{"total": 10}')
    assert confluent_producer.flush(10) == 0
    [message] = poll_records(confluent_consumer_factory(kafka_topic), 1, timeout=30)
    assert message.value() == b'{"total": 10}'


def kafka_python(kafka_topic, kafka_producer, kafka_consumer_factory):
    kafka_producer.send(kafka_topic, key="user_42", value={"total": 10})
    kafka_producer.flush(10)
    assert next(iter(kafka_consumer_factory(kafka_topic))).value == {"total": 10}


async def confluent_aio(kafka_topic, confluent_aio_producer, confluent_aio_consumer_factory):
    delivered = await confluent_aio_producer.produce(kafka_topic, key=b"user_42",
                                                     value=b'{"total": 10}')
    assert await confluent_aio_producer.flush(10) == 0
    await delivered
    consumer = await confluent_aio_consumer_factory(kafka_topic)
    [message] = await apoll_records(consumer, 1, timeout=30)
    assert message.value() == b'{"total": 10}'
"""

#: A warm-up test per client: its clients imported, the broker started.
WARM_UP = """

{mark}{def_} test_0000_warm_up_{client}(kafka_topic_factory, {fixtures}):
    {await_}{client}(kafka_topic_factory(), {fixtures})
"""

TEST = """

{mark}{def_} test_{index:04d}_{client}(kafka_topic, {fixtures}):
    {await_}{client}(kafka_topic, {fixtures})
"""

FIXTURES = {
    "confluent": "confluent_producer, confluent_consumer_factory",
    "kafka_python": "kafka_producer, kafka_consumer_factory",
    "confluent_aio": "confluent_aio_producer, confluent_aio_consumer_factory",
}

CLOSING = """

def test_9999_closing(kafka_broker):
    pass
"""


def test_source(template: str, client: str, index: int = 0) -> str:
    asynchronous = client == "confluent_aio"
    return template.format(
        index=index, client=client, fixtures=FIXTURES[client],
        mark="@pytest.mark.asyncio\n" if asynchronous else "",
        def_="async def" if asynchronous else "def", await_="await " if asynchronous else "",
    )


def spread(samples: list[float], unit: str = "s") -> str:
    return (f"median {statistics.median(samples):.3f} {unit}  "
            f"range {min(samples):.3f}-{max(samples):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--kafka-backend", default="embedded")
    parser.add_argument("--clients", default="confluent,kafka_python",
                        help=f"two of {', '.join(FIXTURES)}, comma-separated")
    args = parser.parse_args()
    rounds = max(1, args.rounds)
    clients = tuple(args.clients.split(","))
    if len(clients) != 2 or not set(clients) <= set(FIXTURES) or clients[0] == clients[1]:
        parser.error(f"--clients: two different of {', '.join(FIXTURES)}")
    source = TESTS + "".join(test_source(WARM_UP, client) for client in clients)
    for index in range(1, rounds + 1):
        for client in clients[:: 1 if index % 2 else -1]:
            source += test_source(TEST, client, index)
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
    first, second = clients
    totals: dict[str, list[float]] = {first: [], second: []}
    ratios: list[float] = []
    phases: dict[tuple[str, str], list[float]] = {}
    print(f"{args.kafka_backend} broker, per test (set-up + call + teardown)")
    print(f"{'pair':>5} {first + ' s':>16} {second + ' s':>16} {'ratio':>6}")
    for index in range(1, rounds + 1):
        for client in clients:
            for when, seconds in durations[f"test_{index:04d}_{client}"].items():
                phases.setdefault((client, when), []).append(seconds)
            totals[client].append(sum(durations[f"test_{index:04d}_{client}"].values()))
        ratios.append(totals[first][-1] / totals[second][-1])
        print(f"{index:>5} {totals[first][-1]:>16.3f} {totals[second][-1]:>16.3f} "
              f"{ratios[-1]:>6.2f}")
    print()
    for client in clients:
        print(f"{client + ' fixtures:':<26} {spread(totals[client])}")
    print(f"{'ratio (same pair):':<26} median {statistics.median(ratios):.2f}  "
          f"range {min(ratios):.2f}-{max(ratios):.2f}")
    print()
    for (client, when), samples in sorted(phases.items()):
        print(f"  {client:<13} {when:<9} {spread(samples)}")


if __name__ == "__main__":
    main()
