"""Fixture factories: each returns a pytest fixture, so a conftest can declare more.

The plugin declares the default instances (``kafka_broker``, ``redis_client``...) with
these factories. A second broker with other settings is one line in a conftest::

    from pytest_kafka_patterns.fixtures import kafka_broker_fixture
    kafka_broker_b = kafka_broker_fixture(backend="embedded")

Fixtures that need a broker or a Redis take the *name* of the fixture that provides it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
import redis
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from . import clients, topics
from .backends import KafkaBroker, RedisServer, Running, start_kafka, start_redis
from .config import Settings
from .errors import KafkaPatternsError
from .redis_db import DatabaseClaim, claim_database
from .sharing import SharedService

SETTINGS_KEY = pytest.StashKey[Settings]()
SERVICES_KEY = pytest.StashKey[dict[str, str]]()
"""The services this run handed out: fixture name -> the service's JSON description."""
#: Where an xdist worker reports its services to the controller (``workeroutput``).
WORKER_OUTPUT_SERVICES = "kafka_patterns_services"
STATE_DIR = "kafka-patterns"
CLAIMS_KEY = pytest.StashKey[dict[tuple[str, int, int], DatabaseClaim]]()
"""The Redis databases this process claimed: (host, port, db) -> claim."""

T = TypeVar("T", KafkaBroker, RedisServer)


def settings_of(config: pytest.Config) -> Settings:
    """The run's resolved settings (see :mod:`pytest_kafka_patterns.config`)."""
    return config.stash[SETTINGS_KEY]


def worker_id() -> str:
    """The pytest-xdist worker id (``gw0``...), or ``""`` outside xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def record_service(config: pytest.Config, name: str, description: str) -> None:
    """Note a service handed out by fixture ``name``, for the run's terminal summary.

    In an xdist worker it also goes into ``config.workeroutput``, which xdist sends to
    the controller when the worker finishes (see ``plugin.pytest_testnodedown``).
    """
    config.stash.setdefault(SERVICES_KEY, {})[name] = description
    worker_output = getattr(config, "workeroutput", None)
    if isinstance(worker_output, dict):
        worker_output.setdefault(WORKER_OUTPUT_SERVICES, {})[name] = description


def worker_index() -> int:
    worker = worker_id()
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory shared by every process of this run (the xdist controller's base temp)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if worker_id() else base) / STATE_DIR


def _provide(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    kind: type[T],
    start: Callable[[Path], Running[T]],
) -> Iterator[T]:
    """Start a service (once per run under xdist), hand it out, stop it at the end."""
    key = request.fixturename or kind.__name__
    root = run_root(tmp_path_factory)
    workdir = tmp_path_factory.mktemp(key, numbered=True)

    def start_and_record() -> tuple[str, Callable[[], None]]:
        try:
            running = start(workdir)
        except KafkaPatternsError as exc:
            pytest.fail(f"{key}: {exc}", pytrace=False)
        description = running.info.to_json()
        (root / "services").mkdir(parents=True, exist_ok=True)
        (root / "services" / f"{key}.json").write_text(description)
        return description, running.stop

    if worker_id():
        shared = SharedService(root, key)
        try:
            description = shared.acquire(start_and_record)
        except KafkaPatternsError as exc:
            pytest.fail(f"{key}: {exc}", pytrace=False)
        try:
            yield kind.from_json(description)
        finally:
            shared.release()
        return
    description, stop = start_and_record()
    try:
        yield kind.from_json(description)
    finally:
        stop()


def kafka_broker_fixture(*, scope: str = "session", **overrides: Any) -> Any:
    """A fixture that provides a :class:`KafkaBroker`.

    ``overrides`` replace fields of the run's Kafka settings, e.g. ``backend="embedded"``
    or ``image="my/kafka:tag"``. Under xdist every worker shares one broker per fixture.
    """

    @pytest.fixture(scope=scope)  # type: ignore[call-overload, untyped-decorator]
    def kafka_broker_factory_fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[KafkaBroker]:
        settings = settings_of(request.config).kafka.with_overrides(**overrides)
        for broker in _provide(
            request, tmp_path_factory, KafkaBroker, lambda wd: start_kafka(settings, wd)
        ):
            record_service(request.config, request.fixturename or "kafka", broker.to_json())
            yield broker

    return kafka_broker_factory_fixture


def redis_server_fixture(*, scope: str = "session", **overrides: Any) -> Any:
    """A fixture that provides a :class:`RedisServer` whose ``db`` this process claimed.

    Each test process (each xdist worker, each concurrent run) claims a database of its
    own for the session (:mod:`.redis_db`); a Redis the run starts gets one database per
    worker. ``--redis-url=redis://host:port/7`` makes database 7 the only one used.
    """

    @pytest.fixture(scope=scope)  # type: ignore[call-overload, untyped-decorator]
    def redis_server_factory_fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[RedisServer]:
        workers = int(getattr(request.config, "workerinput", {}).get("workercount", 1))
        settings = settings_of(request.config).redis.with_overrides(
            **{"databases": max(16, workers), **overrides}
        )
        # A generator (closed below, so the server stops even when a claim fails).
        provided = cast(Generator[RedisServer, None, None], _provide(
            request, tmp_path_factory, RedisServer, lambda wd: start_redis(settings, wd)
        ))
        try:
            for server in provided:
                record_service(request.config, request.fixturename or "redis", server.to_json())
                problem = ""
                try:
                    claim = claim_database(server, prefer=worker_index())
                except KafkaPatternsError as exc:
                    problem = f"{request.fixturename}: {exc}"
                if problem:
                    pytest.fail(problem, pytrace=False)
                claims = request.config.stash.setdefault(CLAIMS_KEY, {})
                key = (claim.server.host, claim.server.port, claim.server.db)
                claims[key] = claim
                try:
                    yield claim.server
                finally:
                    claims.pop(key, None)
                    # Leave a database we chose empty for the next run; one the URL
                    # names keeps the last test's data, as before, for a look after.
                    claim.release(flush=server.fixed_db is None)
        finally:
            provided.close()

    return redis_server_factory_fixture


def kafka_admin_fixture(broker: str = "kafka_broker") -> Any:
    """A session-wide ``KafkaAdminClient`` for the broker fixture named ``broker``."""

    @pytest.fixture(scope="session")
    def kafka_admin_factory_fixture(request: pytest.FixtureRequest) -> Iterator[KafkaAdminClient]:
        info: KafkaBroker = request.getfixturevalue(broker)
        admin = KafkaAdminClient(bootstrap_servers=info.bootstrap_servers)
        yield admin
        admin.close()

    return kafka_admin_factory_fixture


def kafka_topic_factory_fixture(admin: str = "kafka_admin") -> Any:
    """``create(prefix="topic", partitions=3, **config) -> name``; topics die with the test.

    Config keys may use underscores for dots: ``retention_ms=1000``.
    """

    @pytest.fixture
    def kafka_topic_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[Callable[..., str]]:
        client: KafkaAdminClient = request.getfixturevalue(admin)
        created: list[str] = []

        def create(prefix: str = "topic", partitions: int = 3, **config: Any) -> str:
            name = topics.unique_name(prefix, request.node.name, worker_id())
            topics.create_topic(client, name, partitions, config)
            created.append(name)
            return name

        yield create
        topics.delete_topics(client, created)

    return kafka_topic_factory_factory_fixture


def _outlive_clients(request: pytest.FixtureRequest, topic_factory: str | None) -> None:
    """Set up the topic factory first, so it tears down (deletes topics) after the clients.

    A client closed after its topic is gone can retry its final commit forever.
    """
    if topic_factory:
        request.getfixturevalue(topic_factory)


def kafka_producer_factory_fixture(
    broker: str = "kafka_broker", topic_factory: str | None = "kafka_topic_factory"
) -> Any:
    """``make(**overrides) -> KafkaProducer`` (JSON values, UTF-8 keys, ``acks="all"``)."""

    @pytest.fixture
    def kafka_producer_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[Callable[..., KafkaProducer]]:
        info: KafkaBroker = request.getfixturevalue(broker)
        _outlive_clients(request, topic_factory)
        made: list[KafkaProducer] = []

        def make(**overrides: Any) -> KafkaProducer:
            producer = clients.new_producer(info.bootstrap_servers, **overrides)
            made.append(producer)
            return producer

        yield make
        for producer in made:
            producer.flush(timeout=10)
            producer.close(timeout=5)

    return kafka_producer_factory_factory_fixture


def kafka_consumer_factory_fixture(
    broker: str = "kafka_broker", topic_factory: str | None = "kafka_topic_factory"
) -> Any:
    """``make(*topics, group_id=None, **overrides) -> KafkaConsumer``, closed after the test.

    Without ``group_id`` the consumer gets a group no other test uses. Group timings come
    from the broker (``KafkaBroker.consumer_defaults``), so a fresh group is assigned
    as fast as that backend allows.
    """

    @pytest.fixture
    def kafka_consumer_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[Callable[..., KafkaConsumer]]:
        info: KafkaBroker = request.getfixturevalue(broker)
        _outlive_clients(request, topic_factory)
        made: list[KafkaConsumer] = []

        def make(*topic_names: str, group_id: str | None = None, **overrides: Any) -> KafkaConsumer:
            if group_id is None:
                group_id = topics.unique_name("group", request.node.name, worker_id())
            consumer = clients.new_consumer(
                info.bootstrap_servers,
                topic_names,
                group_id=group_id,
                group_defaults=info.consumer_defaults,
                **overrides,
            )
            made.append(consumer)
            return consumer

        yield make
        for consumer in made:
            consumer.close()

    return kafka_consumer_factory_factory_fixture


def redis_client_fixture(server: str = "redis_server") -> Any:
    """A ``redis.Redis`` on this process's claimed database, emptied before the test."""

    @pytest.fixture
    def redis_client_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[redis.Redis[bytes]]:
        info: RedisServer = request.getfixturevalue(server)
        claim = request.config.stash.get(CLAIMS_KEY, {}).get((info.host, info.port, info.db))
        problem = ""
        if claim is None:
            problem = (
                f"database {info.db} of the Redis at {info.host}:{info.port} (from fixture "
                f"{server!r}) is not claimed by this run, and the plugin empties only "
                "databases it claimed. Provide the server with "
                "pytest_kafka_patterns.fixtures.redis_server_fixture()."
            )
        else:
            try:
                claim.flush()
            except KafkaPatternsError as exc:
                problem = str(exc)
            except redis.RedisError as exc:
                problem = f"cannot empty Redis database {info.db} at {info.host}:{info.port}: {exc}"
        if problem:
            pytest.fail(f"{request.fixturename}: {problem}", pytrace=False)
        client = redis.Redis(host=info.host, port=info.port, db=info.db, password=info.password)
        yield client
        client.close()

    return redis_client_factory_fixture
