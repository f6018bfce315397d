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
    "message_size_limits": "a record over the topic's max.message.bytes is rejected",
    "config_validation": "an invalid topic config (cleanup.policy=bogus) is rejected",
    "describe_configs": "describe_configs returns a topic's configs, marked as topic configs",
    "fast_default_join": "a fresh group with the client's default settings is assigned "
                         "within 5 s",
    "compaction": "topics with cleanup.policy=compact can be created",
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


def kafka_python_version() -> tuple[int, int]:
    """(major, minor) of the installed kafka-python ((0, 0) when it is missing)."""
    try:
        major, minor = version("kafka-python").split(".")[:2]
        return int(major), int(minor)
    except (PackageNotFoundError, ValueError):
        return 0, 0


def kafka_python_major() -> int:
    """Major version of the installed kafka-python (0 when it is missing)."""
    return kafka_python_version()[0]


def tansu_capabilities() -> frozenset[str]:
    """What Tansu 0.6 can do, as the probes of :mod:`.parity` measure it.

    With kafka-python 3: idempotence, transactions, admin metadata and compacted topics.
    Missing: aborted records stay visible to read_committed; ListOffsets 'latest' returns
    the last batch's base offset + 1; aiokafka fails InitProducerId; no message size
    limit; invalid topic configs are accepted; describe_configs marks a topic's own configs
    DEFAULT_CONFIG (so kafka-python 3's default, modified-only, reply is empty); a fresh
    group with the client's default settings waits ~23 s (max(1 s, session / 2)); storage
    is memory. With kafka-python 2, InitProducerId fails too; 2.2 parses Tansu's Metadata
    reply, but 2.3's admin client cannot ("14 is not a valid ACLOperation" in the
    authorized operations). ``tests/integration/test_parity.py`` fails when this drifts
    from the probes.
    """
    kafka_python = kafka_python_version()
    if kafka_python >= (3, 0):
        return frozenset({"idempotence", "transactions", "admin_metadata", "compaction"})
    if kafka_python < (2, 3):
        return frozenset({"admin_metadata", "compaction"})
    return frozenset({"compaction"})
