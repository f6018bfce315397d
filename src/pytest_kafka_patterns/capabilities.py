"""Kafka features a backend may lack, by name, for ``kafka_broker.supports`` and the marker."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version

from .errors import ConfigError

CAPABILITIES: dict[str, str] = {
    "idempotence": "idempotent producer (enable_idempotence) with kafka-python",
    "transactions": "transactional producer with kafka-python",
    "read_committed": "read_committed consumers do not see aborted records",
    "list_offsets_latest": "ListOffsets 'latest' (end_offsets) returns the true end offset",
    "persistence": "records survive a broker restart",
    "aiokafka_idempotence": "idempotent or transactional producer with aiokafka",
    "admin_metadata": "KafkaAdminClient.list_topics/describe_topics parse the broker's reply",
}

APACHE_KAFKA = frozenset(CAPABILITIES)


def check_known(names: Iterable[str]) -> None:
    """Raise :class:`ConfigError` for a capability name we do not know (a typo)."""
    unknown = sorted(set(names) - set(CAPABILITIES))
    if unknown:
        raise ConfigError(
            f"unknown Kafka capability {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(CAPABILITIES))}."
        )


def kafka_python_major() -> int:
    """Major version of the installed kafka-python (0 when it is missing)."""
    try:
        return int(version("kafka-python").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 0


def tansu_capabilities() -> frozenset[str]:
    """What Tansu 0.6 can do, measured: with kafka-python 3, idempotence and
    transactions work; aiokafka and kafka-python 2 fail InitProducerId; aborted records
    stay visible to read_committed; ListOffsets 'latest' is wrong; storage is memory;
    kafka-python 2's admin cannot parse Tansu's Metadata v8 authorized operations."""
    if kafka_python_major() >= 3:
        return frozenset({"idempotence", "transactions", "admin_metadata"})
    return frozenset()
