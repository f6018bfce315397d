"""pytest-kafka-patterns: real, ephemeral Kafka and Redis for tests, and assertions that
check what Kafka code really did (delivery, ordering by key, DLQ routing, exactly-once
effects)."""

from __future__ import annotations

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
