"""Topics that belong to one test: unique names, created ready to use, then deleted."""

from __future__ import annotations

import itertools
import re
import time
import uuid
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import IllegalArgumentError, KafkaError, UnknownTopicOrPartitionError

from .errors import KafkaPatternsError
from .probes import kafka_metadata, kafka_partition_leaders, split_host_port, wait_until
from .topic_config import validate_topic_configs

_ILLEGAL = re.compile(r"[^a-zA-Z0-9._-]+")
_counter = itertools.count(1)
MAX_NAME = 200


def unique_name(prefix: str, owner: str = "", worker: str = "") -> str:
    """A legal topic or group name no other test or xdist worker will use."""
    parts = [prefix, owner, worker, f"{next(_counter)}{uuid.uuid4().hex[:6]}"]
    name = "-".join(_ILLEGAL.sub("_", part).strip("_") for part in parts if part)
    if len(name) > MAX_NAME:
        name = name[-MAX_NAME:].lstrip("-_.")
    return name


def topic_configs(options: Mapping[str, Any]) -> dict[str, str]:
    """``retention_ms=1000`` -> ``{"retention.ms": "1000"}``; dotted keys pass unchanged.

    Booleans become ``true``/``false`` and lists or tuples a comma-separated list
    (``cleanup_policy=["compact", "delete"]``), as Kafka's ``ConfigDef`` reads them.
    """
    configs = {}
    for key, value in options.items():
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, list | tuple):
            value = ",".join(str(item) for item in value)
        configs[key.replace("_", ".")] = str(value)
    return configs


def create_topic(
    admin: KafkaAdminClient,
    name: str,
    partitions: int = 3,
    config: Mapping[str, Any] | None = None,
    timeout: float = 10.0,
) -> None:
    """Create ``name`` and return once every partition has a leader."""
    if partitions < 1:
        raise ValueError(f"a topic needs at least one partition, not {partitions}")
    configs = topic_configs(config or {})
    # Checked here, not by the broker: the embedded one accepts any config.
    validate_topic_configs(configs, name)
    try:
        # -1: the broker's default.replication.factor (CreateTopics v4+, KIP-464), so a
        # cluster's topics are replicated as it is configured (the cluster backend: every
        # broker, min.insync.replicas one less) and a single broker's have 1 replica.
        new_topic = NewTopic(name, partitions, -1, topic_configs=configs)
    except IllegalArgumentError:  # kafka-python 2 refuses -1 itself: one per broker
        new_topic = NewTopic(name, partitions, _broker_count(admin), topic_configs=configs)
    try:
        admin.create_topics([new_topic], timeout_ms=int(timeout * 1000))
    except KafkaError as exc:
        raise KafkaPatternsError(f"could not create topic {name!r}: {exc}") from exc

    bootstrap_servers = admin_bootstrap_servers(admin)

    def ready() -> bool:
        # Every listed broker, not just one: on a cluster each broker learns a new topic
        # (and its configs: one metadata batch) a little after the controller, and a
        # client may ask any of them next (describe_configs, a producer's metadata).
        for address in bootstrap_servers.split(","):
            leaders = kafka_partition_leaders(address.strip(), name)
            if leaders is None or len(leaders) != partitions or min(leaders) < 0:
                return False
        return True

    if wait_until(ready, timeout, interval=0.01) is None:
        raise KafkaPatternsError(
            f"topic {name!r} was created but its {partitions} partitions had no leader "
            f"within {timeout:g} s; is the broker healthy?"
        )


def _broker_count(admin: KafkaAdminClient) -> int:
    """How many brokers the first bootstrap server lists (1 when it does not answer)."""
    host, port = split_host_port(admin_bootstrap_servers(admin).split(",")[0], 9092)
    metadata = kafka_metadata(host, port)
    return len(metadata.brokers) if metadata is not None and metadata.brokers else 1


def admin_bootstrap_servers(admin: KafkaAdminClient) -> str:
    """The ``host:port[,host:port]`` an admin client was given."""
    bootstrap_servers = admin.config["bootstrap_servers"]
    if not isinstance(bootstrap_servers, str):
        bootstrap_servers = ",".join(bootstrap_servers)
    return str(bootstrap_servers)


def delete_topics(admin: KafkaAdminClient, names: Iterable[str]) -> None:
    """Delete topics, tolerating ones already gone; other failures become warnings."""
    names = list(names)
    if not names:
        return
    started = time.monotonic()
    try:
        admin.delete_topics(names, timeout_ms=5000)
    except UnknownTopicOrPartitionError:
        pass
    except KafkaError as exc:
        warnings.warn(
            f"could not delete test topics {names} after {time.monotonic() - started:.1f} s: "
            f"{exc}",
            stacklevel=2,
        )
