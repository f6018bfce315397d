"""The types of what the fixtures hand out, for annotating tests and conftests.

::

    from pytest_kafka_patterns.fixture_types import ConsumerFactory, TopicFactory

    def test_orders(kafka_topic_factory: TopicFactory, kafka_consumer_factory: ConsumerFactory):
        consumer = kafka_consumer_factory(kafka_topic_factory("orders"))  # a KafkaConsumer

Nothing here is imported at run time but ``typing``: the client classes are named for
the type checker only, so importing this module loads no Kafka or Redis client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.aio import AIOConsumer, AIOProducer
    from kafka import KafkaConsumer, KafkaProducer

    from .reading import IsolationLevel, ReadClient, ValueDeserializer
    from .records import Record

#: pytest's fixture scopes (the values ``@pytest.fixture(scope=...)`` accepts).
Scope = Literal["session", "package", "module", "class", "function"]

#: What a ``*_fixture()`` factory returns: a pytest fixture, to assign to a name in a
#: conftest or test module (pytest finds it by that name; do not call it).
FixtureFunction = Callable[..., Any]


class TopicFactory(Protocol):
    """``kafka_topic_factory``: ``create(prefix="topic", partitions=3, **config) -> name``.

    Config keys may use underscores for dots (``retention_ms=1000``). The topic is
    deleted after the test.
    """

    bootstrap_servers: str
    """The broker the topics are created on."""
    admin_fixture: str
    """The name of the admin fixture it uses."""

    def __call__(self, prefix: str = "topic", partitions: int = 3, **config: Any) -> str: ...


class ProducerFactory(Protocol):
    """``kafka_producer_factory``: ``make(**overrides) -> KafkaProducer``."""

    def __call__(self, **overrides: Any) -> KafkaProducer: ...


class ConsumerFactory(Protocol):
    """``kafka_consumer_factory``: ``make(*topics, group_id=None, **overrides)``."""

    def __call__(
        self, *topics: str, group_id: str | None = None, **overrides: Any
    ) -> KafkaConsumer: ...


class ConfluentProducerFactory(Protocol):
    """``confluent_producer_factory``: ``make(**config) -> confluent_kafka.Producer``."""

    def __call__(self, **config: Any) -> Producer: ...


class ConfluentConsumerFactory(Protocol):
    """``confluent_consumer_factory``: ``make(*topics, group_id=None, **config)``."""

    def __call__(self, *topics: str, group_id: str | None = None, **config: Any) -> Consumer: ...


class ConfluentAioProducerFactory(Protocol):
    """``confluent_aio_producer_factory``: ``await make(**config)`` ->
    ``confluent_kafka.aio.AIOProducer``."""

    def __call__(self, **config: Any) -> Awaitable[AIOProducer]: ...


class ConfluentAioConsumerFactory(Protocol):
    """``confluent_aio_consumer_factory``: ``await make(*topics, group_id=None, **config)``
    -> ``confluent_kafka.aio.AIOConsumer``."""

    def __call__(
        self, *topics: str, group_id: str | None = None, **config: Any
    ) -> Awaitable[AIOConsumer]: ...


class AioConsumerFactory(Protocol):
    """``aiokafka_consumer_factory``: ``await make(*topics, group_id=None, **overrides)``."""

    def __call__(
        self, *topics: str, group_id: str | None = None, **overrides: Any
    ) -> Awaitable[AIOKafkaConsumer]: ...


class TopicReader(Protocol):
    """``kafka_read``: :func:`~pytest_kafka_patterns.reading.read_topic` on the session
    broker."""

    def __call__(
        self,
        topic: str,
        *,
        min_records: int = 0,
        timeout: float = 10.0,
        isolation_level: IsolationLevel = "read_committed",
        value_deserializer: ValueDeserializer | None = None,
        client: ReadClient = "auto",
    ) -> list[Record]: ...


class NoMoreCheck(Protocol):
    """``kafka_expect_no_more``:
    :func:`~pytest_kafka_patterns.assertions.assert_no_more_records` on the session broker."""

    def __call__(
        self,
        topic: str,
        *,
        after: Sequence[Record] | Mapping[int, int] | None = None,
        within: float = 1.0,
        isolation_level: IsolationLevel = "read_committed",
    ) -> None: ...
