"""What every backend hands back: plain data about the service, and a way to stop it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, get_args

from ..capabilities import check_known

if TYPE_CHECKING:
    from ..process import ManagedProcess


#: Kafka clients whose key names :meth:`KafkaBroker.consumer_config` speaks.
#: ``"confluent-kafka"`` (the distribution's name) is the same as ``"confluent"``.
Client = Literal["kafka-python", "confluent", "aiokafka", "confluent-kafka"]


#: kafka-python names whose librdkafka property is not the name with dots for underscores.
_LIBRDKAFKA_NAMES = {"fetch_max_wait_ms": "fetch.wait.max.ms"}


def client_config(settings: Mapping[str, Any], client: Client = "kafka-python") -> dict[str, Any]:
    """``settings`` (kafka-python keyword names, e.g. ``session_timeout_ms``) in
    ``client``'s own key names: unchanged for kafka-python and aiokafka, librdkafka
    properties for confluent-kafka (``session.timeout.ms``, ``heartbeat.interval.ms``,
    ``auto.commit.interval.ms``, ``fetch.wait.max.ms``: librdkafka CONFIGURATION.md).
    The one translation both :meth:`KafkaBroker.consumer_config` and the contract
    runners' ``RunnerConfig.consumer_config`` use.

    Raises ``ValueError`` for a ``client`` not in :data:`Client`.
    """
    if client in ("kafka-python", "aiokafka"):
        return dict(settings)
    if client in ("confluent", "confluent-kafka"):
        return {_LIBRDKAFKA_NAMES.get(key, key.replace("_", ".")): value
                for key, value in settings.items()}
    raise ValueError(
        f"consumer_config(client={client!r}): choose one of "
        + ", ".join(repr(name) for name in get_args(Client))
    )


@dataclass(frozen=True)
class KafkaBroker:
    """A running Kafka-protocol broker, as tests see it.

    Plain data, so that one xdist worker can start the broker and the others read it
    from a file.
    """

    bootstrap_servers: str
    backend: str
    version: str = "unknown"
    capabilities: frozenset[str] = frozenset()
    consumer_defaults: Mapping[str, Any] = field(default_factory=dict)
    """Client settings that make consumer groups fast and safe on this broker."""
    startup_seconds: float = 0.0

    def consumer_config(self, client: Client = "kafka-python") -> dict[str, Any]:
        """The broker's tuned consumer-group settings, in ``client``'s own key names.

        Pass them to the consumers your own code builds, so a fresh group is assigned as
        fast as the fixtures' consumers are (embedded broker: ~1 s instead of ~23 s with
        kafka-python's or librdkafka's 45 s default session)::

            KafkaConsumer(topic, bootstrap_servers=..., group_id=...,
                          **kafka_broker.consumer_config())                    # kafka-python
            AIOKafkaConsumer(topic, ..., **kafka_broker.consumer_config("aiokafka"))
            Consumer({"bootstrap.servers": ..., "group.id": ...,
                      **kafka_broker.consumer_config("confluent")})          # confluent-kafka

        kafka-python and aiokafka take keyword arguments (``session_timeout_ms``),
        confluent-kafka (``"confluent"`` or ``"confluent-kafka"``) librdkafka properties
        (``session.timeout.ms``).
        """
        return client_config(self.consumer_defaults, client)

    def supports(self, *capabilities: str) -> bool:
        """True when the broker (with the installed client) can do all ``capabilities``."""
        check_known(capabilities)
        return set(capabilities) <= self.capabilities

    def to_json(self) -> str:
        data = asdict(self)
        data["capabilities"] = sorted(self.capabilities)
        data["consumer_defaults"] = dict(self.consumer_defaults)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> KafkaBroker:
        data = json.loads(text)
        data["capabilities"] = frozenset(data["capabilities"])
        return cls(**data)


@dataclass(frozen=True)
class RedisServer:
    """A running Redis server, as tests see it.

    ``db`` is the database this test process claimed (see :mod:`..redis_db`): each xdist
    worker and each concurrent run gets its own, so flushing it between tests never
    touches anybody else's data.
    """

    host: str
    port: int
    backend: str
    version: str = "unknown"
    startup_seconds: float = 0.0
    db: int = 0
    password: str | None = None
    fixed_db: int | None = None
    """The one database the run may use (the one ``--redis-url`` names); None: any free."""

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RedisServer:
        return cls(**json.loads(text))


T = TypeVar("T")


@dataclass(frozen=True)
class Running(Generic[T]):
    """A started service: what it is, and the one call that ends it (idempotent)."""

    info: T
    stop: Callable[[], None]
    process: ManagedProcess | None = None
    """The local process behind it, when there is one (liveness, log)."""
