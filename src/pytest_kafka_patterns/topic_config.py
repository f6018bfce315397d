"""Topic configs checked as Apache Kafka checks them, before any broker sees them.

The embedded broker (Tansu) stores whatever config a CreateTopics request carries, so a
typo such as ``cleanup_policy="bogus"`` would pass on it and fail on Apache Kafka. This
module applies Kafka's own rules, with Kafka's own wording, on every backend.

Names, types and validators follow Apache Kafka's ``LogConfig`` (the ``ConfigDef`` of
topic configs, ``storage/.../internals/log/LogConfig.java``), messages follow
``ConfigDef`` (``ConfigException``: "Invalid value V for configuration N: reason") and
``LogConfig.validateNames`` ("Unknown topic config name: N"). Names from Kafka 3.x that
4.0 removed (``message.format.version``...) are still accepted, as 3.x brokers take them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import KafkaPatternsError

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


class InvalidTopicConfig(KafkaPatternsError, ValueError):
    """A topic config Apache Kafka would refuse (``InvalidConfigurationException``)."""


class _ConfigException(Exception):
    """Kafka's ``ConfigException(name, value, message)``."""

    def __init__(self, name: str, value: object, message: str) -> None:
        super().__init__(f"Invalid value {value} for configuration {name}: {message}")


def _number(text: str, kind: str) -> int | float:
    """``ConfigDef.parseType`` for INT, LONG and DOUBLE (strings are trimmed first)."""
    trimmed = text.strip()
    try:
        if kind == "DOUBLE":
            return float(trimmed)
        value = int(trimmed, 10)
    except ValueError:
        raise ValueError(f"Not a number of type {kind}") from None
    low, high = (INT_MIN, INT_MAX) if kind == "INT" else (LONG_MIN, LONG_MAX)
    if not low <= value <= high:
        raise ValueError(f"Not a number of type {kind}")
    return value


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _java(value: int | float) -> str:
    """How Java prints the parsed value (a DOUBLE keeps its ``.0``)."""
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Spec:
    """One topic config: its ``ConfigDef`` type and validator."""

    kind: str  # INT, LONG, DOUBLE, BOOLEAN, STRING, LIST
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[str, int | float], None] | None = None

    def validate(self, name: str, text: str) -> None:
        if self.kind == "BOOLEAN":
            if text.strip().lower() not in ("true", "false"):
                raise _ConfigException(name, text, "Expected value to be either true or false")
            return
        if self.kind == "STRING":
            if self.choices and text.strip() not in self.choices:
                raise _ConfigException(
                    name, text, "String must be one of: " + ", ".join(self.choices))
            return
        if self.kind == "LIST":
            items = [item.strip() for item in text.split(",")] if text.strip() else []
            for item in items:
                if self.choices and item not in self.choices:
                    raise _ConfigException(
                        name, item, "String must be one of: " + ", ".join(self.choices))
            return
        try:
            value = _number(text, self.kind)
        except ValueError as exc:
            raise _ConfigException(name, text, str(exc)) from None
        if self.low is not None and value < self.low:
            raise _ConfigException(name, _java(value), f"Value must be at least {_show(self.low)}")
        if self.high is not None and value > self.high:
            raise _ConfigException(
                name, _java(value), f"Value must be no more than {_show(self.high)}")
        if self.check is not None:
            self.check(name, value)


def _gzip_level(name: str, value: int | float) -> None:
    if not (1 <= value <= 9 or value == -1):
        raise _ConfigException(name, _java(value), "Value must be between 1 and 9 or equal to -1")


#: Kafka's ``BrokerCompressionType`` names, in its order.
COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")

#: Apache Kafka's topic configs (``LogConfig``'s ``ConfigDef``, 3.x and 4.x).
TOPIC_CONFIGS: Mapping[str, Spec] = {
    "cleanup.policy": Spec("LIST", choices=("compact", "delete")),
    "compression.type": Spec("STRING", choices=COMPRESSION_TYPES),
    "compression.gzip.level": Spec("INT", check=_gzip_level),
    "compression.lz4.level": Spec("INT", low=1, high=17),
    "compression.zstd.level": Spec("INT", low=-131072, high=22),
    "delete.retention.ms": Spec("LONG", low=0),
    "file.delete.delay.ms": Spec("LONG", low=0),
    "flush.messages": Spec("LONG", low=1),
    "flush.ms": Spec("LONG", low=0),
    "follower.replication.throttled.replicas": Spec("LIST"),
    "index.interval.bytes": Spec("INT", low=0),
    "leader.replication.throttled.replicas": Spec("LIST"),
    "local.retention.bytes": Spec("LONG", low=-2),
    "local.retention.ms": Spec("LONG", low=-2),
    "max.compaction.lag.ms": Spec("LONG", low=1),
    "max.message.bytes": Spec("INT", low=0),
    "message.downconversion.enable": Spec("BOOLEAN"),  # 3.x
    "message.format.version": Spec("STRING"),  # 3.x
    "message.timestamp.after.max.ms": Spec("LONG", low=0),
    "message.timestamp.before.max.ms": Spec("LONG", low=0),
    "message.timestamp.difference.max.ms": Spec("LONG", low=0),  # 3.x
    "message.timestamp.type": Spec("STRING", choices=("CreateTime", "LogAppendTime")),
    "min.cleanable.dirty.ratio": Spec("DOUBLE", low=0, high=1),
    "min.compaction.lag.ms": Spec("LONG", low=0),
    "min.insync.replicas": Spec("INT", low=1),
    "preallocate": Spec("BOOLEAN"),
    "remote.log.copy.disable": Spec("BOOLEAN"),  # 4.x
    "remote.log.delete.on.disable": Spec("BOOLEAN"),  # 4.x
    "remote.storage.enable": Spec("BOOLEAN"),
    "retention.bytes": Spec("LONG"),
    "retention.ms": Spec("LONG", low=-1),
    "segment.bytes": Spec("INT", low=1024 * 1024),
    "segment.index.bytes": Spec("INT", low=4),
    "segment.jitter.ms": Spec("LONG", low=0),
    "segment.ms": Spec("LONG", low=1),
    "unclean.leader.election.enable": Spec("BOOLEAN"),
}


#: Vendors' own topic configs (Confluent Server's ``confluent.*``, Redpanda's
#: ``redpanda.*``): passed to the broker unchecked, since only that broker knows them.
VENDOR_PREFIXES = ("confluent.", "redpanda.")


def validate_topic_configs(configs: Mapping[str, str], topic: str = "") -> None:
    """Raise :class:`InvalidTopicConfig` (Kafka's message) for the first config Kafka refuses.

    ``configs`` are Kafka names with string values, as sent in CreateTopics. Names with a
    vendor's prefix (:data:`VENDOR_PREFIXES`) are left to that vendor's broker.
    """
    where = f"could not create topic {topic!r}: " if topic else ""
    configs = {name: text for name, text in configs.items()
               if not name.startswith(VENDOR_PREFIXES)}
    for name in configs:
        if name not in TOPIC_CONFIGS:
            near = [known for known in TOPIC_CONFIGS if known.replace(".", "") == name.replace(
                ".", "").replace("_", "")]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InvalidTopicConfig(
                f"{where}InvalidConfigurationException: Unknown topic config name: {name}{hint}")
    for name, text in configs.items():
        try:
            TOPIC_CONFIGS[name].validate(name, text)
        except _ConfigException as exc:
            raise InvalidTopicConfig(f"{where}InvalidConfigurationException: {exc}") from None
    min_lag = configs.get("min.compaction.lag.ms")
    max_lag = configs.get("max.compaction.lag.ms")
    if min_lag is not None and max_lag is not None and int(min_lag) > int(max_lag):
        raise InvalidTopicConfig(
            f"{where}InvalidConfigurationException: conflict topic config setting "
            f"min.compaction.lag.ms ({int(min_lag)}) > max.compaction.lag.ms ({int(max_lag)})")
