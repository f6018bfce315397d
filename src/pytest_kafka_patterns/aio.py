"""aiokafka twins of the producer and consumer fixtures.

Registered by the plugin only when both ``aiokafka`` and ``pytest-asyncio`` import.
aiokafka's idempotent producer needs InitProducerId, which the embedded broker fails
(see ``capabilities``), so these fixtures leave idempotence off unless asked.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from ._kafka_quiet import import_kafka
from .backends import KafkaBroker
from .fixtures import worker_id

if TYPE_CHECKING:  # imported by the fixtures: this part is registered in every run
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

#: Stopping a client must never hang a test run (aiokafka retries some requests forever).
STOP_TIMEOUT = 10.0


async def _stop(client: AIOKafkaProducer | AIOKafkaConsumer) -> None:
    try:
        await asyncio.wait_for(client.stop(), STOP_TIMEOUT)
    except asyncio.TimeoutError:
        warnings.warn(f"{type(client).__name__} did not stop within {STOP_TIMEOUT:g} s",
                      stacklevel=2)


@pytest_asyncio.fixture(loop_scope="function")  # whatever asyncio_default_fixture_loop_scope says
async def aiokafka_producer(
    kafka_broker: KafkaBroker, kafka_topic_factory: Any
) -> AsyncIterator[AIOKafkaProducer]:
    """A started ``AIOKafkaProducer`` (JSON values, UTF-8 keys, ``acks="all"``)."""
    from aiokafka import AIOKafkaProducer

    import_kafka()  # first, quietly (see ._kafka_quiet)
    from . import clients

    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        value_serializer=clients.json_serializer,
        key_serializer=clients.key_serializer,
        acks="all",
    )
    await producer.start()
    try:
        yield producer
    finally:
        await _stop(producer)


@pytest_asyncio.fixture(loop_scope="function")  # whatever asyncio_default_fixture_loop_scope says
async def aiokafka_consumer_factory(
    kafka_broker: KafkaBroker, kafka_topic_factory: Any, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[AIOKafkaConsumer]]]:
    """``await make(*topics, group_id=None, **overrides)`` -> a started consumer."""
    from aiokafka import AIOKafkaConsumer

    import_kafka()  # first, quietly (see ._kafka_quiet)
    from . import clients, topics

    made: list[AIOKafkaConsumer] = []

    async def make(
        *topic_names: str, group_id: str | None = None, **overrides: Any
    ) -> AIOKafkaConsumer:
        if group_id is None:
            group_id = topics.unique_name("group", request.node.name, worker_id())
        config: dict[str, Any] = {
            "bootstrap_servers": kafka_broker.bootstrap_servers,
            "group_id": group_id,
            "auto_offset_reset": "earliest",
            "value_deserializer": clients.json_deserializer,
            "key_deserializer": clients.key_deserializer,
            **kafka_broker.consumer_defaults,
            **overrides,
        }
        consumer = AIOKafkaConsumer(*topic_names, **config)
        await consumer.start()
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        await _stop(consumer)
