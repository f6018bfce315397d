"""Services someone else runs (a CI service container, a shared dev cluster).

Nothing is started or stopped; we only check that the address answers, and tests keep
their data in unique topics and per-worker Redis databases.

What an external Kafka can do is measured on connect, not assumed: the behaviour probes of
:mod:`..parity` run against it (concurrently, a few seconds; topics named
``kafka-patterns-parity-*`` are created and deleted; one empty consumer group and two
transactional ids of that prefix are left to expire), and the broker claims exactly the
capabilities whose probes passed. An external Tansu or Redpanda therefore does not claim
what it lacks. ``persistence`` cannot be probed without restarting the broker, so it is
never claimed here.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

from .. import parity
from ..config import KafkaSettings, RedisSettings
from ..errors import ConfigError, ServiceUnreachable
from ..probes import kafka_api_versions, redis_ping, split_host_port, wait_until
from .base import KafkaBroker, RedisServer, Running

NAME = "external"
DEFAULT_TIMEOUT = 10.0

#: Apache Kafka refuses sessions under group.min.session.timeout.ms (6 s by default).
KAFKA_CONSUMER_DEFAULTS = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


def parse_bootstrap_servers(text: str) -> list[tuple[str, int]]:
    """``host:port,host:port`` as pairs; raise :class:`ConfigError` when malformed."""
    servers = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            servers.append(split_host_port(part, 9092))
        except ValueError as exc:
            raise ConfigError(
                f"bad Kafka bootstrap server {part.strip()!r} ({exc}); "
                "expected host:port[,host:port]."
            ) from None
    if not servers:
        raise ConfigError("the Kafka bootstrap servers are empty; expected host:port.")
    return servers


def start_kafka(settings: KafkaSettings, workdir: Path) -> Running[KafkaBroker]:
    """Check that the given cluster answers Kafka requests."""
    if not settings.bootstrap_servers:
        raise ConfigError(
            "--kafka-backend=external needs an address: pass --kafka-bootstrap-servers "
            "host:port or set PYTEST_KAFKA_BOOTSTRAP_SERVERS."
        )
    servers = parse_bootstrap_servers(settings.bootstrap_servers)
    timeout = settings.startup_timeout or DEFAULT_TIMEOUT

    def any_answers() -> bool:
        return any(kafka_api_versions(host, port) for host, port in servers)

    started = time.monotonic()
    elapsed = wait_until(any_answers, timeout, interval=0.1)
    if elapsed is None:
        raise ServiceUnreachable(
            f"no Kafka broker answered at {settings.bootstrap_servers} "
            f"(tried for {time.monotonic() - started:.1f} s). Start the cluster, fix the "
            "address, or drop --kafka-backend=external to get an embedded broker."
        )
    bootstrap_servers = ",".join(f"{host}:{port}" for host, port in servers)
    broker = KafkaBroker(
        bootstrap_servers=bootstrap_servers,
        backend=NAME,
        version="unknown",
        capabilities=probe_capabilities(bootstrap_servers),
        consumer_defaults=KAFKA_CONSUMER_DEFAULTS,
        startup_seconds=elapsed,
    )
    return Running(broker, lambda: None)


def probe_capabilities(bootstrap_servers: str) -> frozenset[str]:
    """The capabilities the broker at ``bootstrap_servers`` passes the probes of (cached)."""
    return parity.measured_capabilities(parity.probe_all(bootstrap_servers))


def parse_redis_url(url: str) -> tuple[str, int, int | None, str | None]:
    """``host, port, db, password`` of ``redis://[:password@]host[:port][/db]``.

    ``db`` is None when the URL names none. Raise :class:`ConfigError` when malformed.
    """
    expected = "expected redis://[:password@]host[:port][/db]"
    parsed = urlparse(url.strip())
    if parsed.scheme != "redis" or not parsed.hostname:
        raise ConfigError(f"bad Redis URL {url!r}; {expected}.")
    try:
        port = parsed.port if parsed.port is not None else 6379
    except ValueError:
        raise ConfigError(f"bad port in Redis URL {url!r}; {expected}.") from None
    if not 0 < port < 65536:
        raise ConfigError(f"bad port {port} in Redis URL {url!r}; {expected}.")
    path = parsed.path.strip("/")
    db: int | None = None
    if path:
        if not path.isdigit():
            raise ConfigError(
                f"bad database {path!r} in Redis URL {url!r}: a database is a number "
                f"(0, 1, ...); {expected}."
            )
        db = int(path)
    if parsed.query:
        raise ConfigError(
            f"Redis URL {url!r} has options ({parsed.query!r}) that are not supported; "
            f"{expected}."
        )
    return parsed.hostname, port, db, parsed.password


def start_redis(settings: RedisSettings, workdir: Path) -> Running[RedisServer]:
    """Check that the given Redis answers PING.

    The URL's database (``/7``), when it names one, is the only database the run uses;
    otherwise each test process claims a free, empty one (:mod:`..redis_db`).
    """
    if not settings.url:
        raise ConfigError(
            "--redis-backend=external needs an address: pass --redis-url "
            "redis://host:port or set PYTEST_REDIS_URL."
        )
    host, port, db, password = parse_redis_url(settings.url)
    timeout = settings.startup_timeout or DEFAULT_TIMEOUT
    started = time.monotonic()
    elapsed = wait_until(lambda: redis_ping(host, port, password=password), timeout, interval=0.1)
    if elapsed is None:
        raise ServiceUnreachable(
            f"no Redis answered PING at {host}:{port} "
            f"(tried for {time.monotonic() - started:.1f} s). Start it, fix --redis-url, or "
            "drop --redis-backend=external to get a redis-server process."
        )
    server = RedisServer(
        host=host, port=port, backend=NAME, startup_seconds=elapsed, password=password,
        db=db or 0, fixed_db=db,
    )
    return Running(server, lambda: None)
