"""pytest-kafka-patterns: real, ephemeral Kafka and Redis for tests, and assertions that
check what Kafka code really did (delivery, ordering by key, DLQ routing, exactly-once
effects)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:
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
    from .backends import KafkaBroker, RedisServer
    from .backends.cluster import ClusterStateError, KafkaCluster
    from .capabilities import CAPABILITIES
    from .config import KafkaSettings, RedisSettings, Settings
    from .confluent import (
        apoll_records,
        confluent_admin_fixture,
        confluent_consumer_factory_fixture,
        confluent_producer_factory_fixture,
        poll_records,
    )
    from .errors import (
        BackendUnavailable,
        ConfigError,
        KafkaPatternsError,
        ServiceStartError,
        ServiceUnreachable,
        TopicNotFound,
    )
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
    from .fixtures import (
        kafka_admin_fixture,
        kafka_broker_fixture,
        kafka_cluster_fixture,
        kafka_consumer_factory_fixture,
        kafka_producer_factory_fixture,
        kafka_topic_factory_fixture,
        redis_client_fixture,
        redis_server_fixture,
    )
    from .reading import (
        PartitionProgress,
        committed_offsets,
        group_progress,
        high_watermarks,
        read_topic,
    )
    from .records import EventLike, Record, RecordLike

__version__ = "0.1.0"

#: Where each public name lives. Nothing is imported until a name is first used: the
#: plugin imports this package in every pytest run, and a run that uses no Kafka fixture
#: should not pay for kafka-python, redis, factory-boy or Faker (issue 14).
_EXPORTS = {
    "assertions": (
        "assert_delivered", "assert_exactly_once_effect", "assert_group_caught_up",
        "assert_no_more_records", "assert_ordered_by_key", "assert_routed_to_dlq",
        "event_id_of", "eventually", "expect_no_more", "order_id_of",
    ),
    "backends": ("KafkaBroker", "RedisServer"),
    "backends.cluster": ("ClusterStateError", "KafkaCluster"),
    "capabilities": ("CAPABILITIES",),
    "confluent": (
        "confluent_admin_fixture", "confluent_consumer_factory_fixture",
        "confluent_producer_factory_fixture", "poll_records", "apoll_records",
    ),
    "config": ("KafkaSettings", "RedisSettings", "Settings"),
    "errors": (
        "BackendUnavailable", "ConfigError", "KafkaPatternsError", "ServiceStartError",
        "ServiceUnreachable", "TopicNotFound",
    ),
    "factories": (
        "InventoryFailedEventFactory", "InventoryReservedEventFactory",
        "InventoryResultEventFactory", "OrderCreatedEventFactory", "OrderFactory",
        "OrderItemFactory", "OrderStatusChangedEventFactory", "order_history",
    ),
    "fixtures": (
        "kafka_admin_fixture", "kafka_broker_fixture", "kafka_cluster_fixture",
        "kafka_consumer_factory_fixture", "kafka_producer_factory_fixture",
        "kafka_topic_factory_fixture", "redis_client_fixture", "redis_server_fixture",
    ),
    "reading": (
        "PartitionProgress", "committed_offsets", "group_progress", "high_watermarks",
        "read_topic",
    ),
    "records": ("EventLike", "Record", "RecordLike"),
}
#: Modules that import kafka-python: it is imported first, quietly (:mod:`._kafka_quiet`).
_USE_KAFKA = frozenset({"assertions", "reading", "records"})


def _quiet_kafka(module: str) -> None:
    if module in _USE_KAFKA:
        from ._kafka_quiet import import_kafka

        import_kafka()


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, before=_quiet_kafka)

__all__ = [
    "CAPABILITIES",
    "BackendUnavailable",
    "ClusterStateError",
    "ConfigError",
    "EventLike",
    "InventoryFailedEventFactory",
    "InventoryReservedEventFactory",
    "InventoryResultEventFactory",
    "KafkaBroker",
    "KafkaCluster",
    "KafkaPatternsError",
    "KafkaSettings",
    "OrderCreatedEventFactory",
    "OrderFactory",
    "OrderItemFactory",
    "OrderStatusChangedEventFactory",
    "PartitionProgress",
    "Record",
    "RecordLike",
    "RedisServer",
    "RedisSettings",
    "ServiceStartError",
    "ServiceUnreachable",
    "Settings",
    "TopicNotFound",
    "__version__",
    "apoll_records",
    "assert_delivered",
    "assert_exactly_once_effect",
    "assert_group_caught_up",
    "assert_no_more_records",
    "assert_ordered_by_key",
    "assert_routed_to_dlq",
    "committed_offsets",
    "confluent_admin_fixture",
    "confluent_consumer_factory_fixture",
    "confluent_producer_factory_fixture",
    "event_id_of",
    "eventually",
    "expect_no_more",
    "group_progress",
    "high_watermarks",
    "kafka_admin_fixture",
    "kafka_broker_fixture",
    "kafka_cluster_fixture",
    "kafka_consumer_factory_fixture",
    "kafka_producer_factory_fixture",
    "kafka_topic_factory_fixture",
    "order_history",
    "order_id_of",
    "poll_records",
    "read_topic",
    "redis_client_fixture",
    "redis_server_fixture",
]
