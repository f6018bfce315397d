"""pytest-kafka-patterns: real, ephemeral Kafka and Redis for tests, and assertions that
check what Kafka code really did (delivery, ordering by key, DLQ routing, exactly-once
effects)."""

from __future__ import annotations

from . import _kafka_quiet  # noqa: F401  (first: kafka-python, imported without its warnings)
from .backends import KafkaBroker, RedisServer
from .capabilities import CAPABILITIES
from .config import KafkaSettings, RedisSettings, Settings
from .errors import (
    BackendUnavailable,
    ConfigError,
    KafkaPatternsError,
    ServiceStartError,
    ServiceUnreachable,
)
from .fixtures import (
    kafka_admin_fixture,
    kafka_broker_fixture,
    kafka_consumer_factory_fixture,
    kafka_producer_factory_fixture,
    kafka_topic_factory_fixture,
    redis_client_fixture,
    redis_server_fixture,
)

__version__ = "0.1.0"

__all__ = [
    "CAPABILITIES",
    "BackendUnavailable",
    "ConfigError",
    "KafkaBroker",
    "KafkaPatternsError",
    "KafkaSettings",
    "RedisServer",
    "RedisSettings",
    "ServiceStartError",
    "ServiceUnreachable",
    "Settings",
    "__version__",
    "kafka_admin_fixture",
    "kafka_broker_fixture",
    "kafka_consumer_factory_fixture",
    "kafka_producer_factory_fixture",
    "kafka_topic_factory_fixture",
    "redis_client_fixture",
    "redis_server_fixture",
]

# --- events, reading, assertions (issue 3) ---
from typing import TYPE_CHECKING, Any

from .assertions import (
    assert_delivered,
    assert_exactly_once_effect,
    assert_group_caught_up,
    assert_no_more_records,
    assert_ordered_by_key,
    assert_routed_to_dlq,
    event_id_of,
    eventually,
    expect_no_more,
    order_id_of,
)
from .reading import (
    PartitionProgress,
    committed_offsets,
    group_progress,
    high_watermarks,
    read_topic,
)
from .records import Record

if TYPE_CHECKING:
    from .factories import (
        InventoryFailedEventFactory,
        InventoryReservedEventFactory,
        InventoryResultEventFactory,
        OrderCreatedEventFactory,
        OrderFactory,
        OrderItemFactory,
        OrderStatusChangedEventFactory,
        order_history,
    )

_FACTORIES = frozenset({
    "InventoryFailedEventFactory",
    "InventoryReservedEventFactory",
    "InventoryResultEventFactory",
    "OrderCreatedEventFactory",
    "OrderFactory",
    "OrderItemFactory",
    "OrderStatusChangedEventFactory",
    "order_history",
})


def __getattr__(name: str) -> Any:
    """Import the factories on first use: Faker costs ~0.5 s, which runs that never
    build an event should not pay."""
    if name in _FACTORIES:
        from . import factories

        return getattr(factories, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ += [
    "InventoryFailedEventFactory",
    "InventoryReservedEventFactory",
    "InventoryResultEventFactory",
    "OrderCreatedEventFactory",
    "OrderFactory",
    "OrderItemFactory",
    "OrderStatusChangedEventFactory",
    "PartitionProgress",
    "Record",
    "assert_delivered",
    "assert_exactly_once_effect",
    "assert_group_caught_up",
    "assert_no_more_records",
    "assert_ordered_by_key",
    "assert_routed_to_dlq",
    "committed_offsets",
    "event_id_of",
    "eventually",
    "expect_no_more",
    "group_progress",
    "high_watermarks",
    "order_history",
    "order_id_of",
    "read_topic",
]
