"""confluent-kafka (librdkafka) fixtures, and a bounded poll for their consumers.

Needs the ``[confluent]`` extra (``pip install 'pytest-kafka-patterns[confluent]'``). The
plugin registers the fixtures in every run, but ``confluent_kafka`` is imported only
inside them and inside :func:`poll_records`: a run that uses none of them never loads
librdkafka. Without the extra, a test that asks for one of these fixtures is *skipped*,
with the ``pip install`` line as the reason (as ``pytest.importorskip`` does).

The clients are plain ``confluent_kafka.Producer`` / ``Consumer`` / ``AdminClient`` with
librdkafka's own property names (``bootstrap.servers``, ``group.id``...): values and keys
are bytes (or ``str``, which librdkafka encodes as UTF-8), no JSON serialization. Extra
properties go in as they are spelled, e.g. ``make(**{"linger.ms": 0})``.

Like the kafka-python factories of :mod:`.fixtures`, each factory takes the *name* of the
broker fixture and of the topic factory whose topics its clients use; the topic factory is
set up first so that it tears down after the clients: consumers are closed and producers
flushed before the test's topics are deleted.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from .backends import KafkaBroker
from .errors import TopicNotFound
from .fixture_types import ConfluentConsumerFactory, ConfluentProducerFactory, FixtureFunction
from .fixtures import _outlive_clients, require_extra, worker_id

if TYPE_CHECKING:  # imported by the fixtures: the plugin imports this module in every run
    from confluent_kafka import Consumer, Message, Producer
    from confluent_kafka.admin import AdminClient

#: What to install when ``confluent_kafka`` does not import (the skip reason says it).
INSTALL_HINT = "pip install 'pytest-kafka-patterns[confluent]'"

#: Seconds a producer made by the fixtures gets to deliver what it holds at teardown.
FLUSH_TIMEOUT = 10.0

#: Seconds :func:`poll_records` waits by default for the records it was asked for.
POLL_TIMEOUT = 10.0

#: Longest single ``Consumer.consume()`` call of :func:`poll_records`, in seconds: a
#: message error is raised at most this long after it arrives.
_CONSUME_SLICE = 0.1

#: Topics each consumer made by :func:`confluent_consumer_factory_fixture` subscribed to,
#: by ``id(consumer)`` while it is open (librdkafka consumers take no attributes and no
#: weak references), so that :func:`poll_records` can name them.
_SUBSCRIBED: dict[int, tuple[str, ...]] = {}


def require_confluent(request: pytest.FixtureRequest) -> None:
    """Fail the calling fixture's set-up with :data:`INSTALL_HINT` unless confluent-kafka
    is installed (see :mod:`.extras`)."""
    require_extra(request, "confluent")


def producer_config(bootstrap_servers: str, **config: Any) -> dict[str, Any]:
    """librdkafka producer properties: ``bootstrap.servers``, ``acks=all``, then
    ``config`` (librdkafka names, which win)."""
    return {"bootstrap.servers": bootstrap_servers, "acks": "all", **config}


#: librdkafka's ``fetch.wait.max.ms`` for the fixtures' consumers, in ms. Its default,
#: 500, made a fresh group's first record take ~1.6 s instead of ~1.2 s on the embedded
#: broker in most runs (a first fetch that waits it out); 100 costs an idle consumer
#: 10 fetches a second.
FETCH_WAIT_MAX_MS = 100


def consumer_config(
    broker: KafkaBroker, *, group_id: str, **config: Any
) -> dict[str, Any]:
    """librdkafka consumer properties: ``bootstrap.servers``, ``group.id``,
    ``auto.offset.reset=earliest``, ``fetch.wait.max.ms`` = :data:`FETCH_WAIT_MAX_MS`,
    the broker's tuned group timings in librdkafka names (``session.timeout.ms``,
    ``heartbeat.interval.ms``: see :meth:`KafkaBroker.consumer_config`), then ``config``
    (which wins)."""
    return {
        "bootstrap.servers": broker.bootstrap_servers,
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
        **broker.consumer_config("confluent-kafka"),
        **config,
    }


def flush_producer(producer: Producer, timeout: float = FLUSH_TIMEOUT) -> int:
    """Flush ``producer`` for at most ``timeout`` seconds; warn (``UserWarning``) when
    messages are still undelivered then. Returns their number (0 when all were sent)."""
    left = producer.flush(timeout)
    if left:
        warnings.warn(
            f"confluent-kafka producer: {left} message(s) still undelivered after "
            f"flushing for {timeout:g} s at teardown",
            stacklevel=2,
        )
    return left


def confluent_admin_fixture(broker: str = "kafka_broker") -> FixtureFunction:
    """A session-wide ``confluent_kafka.admin.AdminClient`` for the broker fixture named
    ``broker``."""

    @pytest.fixture(scope="session")
    def confluent_admin_factory_fixture(request: pytest.FixtureRequest) -> AdminClient:
        require_confluent(request)
        from confluent_kafka.admin import AdminClient

        info: KafkaBroker = request.getfixturevalue(broker)
        return AdminClient({"bootstrap.servers": info.bootstrap_servers})

    return confluent_admin_factory_fixture


def confluent_producer_factory_fixture(
    broker: str = "kafka_broker", topic_factory: str | None = "kafka_topic_factory"
) -> FixtureFunction:
    """``make(**config) -> confluent_kafka.Producer`` (``acks=all``; ``config`` in
    librdkafka names). Each producer is flushed at teardown for at most
    :data:`FLUSH_TIMEOUT` seconds (a warning names what was left undelivered), before the
    test's topics are deleted."""

    @pytest.fixture
    def confluent_producer_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[ConfluentProducerFactory]:
        require_confluent(request)
        from confluent_kafka import Producer

        info: KafkaBroker = request.getfixturevalue(broker)
        _outlive_clients(request, topic_factory, broker, info)
        made: list[Producer] = []

        def make(**config: Any) -> Producer:
            producer = Producer(producer_config(info.bootstrap_servers, **config))
            made.append(producer)
            return producer

        yield make
        for producer in made:
            flush_producer(producer)
            # Producer.close() (in 2.16; older releases have none) ends librdkafka's
            # threads now. Left to the garbage collector, a producer outlives its test
            # and logs "Connect ... refused" once the session has stopped the broker.
            close = getattr(producer, "close", None)
            if close is not None:
                close()

    return confluent_producer_factory_factory_fixture


def confluent_consumer_factory_fixture(
    broker: str = "kafka_broker", topic_factory: str | None = "kafka_topic_factory"
) -> FixtureFunction:
    """``make(*topics, group_id=None, **config) -> confluent_kafka.Consumer``, subscribed
    to ``topics`` (none: not subscribed) and closed after the test, before its topics are
    deleted.

    Without ``group_id`` each consumer gets a group no other consumer, test or xdist
    worker uses. ``auto.offset.reset=earliest``, ``fetch.wait.max.ms`` =
    :data:`FETCH_WAIT_MAX_MS` and the broker's group timings in librdkafka names, so a
    fresh group gets its first record in ~1.2 s on the embedded broker (librdkafka's
    defaults: ~23 s). ``config`` in librdkafka names wins over all of them.
    """

    @pytest.fixture
    def confluent_consumer_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[ConfluentConsumerFactory]:
        require_confluent(request)
        from confluent_kafka import Consumer

        from . import topics

        info: KafkaBroker = request.getfixturevalue(broker)
        _outlive_clients(request, topic_factory, broker, info)
        made: list[Consumer] = []

        def make(*topic_names: str, group_id: str | None = None, **config: Any) -> Consumer:
            if group_id is None:
                group_id = topics.unique_name("group", request.node.name, worker_id())
            consumer = Consumer(consumer_config(info, group_id=group_id, **config))
            made.append(consumer)
            if topic_names:
                consumer.subscribe(list(topic_names))
                _SUBSCRIBED[id(consumer)] = topic_names
            return consumer

        yield make
        for consumer in made:
            _SUBSCRIBED.pop(id(consumer), None)
            with contextlib.suppress(RuntimeError):  # the test closed it already
                consumer.close()

    return confluent_consumer_factory_factory_fixture


def _topics_of(consumer: Consumer, topics: Sequence[str] | None) -> str:
    names = tuple(topics or _SUBSCRIBED.get(id(consumer), ()))
    if not names:
        with contextlib.suppress(RuntimeError):
            names = tuple(sorted({tp.topic for tp in consumer.assignment()}))
    return ", ".join(names) if names else "(topics unknown: pass topics=)"


def poll_records(
    consumer: Consumer,
    count: int,
    timeout: float = POLL_TIMEOUT,
    *,
    topics: Sequence[str] | None = None,
) -> list[Message]:
    """Consume ``count`` records from ``consumer`` within ``timeout`` seconds.

    Returns exactly ``count`` ``confluent_kafka.Message``\\ s (none with an error), in the
    order the consumer delivered them; records after the ``count``-th are left for the
    next poll. Never blocks much past ``timeout`` (at most ~0.1 s).

    Raises ``AssertionError``:

    * when fewer arrived within ``timeout``: the message says how many of how many, from
      which topic(s) (``topics``, else those the fixtures' consumer subscribed to, else
      its assignment), and what the consumer was assigned;
    * at once when a message carries an error other than partition EOF
      (``_PARTITION_EOF``, which is skipped): the message names the error, its topic and
      partition; a subscribed topic that does not exist raises
      :class:`~.errors.TopicNotFound`, an ``AssertionError`` too.

    ``ValueError`` when ``count`` is negative or ``timeout`` not positive.
    """
    __tracebackhide__ = True
    if count < 0 or timeout <= 0:
        raise ValueError(f"poll_records(count={count}, timeout={timeout}): "
                         "count must be >= 0 and timeout > 0")
    from confluent_kafka import KafkaError

    from .waiting import poll  # here: tenacity is not loaded with the plugin

    got: list[Message] = []
    deadline = time.monotonic() + timeout

    def attempt() -> int:
        __tracebackhide__ = True
        wanted = count - len(got)
        if wanted <= 0:
            return len(got)
        slice_ = max(0.0, min(_CONSUME_SLICE, deadline - time.monotonic()))
        for message in consumer.consume(num_messages=wanted, timeout=slice_):
            error = message.error()
            if error is None:
                got.append(message)
            elif error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise TopicNotFound("poll_records", str(message.topic()))
            elif error.code() != KafkaError._PARTITION_EOF:
                raise AssertionError(
                    f"poll_records: message error on {message.topic()} "
                    f"[partition {message.partition()}] after {len(got)} of {count} "
                    f"record(s): {error.name()}: {error.str()}"
                )
        return len(got)

    polled = poll(attempt, timeout=timeout, interval=0.0, done=lambda n: n >= count)
    if not polled.done:
        assigned: dict[str, list[int]] = {}
        with contextlib.suppress(RuntimeError):  # closed: no assignment to tell
            for tp in sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition)):
                assigned.setdefault(tp.topic, []).append(tp.partition)
        assignment = (
            "assigned " + ", ".join(
                f"{topic}[{','.join(map(str, partitions))}]"
                for topic, partitions in assigned.items()
            )
            if assigned else "no partitions assigned (not subscribed, or not joined yet)"
        )
        raise AssertionError(
            f"poll_records: {len(got)} of {count} record(s) arrived within {timeout:g} s "
            f"from {_topics_of(consumer, topics)}; {assignment}"
        )
    return got
