"""confluent-kafka (librdkafka) fixtures, and a bounded poll for their consumers.

Needs the ``[confluent]`` extra (``pip install 'pytest-kafka-patterns[confluent]'``). The
plugin registers the fixtures in every run, but ``confluent_kafka`` is imported only
inside them and inside :func:`poll_records`: a run that uses none of them never loads
librdkafka. Without the extra, a test that asks for one of these fixtures fails its
set-up with the ``pip install`` line (:func:`require_confluent`). The asyncio twins
(``confluent_kafka.aio`` clients) are in :mod:`.confluent_aio`; :func:`apoll_records`,
here, reads from their consumers.

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
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from .backends import KafkaBroker
from .errors import TopicNotFound
from .fixture_types import ConfluentConsumerFactory, ConfluentProducerFactory, FixtureFunction
from .fixtures import _outlive_clients, require_extra, worker_id

if TYPE_CHECKING:  # imported by the fixtures: the plugin imports this module in every run
    from confluent_kafka import Consumer, Message, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.aio import AIOConsumer

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
    warn_undelivered(left, timeout, stacklevel=3)
    return left


def warn_undelivered(left: int, timeout: float, *, stacklevel: int = 2) -> None:
    """Warn (``UserWarning``) that a producer still held ``left`` messages after a
    teardown flush of ``timeout`` seconds; nothing when ``left`` is 0."""
    if left:
        warnings.warn(
            f"confluent-kafka producer: {left} message(s) still undelivered after "
            f"flushing for {timeout:g} s at teardown",
            stacklevel=stacklevel,
        )


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


def _check_poll_args(helper: str, count: int, timeout: float) -> None:
    if count < 0 or timeout <= 0:
        raise ValueError(f"{helper}(count={count}, timeout={timeout}): "
                         "count must be >= 0 and timeout > 0")


def _take(helper: str, messages: Iterable[Message], got: list[Message], count: int) -> None:
    """Append ``messages`` without an error to ``got``; skip partition EOF events; raise
    on any other message error (see :func:`poll_records`)."""
    __tracebackhide__ = True
    from confluent_kafka import KafkaError

    for message in messages:
        error = message.error()
        if error is None:
            got.append(message)
        elif error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise TopicNotFound(helper, str(message.topic()))
        elif error.code() != KafkaError._PARTITION_EOF:
            raise AssertionError(
                f"{helper}: message error on {message.topic()} "
                f"[partition {message.partition()}] after {len(got)} of {count} "
                f"record(s): {error.name()}: {error.str()}"
            )


def _check_consumer(helper: str, consumer: object, *, asynchronous: bool) -> None:
    """``TypeError`` saying what to do when ``consumer`` is not what ``helper`` polls: a
    coroutine (``confluent_aio_consumer_factory(...)`` not awaited), or a consumer of the
    other kind (``consume`` a coroutine function or not)."""
    import inspect

    if inspect.iscoroutine(consumer):
        consumer.close()  # never awaited: no "was never awaited" warning on top
        raise TypeError(f"{helper} got a coroutine, not a consumer: did you forget "
                        "`await` before confluent_aio_consumer_factory(...)?")
    consume = getattr(consumer, "consume", None)
    if consume is None:
        raise TypeError(f"{helper} needs a confluent-kafka consumer, got "
                        f"{type(consumer).__name__}")
    if inspect.iscoroutinefunction(consume) != asynchronous:
        kind, fix = (("a confluent_kafka.Consumer", "poll_records") if asynchronous
                     else ("an AIOConsumer", "await apoll_records"))
        raise TypeError(f"{helper} got {kind}: use `{fix}(consumer, ...)` for it")


def _slice(deadline: float) -> float:
    """Seconds the next ``consume()`` may block: :data:`_CONSUME_SLICE`, cut to the
    deadline."""
    return max(0.0, min(_CONSUME_SLICE, deadline - time.monotonic()))


def _shortfall(
    helper: str, got: int, count: int, timeout: float, consumer: object,
    topics: Sequence[str] | None, assignment: Iterable[TopicPartition],
) -> AssertionError:
    """The error of a poll that got ``got`` of ``count`` records: from which topic(s)
    (``topics``, else those the fixtures subscribed ``consumer`` to, else its
    ``assignment``) and what it was assigned."""
    assigned: dict[str, list[int]] = {}
    for tp in sorted(assignment, key=lambda tp: (tp.topic, tp.partition)):
        assigned.setdefault(tp.topic, []).append(tp.partition)
    names = tuple(topics or _SUBSCRIBED.get(id(consumer), ())) or tuple(assigned)
    where = ", ".join(names) if names else "(topics unknown: pass topics=)"
    what = (
        "assigned " + ", ".join(
            f"{topic}[{','.join(map(str, partitions))}]"
            for topic, partitions in assigned.items()
        )
        if assigned else "no partitions assigned (not subscribed, or not joined yet)"
    )
    return AssertionError(
        f"{helper}: {got} of {count} record(s) arrived within {timeout:g} s from {where}; "
        f"{what}"
    )


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

    ``ValueError`` when ``count`` is negative or ``timeout`` not positive; ``TypeError``
    naming the fix when ``consumer`` is a coroutine (a factory call not awaited) or an
    ``AIOConsumer`` (use :func:`apoll_records`).
    """
    __tracebackhide__ = True
    _check_poll_args("poll_records", count, timeout)
    _check_consumer("poll_records", consumer, asynchronous=False)
    from .waiting import poll  # here: tenacity is not loaded with the plugin

    got: list[Message] = []
    deadline = time.monotonic() + timeout

    def attempt() -> int:
        __tracebackhide__ = True
        wanted = count - len(got)
        if wanted > 0:
            messages = consumer.consume(num_messages=wanted, timeout=_slice(deadline))
            _take("poll_records", messages, got, count)
        return len(got)

    polled = poll(attempt, timeout=timeout, interval=0.0, done=lambda n: n >= count)
    if not polled.done:
        assignment: list[TopicPartition] = []
        with contextlib.suppress(RuntimeError):  # closed: no assignment to tell
            assignment = consumer.assignment()
        raise _shortfall("poll_records", len(got), count, timeout, consumer, topics,
                         assignment)
    return got


async def apoll_records(
    consumer: AIOConsumer,
    count: int,
    timeout: float = POLL_TIMEOUT,
    *,
    topics: Sequence[str] | None = None,
) -> list[Message]:
    """:func:`poll_records` for a ``confluent_kafka.aio.AIOConsumer`` (confluent-kafka
    2.13+): ``await apoll_records(consumer, count, timeout=10.0, topics=None)``.

    Same result and errors, the messages starting ``apoll_records:``. Each
    ``consume()`` runs in the consumer's thread pool for at most ~0.1 s, so the event
    loop runs meanwhile, and the call never ends much past ``timeout`` (at most ~0.1 s).
    """
    __tracebackhide__ = True
    _check_poll_args("apoll_records", count, timeout)
    _check_consumer("apoll_records", consumer, asynchronous=True)
    from .waiting import apoll  # here: tenacity is not loaded with the plugin

    got: list[Message] = []
    deadline = time.monotonic() + timeout

    async def attempt() -> int:
        __tracebackhide__ = True
        wanted = count - len(got)
        if wanted > 0:
            messages = await consumer.consume(num_messages=wanted, timeout=_slice(deadline))
            _take("apoll_records", messages, got, count)
        return len(got)

    polled = await apoll(attempt, timeout=timeout, interval=0.0, done=lambda n: n >= count)
    if not polled.done:
        assignment: list[TopicPartition] = []
        with contextlib.suppress(RuntimeError):  # closed: no assignment to tell
            assignment = await consumer.assignment()
        raise _shortfall("apoll_records", len(got), count, timeout, consumer, topics,
                         assignment)
    return got
