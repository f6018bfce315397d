"""Async twins of the confluent-kafka fixtures: ``confluent_kafka.aio`` clients.

``confluent_kafka.aio`` (``AIOProducer``, ``AIOConsumer``: the blocking librdkafka calls
run in a thread pool, each method is awaited) is in confluent-kafka **2.13.0** and later
(2025-12-15, "Remove experimental module designation for Async classes", #2143).
2.12.x shipped the same classes as ``confluent_kafka.experimental.aio``, marked
experimental / beta; these fixtures do not use that module.

Registered by the plugin when pytest-asyncio is active (as the aiokafka fixtures of
:mod:`.aio`; without it they do not exist: "fixture not found"). ``confluent_kafka`` is
imported only inside them. In a test that uses one:

* without confluent-kafka, set-up fails with the ``[confluent]`` pip line, as for the
  sync fixtures (:func:`.confluent.require_confluent`);
* with a confluent-kafka older than 2.13.0 (no ``confluent_kafka.aio``), the test is
  *skipped*, the reason naming the version found and the version needed.

The clients get the sync fixtures' configuration (:func:`.confluent.producer_config`,
:func:`.confluent.consumer_config`: librdkafka names, ``acks=all``, a unique group,
``auto.offset.reset=earliest``, the broker's group timings). At teardown, awaited, before
the test's topics are deleted: producers are flushed (at most
:data:`.confluent.FLUSH_TIMEOUT` s; a warning names what was left, which is then purged)
and closed, consumers closed, each close bounded by :data:`CLOSE_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator, Awaitable
from importlib import metadata
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from . import confluent
from .backends import KafkaBroker
from .fixture_types import (
    ConfluentAioConsumerFactory,
    ConfluentAioProducerFactory,
    FixtureFunction,
)
from .fixtures import _outlive_clients, worker_id

if TYPE_CHECKING:  # imported by the fixtures: this part is registered in every run
    from confluent_kafka.aio import AIOConsumer, AIOProducer

#: The first confluent-kafka release with ``confluent_kafka.aio``.
AIO_SINCE = "2.13.0"

#: Seconds a client's ``close()`` may take at teardown before a warning says so and the
#: teardown moves on (its thread pool may still be finishing).
CLOSE_TIMEOUT = 10.0


def require_confluent_aio(request: pytest.FixtureRequest) -> None:
    """Fail set-up with the ``[confluent]`` pip line without confluent-kafka; skip the
    test when the installed confluent-kafka has no ``confluent_kafka.aio`` (< 2.13.0)."""
    confluent.require_confluent(request)
    if find_spec("confluent_kafka.aio") is None:  # imports confluent_kafka, not .aio
        pytest.skip(
            f"{request.fixturename} needs confluent-kafka >= {AIO_SINCE} "
            f"(confluent_kafka.aio); found {_installed()}: "
            f"pip install 'confluent-kafka>={AIO_SINCE}'"
        )


def _installed() -> str:
    """The installed confluent-kafka's version, as pip reports it."""
    try:
        return metadata.version("confluent-kafka")
    except metadata.PackageNotFoundError:  # e.g. built from source under another name
        return "an unknown version"


async def _close(closing: Awaitable[Any], what: str) -> None:
    try:
        await asyncio.wait_for(closing, CLOSE_TIMEOUT)
    except asyncio.TimeoutError:
        warnings.warn(f"{what} did not close within {CLOSE_TIMEOUT:g} s at teardown",
                      stacklevel=2)


async def close_producer(producer: AIOProducer) -> None:
    """Flush ``producer`` for at most :data:`.confluent.FLUSH_TIMEOUT` s (warning about
    what is left, then purging it: ``AIOProducer.close()`` flushes with no timeout), then
    close it within :data:`CLOSE_TIMEOUT` s. A producer the test closed already (its
    thread pool is shut down: ``RuntimeError``) is left alone.

    ``AIOProducer.close()`` (2.13 to 2.16.1 at least) does not close its librdkafka
    producer: the garbage collector does. One a failed test's traceback keeps alive logs
    "Connect ... refused" once the session has stopped the broker (harmless)."""
    try:
        left = await producer.flush(confluent.FLUSH_TIMEOUT)
    except RuntimeError:  # closed by the test
        return
    confluent.warn_undelivered(left, confluent.FLUSH_TIMEOUT, stacklevel=3)
    if left:
        await producer.purge()
    await _close(producer.close(), "AIOProducer")


def confluent_aio_producer_factory_fixture(
    broker: str = "kafka_broker", topic_factory: str | None = "kafka_topic_factory"
) -> FixtureFunction:
    """``await make(**config) -> confluent_kafka.aio.AIOProducer`` (``acks=all``;
    ``config`` in librdkafka names). Flushed and closed at teardown (see
    :func:`close_producer`), before the test's topics are deleted.

    ``AIOProducer`` buffers ``produce()`` calls and hands them to librdkafka when 1000
    are buffered or 1 s after the last one (its ``batch_size`` / ``buffer_timeout``);
    ``await producer.flush()`` sends them at once.
    """

    @pytest_asyncio.fixture(loop_scope="function")  # the test's own loop
    async def confluent_aio_producer_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> AsyncIterator[ConfluentAioProducerFactory]:
        require_confluent_aio(request)
        from confluent_kafka.aio import AIOProducer

        info: KafkaBroker = request.getfixturevalue(broker)
        _outlive_clients(request, topic_factory, broker, info)
        made: list[AIOProducer] = []

        async def make(**config: Any) -> AIOProducer:
            producer = AIOProducer(confluent.producer_config(info.bootstrap_servers, **config))
            made.append(producer)
            return producer

        yield make
        for producer in made:
            await close_producer(producer)

    return confluent_aio_producer_factory_factory_fixture


def confluent_aio_consumer_factory_fixture(
    broker: str = "kafka_broker", topic_factory: str | None = "kafka_topic_factory"
) -> FixtureFunction:
    """``await make(*topics, group_id=None, **config) ->
    confluent_kafka.aio.AIOConsumer``, subscribed to ``topics`` (none: not subscribed),
    configured as :func:`.confluent.confluent_consumer_factory_fixture`'s consumers, and
    closed at teardown (within :data:`CLOSE_TIMEOUT` s) before the test's topics are
    deleted. Read with :func:`.confluent.apoll_records`."""

    @pytest_asyncio.fixture(loop_scope="function")  # the test's own loop
    async def confluent_aio_consumer_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> AsyncIterator[ConfluentAioConsumerFactory]:
        require_confluent_aio(request)
        from confluent_kafka.aio import AIOConsumer

        from . import topics

        info: KafkaBroker = request.getfixturevalue(broker)
        _outlive_clients(request, topic_factory, broker, info)
        made: list[AIOConsumer] = []

        async def make(
            *topic_names: str, group_id: str | None = None, **config: Any
        ) -> AIOConsumer:
            if group_id is None:
                group_id = topics.unique_name("group", request.node.name, worker_id())
            consumer = AIOConsumer(confluent.consumer_config(info, group_id=group_id, **config))
            made.append(consumer)
            if topic_names:
                await consumer.subscribe(list(topic_names))
                confluent._SUBSCRIBED[id(consumer)] = topic_names
            return consumer

        yield make
        for consumer in made:
            confluent._SUBSCRIBED.pop(id(consumer), None)
            with contextlib.suppress(RuntimeError):  # the test closed it already
                await _close(consumer.close(), "AIOConsumer")

    return confluent_aio_consumer_factory_factory_fixture


# The default fixtures of this part.
confluent_aio_producer_factory = confluent_aio_producer_factory_fixture()
confluent_aio_consumer_factory = confluent_aio_consumer_factory_fixture()


@pytest_asyncio.fixture(loop_scope="function")  # the test's own loop
async def confluent_aio_producer(
    confluent_aio_producer_factory: ConfluentAioProducerFactory,
) -> AIOProducer:
    """A ``confluent_kafka.aio.AIOProducer`` (``acks=all``), flushed (at most 10 s) and
    closed after the test."""
    return await confluent_aio_producer_factory()
