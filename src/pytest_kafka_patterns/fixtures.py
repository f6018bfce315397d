"""Fixture factories: each returns a pytest fixture, so a conftest can declare more.

The plugin declares the default instances (``kafka_broker``, ``redis_client``...) with
these factories. A second broker with other settings is one line in a conftest::

    from pytest_kafka_patterns.fixtures import kafka_broker_fixture
    kafka_broker_b = kafka_broker_fixture(backend="embedded")

Fixtures that need a broker or a Redis take the *name* of the fixture that provides it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

from . import extras, reaper, runstate, statedirs
from ._kafka_quiet import import_kafka
from .backends import KafkaBroker, RedisServer, Running, start_kafka, start_redis
from .config import Settings
from .errors import KafkaPatternsError
from .fixture_types import (
    ConsumerFactory,
    FixtureFunction,
    ProducerFactory,
    Scope,
    TopicFactory,
)
from .liveness import ProcessId

if TYPE_CHECKING:
    # Imported where a fixture first needs them: the plugin imports this module in every
    # run, and a run that uses no Kafka or Redis fixture should not pay for them.
    import redis
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

    from .backends.cluster import KafkaCluster
    from .redis_db import DatabaseClaim
    from .sharing import SharedService

SETTINGS_KEY = pytest.StashKey[Settings]()
SERVICES_KEY = pytest.StashKey[dict[str, str]]()
"""The services this run handed out: fixture name -> the service's JSON description."""
#: Where an xdist worker reports its services to the controller (``workeroutput``).
WORKER_OUTPUT_SERVICES = "kafka_patterns_services"
STATE_DIR = "kafka-patterns"
CLAIMS_KEY = pytest.StashKey[dict[tuple[str, int, int], "DatabaseClaim"]]()
"""The Redis databases this process claimed: (host, port, db) -> claim."""

T = TypeVar("T", KafkaBroker, RedisServer)


def settings_of(config: pytest.Config) -> Settings:
    """The run's resolved settings (see :mod:`pytest_kafka_patterns.config`)."""
    return config.stash[SETTINGS_KEY]


def worker_id() -> str:
    """The pytest-xdist worker id (``gw0``...) of this process, or ``""`` outside xdist.

    Decided from what xdist gives this process's own config (``workerinput``), never
    from an inherited environment variable: a pytest started inside a worker is no worker.
    """
    state = runstate.current()
    return state.worker_id if state is not None else ""


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
    """The number of this xdist worker (``gw3`` -> 3), 0 outside xdist."""
    state = runstate.current()
    return state.worker_index if state is not None else 0


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory shared by every process of this run, and by no other run.

    It lies in the xdist controller's base temp directory, named by a key the controller
    hands its workers, so a pytest nested in a worker gets a directory of its own.
    """
    state = runstate.current()
    base = tmp_path_factory.getbasetemp()
    if state is None:
        return base / STATE_DIR
    return (base.parent if state.worker_id else base) / f"{STATE_DIR}-{state.run_key}"


#: The shared services this process uses, so that each test can check their owner lives.
HELD_KEY = pytest.StashKey[dict[str, "SharedService"]]()


def held_services(config: pytest.Config) -> dict[str, SharedService]:
    """The shared services (by fixture name) this process took from another worker."""
    return config.stash.setdefault(HELD_KEY, {})


def _start_and_record(
    key: str,
    tmp_path_factory: pytest.TempPathFactory,
    root: Path,
    controller: ProcessId,
    start: Callable[[Path], Running[T]],
) -> tuple[str, Callable[[], None]]:
    """Start the service; record it for the summary and for the reaper.

    Every directory is checked before anything starts; should a write fail after the
    start anyway, what was started is stopped before the error is raised.
    """
    what = f"the working directory of {key}"
    try:
        workdir = tmp_path_factory.mktemp(key, numbered=True)
    except OSError as exc:
        where = Path(exc.filename).parent if isinstance(exc.filename, str) else root.parent
        raise statedirs.error(where, exc, statedirs.BASETEMP, what) from None
    statedirs.ensure_writable(workdir, statedirs.BASETEMP, what)
    statedirs.ensure_writable(root, statedirs.BASETEMP, "the shared run state")
    reaper.ensure_registry()
    running = start(workdir)
    try:
        description = running.info.to_json()
        services = root / "services"
        try:
            services.mkdir(parents=True, exist_ok=True)
            (services / f"{key}.json").write_text(description)
        except OSError as exc:
            raise statedirs.error(
                services, exc, statedirs.BASETEMP, "the shared run state"
            ) from None
        # Kept after a clean stop too: the run is not over until its controller exits,
        # and only then can the reaper tell a killed run (pytest's lock left) from a clean one.
        reaper.remember_run(key, controller, root.parent, [workdir, root])
    except BaseException:
        running.stop()
        raise

    return description, running.stop


#: Set once this process has reaped what killed runs left (see :func:`reap_leftovers`).
REAPED_KEY = pytest.StashKey[bool]()


def reap_leftovers(config: pytest.Config) -> None:
    """Once per run and process, before it starts its first service: kill the servers
    and delete the directories of killed runs (:mod:`.reaper`), and remove their
    containers where a Docker engine answers.

    Done here rather than when pytest configures, so a run that starts no service pays
    nothing for it: no Docker ping, no registry scan (issue 14). Under xdist it runs in
    the worker that starts a service; everything it removes belongs to processes that
    are gone, never to this run.
    """
    if config.stash.get(REAPED_KEY, False):
        return
    config.stash[REAPED_KEY] = True
    reaper.reap_orphans()
    reaper.clean_dead_runs()
    from .backends.docker import docker_available, reap_orphan_containers

    if docker_available():
        reap_orphan_containers()


def _provide(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    kind: type[T],
    start: Callable[[Path], Running[T]],
) -> Iterator[T]:
    """Start a service (once per run under xdist), hand it out, stop it at the end.

    A failed start fails the test with the plugin's message, once (no chained
    traceback); under xdist the other workers get the same message without retrying.
    """
    key = request.fixturename or kind.__name__
    state = runstate.of(request.config)
    failure: str | None = None
    description = ""
    stop: Callable[[], None] | None = None
    shared: SharedService | None = None
    try:
        root = run_root(tmp_path_factory)

        def start_here() -> tuple[str, Callable[[], None]]:
            reap_leftovers(request.config)
            return _start_and_record(key, tmp_path_factory, root, state.controller, start)

        if state.worker_id:
            from .sharing import SharedService

            shared = SharedService(root, key, worker=state.worker_id, controller=state.controller)
            description = shared.acquire(start_here)
        else:
            description, stop = start_here()
    except KafkaPatternsError as exc:
        failure = str(exc)
    except OSError as exc:  # pytest could not make its base temp directory
        where = Path(exc.filename).parent if isinstance(exc.filename, str) else Path.cwd()
        failure = str(
            statedirs.error(where, exc, statedirs.BASETEMP, "pytest's base temp directory")
        )
    if failure is not None:
        pytest.fail(f"{key}: {failure}", pytrace=False)
    if shared is not None and not shared.owns:
        held_services(request.config)[key] = shared
    try:
        yield kind.from_json(description)
    finally:
        if shared is not None:
            held_services(request.config).pop(key, None)
            shared.release()
        elif stop is not None:
            stop()


def require_extra(request: pytest.FixtureRequest, extra: str) -> None:
    """Fail the fixture's set-up with one line (what is missing, the pip line) when
    ``extra`` is not installed (see :mod:`.extras`)."""
    problem = ""
    try:
        extras.require(extra, f"the {request.fixturename} fixture")
    except extras.MissingExtra as exc:
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)


def check_shared_owners(item: pytest.Item) -> None:
    """Fail ``item`` at once when a shared service it needs died with its owner."""
    held = item.config.stash.get(HELD_KEY, None)
    if not held or not isinstance(item, pytest.Function):
        return
    for key in item.fixturenames:
        shared = held.get(key)
        reason = shared.owner_died() if shared is not None else None
        if reason is not None:
            pytest.fail(f"{key}: {reason}", pytrace=False)


def kafka_broker_fixture(*, scope: Scope = "session", **overrides: Any) -> FixtureFunction:
    """A fixture that provides a :class:`KafkaBroker`.

    ``overrides`` replace fields of the run's Kafka settings, e.g. ``backend="embedded"``
    or ``image="my/kafka:tag"``. Under xdist every worker shares one broker per fixture.
    """

    @pytest.fixture(scope=scope)
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


def kafka_cluster_fixture(
    *, size: int = 3, scope: Scope = "module", **overrides: Any
) -> FixtureFunction:
    """A fixture that provides a :class:`~.backends.cluster.KafkaCluster`: ``size``
    Apache Kafka brokers (combined KRaft nodes), whatever ``--kafka-backend`` says.

    ``overrides`` replace fields of the run's Kafka settings (``version=...``,
    ``startup_timeout=...``). Each xdist worker that needs it starts its own cluster, since
    its tests stop and kill brokers. Brokers a test stopped stay stopped: call
    ``cluster.restore()`` (the plugin's ``kafka_cluster`` fixture does, before each test).
    """

    @pytest.fixture(scope=scope)
    def kafka_cluster_factory_fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[KafkaCluster]:
        from .backends.cluster import start_cluster

        settings = settings_of(request.config).kafka.with_overrides(
            **{"backend": "apache", **overrides}
        )
        key = request.fixturename or "kafka_cluster"
        failure = ""
        try:
            reap_leftovers(request.config)
            root = run_root(tmp_path_factory)
            workdir = tmp_path_factory.mktemp(key, numbered=True)
            what = f"the working directory of {key}"
            statedirs.ensure_writable(workdir, statedirs.BASETEMP, what)
            reaper.ensure_registry()
            cluster = start_cluster(settings, workdir, size)
        except KafkaPatternsError as exc:
            failure = str(exc)
        except OSError as exc:  # pytest could not make its base temp directory
            where = Path(exc.filename).parent if isinstance(exc.filename, str) else Path.cwd()
            failure = str(statedirs.error(where, exc, statedirs.BASETEMP, "the base temp"))
        if failure:
            pytest.fail(f"{key}: {failure}", pytrace=False)
        try:
            # Its directory goes when the run is over, if the run was killed (see reaper).
            reaper.remember_run(key, runstate.of(request.config).controller, root.parent,
                                [workdir])
            record_service(request.config, key, json.dumps({
                "backend": f"apache cluster of {size}", "version": cluster.version,
                "bootstrap_servers": cluster.bootstrap_servers,
                "startup_seconds": cluster.startup_seconds,
            }))
            yield cluster
        finally:
            cluster.close()

    return kafka_cluster_factory_fixture


def redis_server_fixture(*, scope: Scope = "session", **overrides: Any) -> FixtureFunction:
    """A fixture that provides a :class:`RedisServer` whose ``db`` this process claimed.

    Each test process (each xdist worker, each concurrent run) claims a database of its
    own for the session (:mod:`.redis_db`); a Redis the run starts gets one database per
    worker. ``--redis-url=redis://host:port/7`` makes database 7 the only one used.
    """

    @pytest.fixture(scope=scope)
    def redis_server_factory_fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[RedisServer]:
        require_extra(request, "redis")
        from .redis_db import claim_database

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


def kafka_admin_fixture(broker: str = "kafka_broker") -> FixtureFunction:
    """A session-wide ``KafkaAdminClient`` for the broker fixture named ``broker``."""

    @pytest.fixture(scope="session")
    def kafka_admin_factory_fixture(request: pytest.FixtureRequest) -> Iterator[KafkaAdminClient]:
        info: KafkaBroker = request.getfixturevalue(broker)
        import_kafka()  # first, quietly (see ._kafka_quiet)
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=info.bootstrap_servers)
        yield admin
        admin.close()

    return kafka_admin_factory_fixture


def kafka_topic_factory_fixture(admin: str = "kafka_admin") -> FixtureFunction:
    """``create(prefix="topic", partitions=3, **config) -> name``; topics die with the test.

    Config keys may use underscores for dots: ``retention_ms=1000``.
    """

    @pytest.fixture
    def kafka_topic_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[TopicFactory]:
        import_kafka()  # first, quietly (see ._kafka_quiet)
        from . import topics

        client: KafkaAdminClient = request.getfixturevalue(admin)
        created: list[str] = []

        def create(prefix: str = "topic", partitions: int = 3, **config: Any) -> str:
            name = topics.unique_name(prefix, request.node.name, worker_id())
            topics.create_topic(client, name, partitions, config)
            created.append(name)
            return name

        # Which broker this factory creates topics on, for the clients' factories to check.
        create.bootstrap_servers = topics.admin_bootstrap_servers(client)  # type: ignore[attr-defined]
        create.admin_fixture = admin  # type: ignore[attr-defined]
        yield cast(TopicFactory, create)
        topics.delete_topics(client, created)

    return kafka_topic_factory_factory_fixture


def _outlive_clients(
    request: pytest.FixtureRequest, topic_factory: str | None, broker: str, info: KafkaBroker
) -> None:
    """Set up the topic factory first, so it tears down (deletes topics) after the clients.

    A client closed after its topic is gone can retry its final commit forever. The topic
    factory must create topics on the clients' broker: a consumer of another broker's
    topic would fail every commit, and its teardown would retry them for ~30 s.
    """
    if not topic_factory:
        return
    factory = request.getfixturevalue(topic_factory)
    address = getattr(factory, "bootstrap_servers", None)
    if address is not None and address != info.bootstrap_servers:
        client = request.fixturename or "the client factory"
        pytest.fail(
            f"{client}: its topic factory {topic_factory!r} creates topics on "
            f"{address} (admin fixture {getattr(factory, 'admin_fixture', '?')!r}), but its "
            f"clients connect to {broker!r} at {info.bootstrap_servers}. Declare the topic "
            f"factory of the same broker beside it, e.g.\n"
            f"    my_admin = kafka_admin_fixture({broker!r})\n"
            f"    my_topics = kafka_topic_factory_fixture(\"my_admin\")\n"
            f"    {client} = ...(\"{broker}\", topic_factory=\"my_topics\")",
            pytrace=False,
        )


def kafka_producer_factory_fixture(
    broker: str = "kafka_broker", topic_factory: str | None = "kafka_topic_factory"
) -> FixtureFunction:
    """``make(**overrides) -> KafkaProducer`` (JSON values, UTF-8 keys, ``acks="all"``)."""

    @pytest.fixture
    def kafka_producer_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[ProducerFactory]:
        import_kafka()  # first, quietly (see ._kafka_quiet)
        from . import clients

        info: KafkaBroker = request.getfixturevalue(broker)
        _outlive_clients(request, topic_factory, broker, info)
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
) -> FixtureFunction:
    """``make(*topics, group_id=None, **overrides) -> KafkaConsumer``, closed after the test.

    Without ``group_id`` the consumer gets a group no other test uses. Group timings come
    from the broker (``KafkaBroker.consumer_defaults``), so a fresh group is assigned
    as fast as that backend allows.
    """

    @pytest.fixture
    def kafka_consumer_factory_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[ConsumerFactory]:
        import_kafka()  # first, quietly (see ._kafka_quiet)
        from . import clients, topics

        info: KafkaBroker = request.getfixturevalue(broker)
        _outlive_clients(request, topic_factory, broker, info)
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


def redis_client_fixture(server: str = "redis_server") -> FixtureFunction:
    """A ``redis.Redis`` on this process's claimed database, emptied before the test."""

    @pytest.fixture
    def redis_client_factory_fixture(
        request: pytest.FixtureRequest,
    ) -> Iterator[redis.Redis[bytes]]:
        require_extra(request, "redis")
        import redis

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
