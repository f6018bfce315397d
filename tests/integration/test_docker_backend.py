"""The docker backend, end to end, against a real Docker engine.

Run ``.ci/docker-up.sh && source .ci-work/docker.env`` first: it starts an engine and
builds local images (Tansu for Kafka, redis-server for Redis) without any registry.
The images come from ``PYTEST_KAFKA_IMAGE`` / ``PYTEST_REDIS_IMAGE``.

Without an engine the module is skipped, unless ``PYTEST_KAFKA_REQUIRE_DOCKER=1`` (CI),
which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_kafka_patterns.backends import docker as docker_backend
from pytest_kafka_patterns.backends.base import KafkaBroker, RedisServer, Running
from pytest_kafka_patterns.capabilities import APACHE_KAFKA, tansu_capabilities
from pytest_kafka_patterns.config import (
    DEFAULT_KAFKA_IMAGE,
    DEFAULT_REDIS_IMAGE,
    KafkaSettings,
    RedisSettings,
)
from pytest_kafka_patterns.errors import BackendUnavailable, ServiceStartError
from pytest_kafka_patterns.liveness import BOOT_ID, ProcessId

_REQUIRED = os.environ.get("PYTEST_KAFKA_REQUIRE_DOCKER") == "1"


def _skip_or_fail(reason: str) -> None:
    if _REQUIRED:
        pytest.fail(f"PYTEST_KAFKA_REQUIRE_DOCKER=1, but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    import docker
    import docker.errors
except ImportError:
    _skip_or_fail(f"testcontainers/docker are not installed ({docker_backend.INSTALL_HINT})")
if not docker_backend.docker_available():
    _skip_or_fail(
        "no Docker engine answers at "
        f"{os.environ.get('DOCKER_HOST') or docker_backend.DEFAULT_DOCKER_HOST} "
        "(start one with .ci/docker-up.sh, then source .ci-work/docker.env)"
    )

KAFKA_IMAGE = os.environ.get("PYTEST_KAFKA_IMAGE") or DEFAULT_KAFKA_IMAGE
REDIS_IMAGE = os.environ.get("PYTEST_REDIS_IMAGE") or DEFAULT_REDIS_IMAGE
KIND = docker_backend.kafka_image_kind(KAFKA_IMAGE)


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    client = docker.from_env()
    yield client
    client.close()


def ours(engine: Any, service: str | None = None) -> list[Any]:
    """Containers labelled as started by this process (optionally: for ``service``)."""
    filters = [f"{docker_backend.OWNER_PID_LABEL}={os.getpid()}"]
    if service:
        filters.append(f"{docker_backend.SERVICE_LABEL}={service}")
    return list(engine.containers.list(all=True, filters={"label": filters}))


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind(engine: Any) -> Iterator[None]:
    yield
    left = ours(engine)
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left running: {[c.name for c in left]}"


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running[KafkaBroker]]:
    settings = KafkaSettings(backend="docker", image=KAFKA_IMAGE)
    running = docker_backend.start_kafka(settings, tmp_path_factory.mktemp("kafka"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running[RedisServer]]:
    settings = RedisSettings(backend="docker", image=REDIS_IMAGE)
    running = docker_backend.start_redis(settings, tmp_path_factory.mktemp("redis"))
    yield running
    running.stop()


# --- Kafka ---------------------------------------------------------------------------------


def test_kafka_broker_info(kafka: Running[KafkaBroker]) -> None:
    broker = kafka.info
    assert broker.backend == "docker"
    assert broker.bootstrap_servers.startswith("127.0.0.1:")
    assert broker.startup_seconds > 0
    if KIND == "tansu":
        assert broker.version.startswith("tansu ")
        assert broker.capabilities == tansu_capabilities()
        assert broker.consumer_defaults["session_timeout_ms"] == 2000
    else:
        assert broker.capabilities == APACHE_KAFKA
        assert broker.consumer_defaults["session_timeout_ms"] == 6000
    assert KafkaBroker.from_json(broker.to_json()) == broker


def _create_topic(bootstrap: str, partitions: int) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"docker-{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        assert topic in admin.list_topics()
    finally:
        admin.close()
    return topic


def _produce(bootstrap: str, topic: str, count: int) -> list[tuple[str, int]]:
    from kafka import KafkaProducer

    sent = [(f"order-{i % 4}", i) for i in range(count)]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    try:
        for key, value in sent:
            producer.send(topic, key=key.encode(), value=str(value).encode())
        producer.flush(timeout=20)
    finally:
        producer.close()
    return sent


def _drain(consumer: Any, expected: int, seconds: float) -> list[tuple[str, int]]:
    got: list[tuple[str, int]] = []
    deadline = time.monotonic() + seconds
    while len(got) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            got.extend((r.key.decode(), int(r.value)) for r in records)
    return got


def _per_key(records: list[tuple[str, int]]) -> dict[str, list[int]]:
    by_key: dict[str, list[int]] = {}
    for key, value in records:
        by_key.setdefault(key, []).append(value)
    return by_key


def test_keyed_records_round_trip_with_assign(kafka: Running[KafkaBroker]) -> None:
    from kafka import KafkaConsumer, TopicPartition

    bootstrap = kafka.info.bootstrap_servers
    topic = _create_topic(bootstrap, partitions=3)
    sent = _produce(bootstrap, topic, count=40)

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(3)])
        consumer.seek_to_beginning()
        got = _drain(consumer, len(sent), seconds=20)
    finally:
        consumer.close()
    assert sorted(got) == sorted(sent)
    assert _per_key(got) == _per_key(sent), "per-key order must survive the round trip"


def test_group_consumer_with_returned_defaults(kafka: Running[KafkaBroker]) -> None:
    from kafka import KafkaConsumer

    bootstrap = kafka.info.bootstrap_servers
    topic = _create_topic(bootstrap, partitions=2)
    sent = _produce(bootstrap, topic, count=10)
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"group-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        **kafka.info.consumer_defaults,
    )
    try:
        got = _drain(consumer, len(sent), seconds=30)
    finally:
        consumer.close()
    assert _per_key(got) == _per_key(sent)


def test_kafka_container_is_labelled_and_loopback_only(
    kafka: Running[KafkaBroker], engine: Any
) -> None:
    [container] = ours(engine, "kafka")
    labels = container.labels
    assert labels[docker_backend.OWNER_PID_LABEL] == str(os.getpid())
    assert float(labels[docker_backend.OWNER_STARTED_LABEL]) == ProcessId.of(os.getpid()).started
    bindings = container.attrs["HostConfig"]["PortBindings"]
    assert bindings
    assert {b["HostIp"] for spec in bindings.values() for b in spec} == {"127.0.0.1"}
    port = kafka.info.bootstrap_servers.rsplit(":", 1)[1]
    assert bindings == {f"{port}/tcp": [{"HostIp": "127.0.0.1", "HostPort": port}]}


# --- Redis ---------------------------------------------------------------------------------


def test_redis_set_get(redis_server: Running[RedisServer], engine: Any) -> None:
    import redis

    info = redis_server.info
    assert (info.host, info.backend) == ("127.0.0.1", "docker")
    assert info.version[0].isdigit()
    client = redis.Redis(host=info.host, port=info.port, db=63, socket_timeout=5)
    try:
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("databases") == {"databases": "64"}
    finally:
        client.close()
    [container] = ours(engine, "redis")
    bindings = container.attrs["HostConfig"]["PortBindings"]
    assert {b["HostIp"] for spec in bindings.values() for b in spec} == {"127.0.0.1"}


def test_stop_removes_the_container_and_is_idempotent(tmp_path: Path, engine: Any) -> None:
    before = {c.id for c in ours(engine, "redis")}
    running = docker_backend.start_redis(RedisSettings(image=REDIS_IMAGE), tmp_path)
    [new] = [c for c in ours(engine, "redis") if c.id not in before]
    running.stop()
    running.stop()
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(new.id)


# --- leftovers and failures ------------------------------------------------------------------


def test_reap_orphan_containers_removes_a_killed_runs_container(
    engine: Any, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from pytest_kafka_patterns.backends import docker as d
        from pytest_kafka_patterns.config import RedisSettings
        d.start_redis(RedisSettings(image={REDIS_IMAGE!r}), Path("."))
        print("started", flush=True)
        time.sleep(120)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tempfile.gettempdir()
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started"
        filters = {"label": f"{docker_backend.OWNER_PID_LABEL}={child.pid}"}
        [orphan] = engine.containers.list(all=True, filters=filters)
    finally:
        child.kill()  # SIGKILL: no atexit, no stop(): the container is left behind
        child.wait()
    mine = docker_backend.start_redis(RedisSettings(image=REDIS_IMAGE), tmp_path)
    try:
        reaped = docker_backend.reap_orphan_containers()
        assert any(orphan.short_id in line for line in reaped), reaped
        with pytest.raises(docker.errors.NotFound):
            engine.containers.get(orphan.id)
        assert ours(engine, "redis"), "a live owner's container must not be reaped"
    finally:
        mine.stop()


def test_reap_treats_a_recycled_pid_as_gone(engine: Any) -> None:
    """Our pid but another create time: that owner is gone, so its container is reaped."""
    labels = {
        docker_backend.OWNER_PID_LABEL: str(os.getpid()),
        docker_backend.OWNER_STARTED_LABEL: "12345.0",
        docker_backend.OWNER_BOOT_LABEL: BOOT_ID or "",
        docker_backend.OWNER_HOST_LABEL: socket.gethostname(),
        docker_backend.SERVICE_LABEL: "redis",
    }
    container = engine.containers.create(REDIS_IMAGE, ["--save", ""], labels=labels)
    try:
        assert any(container.short_id in line for line in docker_backend.reap_orphan_containers())
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


@pytest.mark.parametrize("service", ["kafka", "redis"])
def test_missing_image_is_explained_quickly(service: str, tmp_path: Path) -> None:
    image = f"pytest-kafka-patterns/no-such-image-{uuid.uuid4().hex[:8]}:never"
    started = time.monotonic()
    with pytest.raises((BackendUnavailable, ServiceStartError)) as raised:
        if service == "kafka":
            docker_backend.start_kafka(KafkaSettings(image=image), tmp_path)
        else:
            docker_backend.start_redis(RedisSettings(image=image), tmp_path)
    assert time.monotonic() - started < 30
    message = str(raised.value)
    assert image in message
    assert f"--{service}-image" in message
    assert "not present locally" in message


def test_early_exit_quotes_the_container_log(tmp_path: Path, engine: Any) -> None:
    """A container that exits at once: ServiceStartError with its log, and no container."""
    impostor = f"pytest-kafka-patterns/impostor-{uuid.uuid4().hex[:8]}:local"
    engine.images.get(KAFKA_IMAGE).tag(impostor)
    try:
        started = time.monotonic()
        with pytest.raises(ServiceStartError) as raised:
            docker_backend.start_redis(
                RedisSettings(image=impostor, startup_timeout=20), tmp_path
            )
        assert time.monotonic() - started < 15
        assert [c for c in ours(engine) if c.attrs["Config"]["Image"] == impostor] == []
    finally:
        engine.images.remove(impostor)
    message = str(raised.value)
    assert "exited with code" in message
    assert "last lines of its log" in message


def test_docker_available_is_false_fast_without_an_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = tempfile.mkdtemp(prefix="kp-")
    closed = os.path.join(directory, "closed.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(closed)
    listener.close()  # the file stays; nobody listens
    try:
        for host in (f"unix://{closed}", f"unix://{directory}/absent.sock"):
            monkeypatch.setenv("DOCKER_HOST", host)
            started = time.monotonic()
            assert docker_backend.docker_available(timeout=2.0) is False
            assert time.monotonic() - started < 0.5
            assert docker_backend.reap_orphan_containers() == []
            with pytest.raises(BackendUnavailable, match="no Docker engine answered"):
                docker_backend.start_redis(RedisSettings(image=REDIS_IMAGE), Path(directory))
    finally:
        os.unlink(closed)
        os.rmdir(directory)
    monkeypatch.undo()
    assert docker_backend.docker_available() is True, "the real engine's answer is cached"
