"""The confluent-kafka async fixtures (``confluent_kafka.aio``) and ``apoll_records`` on a
real broker (issue 11).

Whatever backend the run uses; the inner pytest runs (teardown order, old or missing
confluent-kafka, no pytest-asyncio) pin themselves to the local backends.
"""

from __future__ import annotations

import asyncio
import json
import time
from importlib import metadata
from typing import Any

import pytest

from pytest_kafka_patterns.confluent import INSTALL_HINT, apoll_records
from pytest_kafka_patterns.confluent_aio import AIO_SINCE
from pytest_kafka_patterns.errors import TopicNotFound
from pytest_kafka_patterns.fixture_types import (
    ConfluentAioConsumerFactory,
    ConfluentAioProducerFactory,
    TopicFactory,
)

confluent_kafka = pytest.importorskip("confluent_kafka")
pytest.importorskip("confluent_kafka.aio")
pytest.importorskip("pytest_asyncio")


async def produce(producer: Any, topic: str, *values: bytes, key: bytes = b"user_42") -> None:
    delivered = [await producer.produce(topic, key=key, value=value) for value in values]
    assert await producer.flush(10) == 0
    for future in delivered:
        await future  # each resolves to the delivered message, or raises its error


@pytest.mark.asyncio
async def test_async_round_trip_through_the_fixtures(
    kafka_topic_factory: TopicFactory, confluent_aio_producer: Any,
    confluent_aio_consumer_factory: ConfluentAioConsumerFactory,
) -> None:
    topic = kafka_topic_factory("aio-orders", partitions=1)
    await produce(confluent_aio_producer, topic, b'{"total": 10}', b'{"total": 20}',
                  b'{"total": 30}')
    consumer = await confluent_aio_consumer_factory(topic)
    messages = await apoll_records(consumer, 3)
    assert [(m.topic(), m.key(), m.value()) for m in messages] == [
        (topic, b"user_42", b'{"total": 10}'), (topic, b"user_42", b'{"total": 20}'),
        (topic, b"user_42", b'{"total": 30}'),
    ]
    assert [m.offset() for m in messages] == [0, 1, 2]


@pytest.mark.asyncio
async def test_the_factories_take_librdkafka_config_and_give_each_consumer_its_group(
    kafka_topic_factory: TopicFactory,
    confluent_aio_producer_factory: ConfluentAioProducerFactory,
    confluent_aio_consumer_factory: ConfluentAioConsumerFactory,
) -> None:
    """The sync fixtures' configuration: librdkafka names pass through, and each
    consumer made without ``group_id`` reads from the start in a group of its own."""
    topic = kafka_topic_factory("aio-groups", partitions=1)
    producer = await confluent_aio_producer_factory(**{"linger.ms": 0, "client.id": "aio-p"})
    await produce(producer, topic, b"a", b"b")
    for _ in range(2):
        consumer = await confluent_aio_consumer_factory(topic, **{"enable.auto.commit": False})
        assert [m.value() for m in await apoll_records(consumer, 2)] == [b"a", b"b"]
        await consumer.commit(asynchronous=False)
        await consumer.close()  # closed by the test: the teardown leaves it alone
    await producer.close()  # so is a producer


@pytest.mark.asyncio
async def test_apoll_records_names_the_shortfall_in_time_and_lets_the_loop_run(
    kafka_topic_factory: TopicFactory, confluent_aio_producer: Any,
    confluent_aio_consumer_factory: ConfluentAioConsumerFactory,
) -> None:
    topic = kafka_topic_factory("aio-short", partitions=1)
    await produce(confluent_aio_producer, topic, b"only one")
    consumer = await confluent_aio_consumer_factory(topic)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beside = asyncio.get_running_loop().create_task(ticker())
    started = time.monotonic()
    try:
        with pytest.raises(AssertionError) as caught:
            await apoll_records(consumer, 3, timeout=3.0)
    finally:
        beside.cancel()
    took = time.monotonic() - started
    assert str(caught.value) == (
        f"apoll_records: 1 of 3 record(s) arrived within 3 s from {topic}; assigned {topic}[0]"
    )
    assert took < 3.0 + 1.0, f"apoll_records(timeout=3) took {took:.2f} s"
    # ~300 ticks when the loop is free; a poll that blocked the loop for each 0.1 s
    # consume() would leave one tick per consume(), ~30.
    assert ticks >= took / 0.01 / 3, f"the event loop ran {ticks} ticks of 10 ms in {took:.2f} s"
    assert await apoll_records(consumer, 0) == []


@pytest.mark.asyncio
async def test_apoll_records_without_assignment_and_on_a_missing_topic(
    kafka_topic: str, confluent_aio_consumer_factory: ConfluentAioConsumerFactory,
) -> None:
    idle = await confluent_aio_consumer_factory()
    with pytest.raises(AssertionError, match=(
        rf"^apoll_records: 0 of 1 record\(s\) arrived within 0.5 s from {kafka_topic}; "
        "no partitions assigned"
    )):
        await apoll_records(idle, 1, timeout=0.5, topics=[kafka_topic])

    missing = f"no-such-topic-{kafka_topic}"
    lost = await confluent_aio_consumer_factory(missing)
    with pytest.raises(TopicNotFound, match=rf"^apoll_records: topic '{missing}' does not exist"):
        await apoll_records(lost, 1, timeout=10.0)
    with pytest.raises(ValueError, match=r"apoll_records\(count=1, timeout=0\)"):
        await apoll_records(lost, 1, timeout=0)


TEARDOWN_ORDER = """
import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from pytest_kafka_patterns import topics
from pytest_kafka_patterns.confluent_aio import (
    confluent_aio_consumer_factory_fixture, confluent_aio_producer_factory_fixture)

unordered_consumers = confluent_aio_consumer_factory_fixture(topic_factory=None)
unordered_producers = confluent_aio_producer_factory_fixture(topic_factory=None)
clients = []


def consumer_state(consumer):
    # The test's loop is not running while the topic factory tears down: ask on a loop
    # of another thread. A closed AIOConsumer refuses every call with RuntimeError.
    try:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, consumer.assignment()).result()
        return "consumer open"
    except RuntimeError:
        return "consumer closed"


@pytest.fixture
def spy(monkeypatch):
    real = topics.delete_topics

    def delete_topics(admin, names):
        seen = []
        for kind, client in clients:
            if kind == "consumer":
                seen.append(consumer_state(client))
            else:
                seen.append(f"producer holds {len(client)}")
        with open("order.json", "a") as out:
            out.write(json.dumps(seen) + "\\n")
        clients.clear()
        return real(admin, names)

    monkeypatch.setattr(topics, "delete_topics", delete_topics)


async def use(consumers, producers, topic):
    consumer = await consumers(topic, **{"enable.auto.commit": False})
    await consumer.poll(0.5)
    producer = await producers(**{"linger.ms": 60000})
    await producer.produce(topic, b"pending")  # buffered by AIOProducer for up to 1 s
    clients.extend([("consumer", consumer), ("producer", producer)])


# The clients' factories are set up before the topic factory, so without the ordering
# the topic factory would tear down (delete the topics) first.
@pytest.mark.asyncio
async def test_fixtures(spy, confluent_aio_consumer_factory, confluent_aio_producer_factory,
                        kafka_topic_factory):
    await use(confluent_aio_consumer_factory, confluent_aio_producer_factory,
              kafka_topic_factory())


@pytest.mark.asyncio
async def test_unordered(spy, unordered_consumers, unordered_producers, kafka_topic_factory):
    await use(unordered_consumers, unordered_producers, kafka_topic_factory())
"""


def test_clients_are_closed_before_the_tests_topics_are_deleted(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    """When the topic factory deletes the test's topics, the fixtures' AIOConsumers are
    closed and their AIOProducers flushed and closed; factories declared without the
    ordering (``topic_factory=None``) show the check sees the difference."""
    pytester.makepyfile(test_order=TEARDOWN_ORDER)
    result = pytester.runpytest_inprocess(*local_backends, "-p", "no:randomly",
                                          "-W", "ignore::UserWarning")
    result.assert_outcomes(passed=2)
    seen = [json.loads(line) for line in (pytester.path / "order.json").read_text().splitlines()]
    assert seen == [
        ["consumer closed", "producer holds 0"],
        ["consumer open", "producer holds 1"],
    ]


UNDELIVERABLE = """
import pytest
from pytest_kafka_patterns import confluent, confluent_aio

confluent.FLUSH_TIMEOUT = 0.5  # this inner run's own interpreter
confluent_aio.CLOSE_TIMEOUT = 2.0


@pytest.mark.asyncio
async def test_undeliverable(confluent_aio_producer_factory):
    producer = await confluent_aio_producer_factory(
        **{"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 6000})
    await producer.produce("nowhere", b"never delivered")
"""


def test_an_undeliverable_message_is_named_then_purged_so_close_is_prompt(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    """``AIOProducer.close()`` flushes with no timeout: the teardown warns about what its
    bounded flush left, then purges it, so the close neither waits out
    ``message.timeout.ms`` nor runs into the close timeout."""
    pytester.makepyfile(UNDELIVERABLE)
    result = pytester.runpytest_subprocess(*local_backends, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert ("confluent-kafka producer: 1 message(s) still undelivered after flushing for "
            "0.5 s at teardown") in output
    assert "did not close" not in output


USES_THE_FIXTURES = """
import pytest

@pytest.mark.asyncio
async def test_producer(confluent_aio_producer): pass
@pytest.mark.asyncio
async def test_producer_factory(confluent_aio_producer_factory): pass
@pytest.mark.asyncio
async def test_consumer_factory(confluent_aio_consumer_factory): pass
"""


def test_without_confluent_kafka_aio_the_tests_are_skipped_naming_the_versions(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    """A confluent-kafka older than 2.13.0 has no ``confluent_kafka.aio``: made real in the
    inner run's own interpreter by a conftest that puts ``None`` in ``sys.modules`` for it
    (what the import system reports for a module that cannot be found)."""
    pytester.makeconftest("import sys\nsys.modules['confluent_kafka.aio'] = None\n")
    pytester.makepyfile(USES_THE_FIXTURES)
    result = pytester.runpytest_subprocess(*local_backends, "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=3)
    found = metadata.version("confluent-kafka")
    assert found.count(".") == 2, found
    reasons = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    assert len(reasons) == 3 and all(line.endswith(
        f"needs confluent-kafka >= {AIO_SINCE} (confluent_kafka.aio); found {found}: "
        f"pip install 'confluent-kafka>={AIO_SINCE}'") for line in reasons), reasons
    assert "kafka-patterns services" not in result.stdout.str(), "no broker was started"


def test_without_confluent_kafka_set_up_fails_with_the_install_line(
    pytester: pytest.Pytester, local_backends: tuple[str, ...]
) -> None:
    pytester.makeconftest(
        "import sys\nfor m in ('confluent_kafka', 'confluent_kafka.aio'):\n"
        "    sys.modules[m] = None\n"
    )
    pytester.makepyfile(USES_THE_FIXTURES)
    result = pytester.runpytest_subprocess(*local_backends, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    # one per test in the ERRORS section (the short summary repeats them when $CI is set)
    errors = [line for line in result.stdout.lines if line.startswith("the confluent_aio_")]
    assert len(errors) == 3 and all(line.endswith(INSTALL_HINT) for line in errors), errors
    assert "kafka-patterns services" not in result.stdout.str(), "no broker was started"


def test_without_pytest_asyncio_the_fixtures_are_absent(pytester: pytest.Pytester) -> None:
    """As the aiokafka fixtures: no pytest-asyncio, no async fixtures."""
    pytester.makepyfile("def test_x(confluent_aio_producer_factory): pass")
    result = pytester.runpytest_inprocess("-p", "no:asyncio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'confluent_aio_producer_factory' not found*"])


@pytest.mark.asyncio
async def test_the_wrong_consumer_kind_says_what_to_write(
    kafka_topic: str, confluent_aio_consumer_factory: ConfluentAioConsumerFactory,
    confluent_consumer_factory: Any,
) -> None:
    """A factory call not awaited, or a consumer of the other kind: a TypeError naming the
    fix, not ``'coroutine' object has no attribute 'consume'``."""
    from pytest_kafka_patterns.confluent import poll_records

    pending = confluent_aio_consumer_factory(kafka_topic)
    with pytest.raises(TypeError, match=r"did you forget `await` before "
                                        r"confluent_aio_consumer_factory"):
        await apoll_records(pending, 1, timeout=1)  # type: ignore[arg-type]
    aio = await confluent_aio_consumer_factory(kafka_topic)
    with pytest.raises(TypeError, match=r"poll_records got an AIOConsumer: use "
                                        r"`await apoll_records\(consumer, \.\.\.\)`"):
        poll_records(aio, 1, timeout=1)
    sync = confluent_consumer_factory(kafka_topic)
    with pytest.raises(TypeError, match=r"apoll_records got a confluent_kafka.Consumer: use "
                                        r"`poll_records\(consumer, \.\.\.\)`"):
        await apoll_records(sync, 1, timeout=1)
