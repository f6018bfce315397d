"""Kafka clients with the defaults tests want: JSON values, UTF-8 keys, no hangs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

try:  # kafka-python 3 wants Serializer objects and warns on plain callables
    from kafka.serializer import DeserializeWrapper, SerializeWrapper
except ImportError:  # kafka-python 2 takes the callables themselves

    def SerializeWrapper(fn: Any) -> Any:
        return fn

    DeserializeWrapper = SerializeWrapper

#: A consumer iterated with ``for record in consumer`` stops after this long without a
#: record instead of blocking the test forever. Override with ``consumer_timeout_ms``.
DEFAULT_CONSUMER_TIMEOUT_MS = 10_000


def json_serializer(value: Any) -> bytes | None:
    """JSON-encode a value (``None`` stays a tombstone; bytes pass through)."""
    if value is None or isinstance(value, bytes):
        return value
    return json.dumps(value, default=str).encode("utf-8")


def json_deserializer(raw: bytes | None) -> Any:
    """JSON-decode a value; bytes that are not JSON come back unchanged (poison tests)."""
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return raw


def key_serializer(key: str | bytes | None) -> bytes | None:
    """UTF-8-encode a string key; bytes and ``None`` pass through."""
    if key is None or isinstance(key, bytes):
        return key
    return str(key).encode("utf-8")


def key_deserializer(raw: bytes | None) -> str | bytes | None:
    """UTF-8-decode a key; undecodable bytes come back unchanged."""
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def producer_config(bootstrap_servers: str, **overrides: Any) -> dict[str, Any]:
    """kafka-python producer settings: JSON values, UTF-8 keys, ``acks="all"``."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "value_serializer": SerializeWrapper(json_serializer),
        "key_serializer": SerializeWrapper(key_serializer),
        "acks": "all",
    }
    config.update(overrides)
    return config


def consumer_config(
    bootstrap_servers: str,
    *,
    group_id: str | None,
    group_defaults: Mapping[str, Any],
    **overrides: Any,
) -> dict[str, Any]:
    """kafka-python consumer settings: earliest offsets, JSON values, backend-tuned groups."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "auto_offset_reset": "earliest",
        "value_deserializer": DeserializeWrapper(json_deserializer),
        "key_deserializer": DeserializeWrapper(key_deserializer),
        "consumer_timeout_ms": DEFAULT_CONSUMER_TIMEOUT_MS,
    }
    config.update(group_defaults)
    config.update(overrides)
    return config


def new_producer(bootstrap_servers: str, **overrides: Any) -> KafkaProducer:
    return KafkaProducer(**producer_config(bootstrap_servers, **overrides))


def new_consumer(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    group_id: str | None,
    group_defaults: Mapping[str, Any],
    **overrides: Any,
) -> KafkaConsumer:
    config = consumer_config(
        bootstrap_servers, group_id=group_id, group_defaults=group_defaults, **overrides
    )
    return KafkaConsumer(*topics, **config)


def unique_group_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
