"""Pure logic of the docker backend: image recognition, engine ping, owner checks.

No Docker engine is needed: the ping is tested against fake engines on unix sockets.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_kafka_patterns.backends import (
    BackendFallback,
    choose_kafka_backend,
    choose_redis_backend,
)
from pytest_kafka_patterns.backends import docker as docker_backend
from pytest_kafka_patterns.config import DEFAULT_KAFKA_IMAGE, KafkaSettings, RedisSettings
from pytest_kafka_patterns.errors import BackendUnavailable
from pytest_kafka_patterns.liveness import BOOT_ID, ProcessId

#: A timeout no "at once" answer comes near (how fast it is: benchmarks/quick_checks.py).
NEVER = 30.0


@pytest.mark.parametrize(
    ("image", "kind"),
    [
        (DEFAULT_KAFKA_IMAGE, "apache"),
        ("apache/kafka-native:3.9.1", "apache"),
        ("apache/kafka:latest", "apache"),
        ("my.registry:5000/team/kafka", "apache"),
        ("pytest-kafka-patterns/tansu:local", "tansu"),
        ("ghcr.io/tansu-io/tansu:0.6.0", "tansu"),
        ("docker.redpanda.com/redpandadata/redpanda:v24.1.1", "redpanda"),
        ("REDPANDADATA/REDPANDA", "redpanda"),
        ("confluentinc/cp-kafka:7.6.0", "confluent"),
        ("confluentinc/confluent-local:7.6.0", "confluent"),
        ("registry.local:5000/cp-kafka@sha256:abc", "confluent"),
        ("confluentinc/cp-schema-registry:7.6.0", "apache"),
    ],
)
def test_kafka_image_kind(image: str, kind: str) -> None:
    assert docker_backend.kafka_image_kind(image) == kind


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("apache/kafka:3.9.1", "3.9.1"),
        ("apache/kafka", "latest"),
        ("registry:5000/kafka", "latest"),
        ("registry:5000/kafka:1.2", "1.2"),
        ("redis@sha256:abc", "latest"),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert docker_backend.image_tag(image) == tag


def test_apache_env_listens_and_advertises_one_loopback_port() -> None:
    env = docker_backend.apache_kafka_env(41234)
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://127.0.0.1:41234"
    assert "PLAINTEXT://0.0.0.0:41234" in env["KAFKA_LISTENERS"]
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    # the controller never takes the client port
    assert docker_backend.apache_kafka_env(9093)["KAFKA_CONTROLLER_QUORUM_VOTERS"].endswith(
        ":9094"
    )


def test_tansu_args() -> None:
    args = docker_backend.tansu_args(40000)
    assert args[0] == "broker"
    assert args[args.index("--listener-url") + 1] == "tcp://0.0.0.0:40000"
    assert args[args.index("--advertised-listener-url") + 1] == "tcp://127.0.0.1:40000"
    assert args[args.index("--storage-engine") + 1] == "memory://tansu/"


def test_redis_args_keep_everything_in_memory() -> None:
    args = docker_backend.REDIS_ARGS
    assert args[args.index("--databases") + 1] == "64"
    assert args[args.index("--save") + 1] == ""
    assert args[args.index("--appendonly") + 1] == "no"


# --- the engine ping -------------------------------------------------------------------------


@pytest.fixture
def socket_dir() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="kp-")  # short: unix socket paths are limited
    yield directory
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    os.rmdir(directory)


def fake_engine(path: str, reply: bytes | None) -> threading.Thread:
    """A one-shot server on ``path`` that answers ``reply`` (None: never answers)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def serve() -> None:
        connection, _ = server.accept()
        connection.recv(1024)
        if reply is None:
            time.sleep(NEVER)
        else:
            connection.sendall(reply)
        connection.close()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_backend, "_available", {})


def test_no_socket_means_false_at_once(
    monkeypatch: pytest.MonkeyPatch, socket_dir: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_dir}/absent.sock")
    started = time.monotonic()
    assert docker_backend.docker_available(timeout=NEVER) is False
    assert time.monotonic() - started < NEVER / 2  # not a wait for the timeout


def test_a_closed_socket_means_false_fast(
    monkeypatch: pytest.MonkeyPatch, socket_dir: str
) -> None:
    path = os.path.join(socket_dir, "closed.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.close()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    started = time.monotonic()
    assert docker_backend.docker_available(timeout=NEVER) is False
    assert time.monotonic() - started < NEVER / 2  # not a wait for the timeout


def test_an_engine_answering_ok_is_available_and_cached(
    monkeypatch: pytest.MonkeyPatch, socket_dir: str
) -> None:
    path = os.path.join(socket_dir, "ok.sock")
    fake_engine(path, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    assert docker_backend.docker_available() is True
    assert docker_backend.docker_available() is True  # the one-shot server is gone: cached


def test_an_engine_answering_an_error_is_not_available(
    monkeypatch: pytest.MonkeyPatch, socket_dir: str
) -> None:
    path = os.path.join(socket_dir, "err.sock")
    fake_engine(path, b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    assert docker_backend.docker_available() is False


def test_a_silent_engine_times_out(monkeypatch: pytest.MonkeyPatch, socket_dir: str) -> None:
    path = os.path.join(socket_dir, "mute.sock")
    fake_engine(path, None)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    started = time.monotonic()
    assert docker_backend.docker_available(timeout=0.3) is False
    assert time.monotonic() - started < NEVER / 2  # gave up at its timeout, not the engine's


def test_without_testcontainers_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for module in ("testcontainers", "testcontainers.core", "testcontainers.core.container"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'pytest-kafka-patterns\[docker\]'"):
        docker_backend.start_kafka(KafkaSettings(backend="docker"), tmp_path)
    with pytest.raises(BackendUnavailable, match="testcontainers"):
        docker_backend.start_redis(RedisSettings(backend="docker"), tmp_path)


def test_the_module_imports_without_testcontainers() -> None:
    code = (
        "import sys; sys.modules['testcontainers'] = None; sys.modules['docker'] = None\n"
        "from pytest_kafka_patterns.backends import docker\n"
        "print(docker.kafka_image_kind('x/tansu'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "tansu"


# --- owner checks for reaping ------------------------------------------------------------------


def labels(pid: int, started: float | str | None, boot: str | None = BOOT_ID
            ) -> dict[str, str]:
    found = {docker_backend.OWNER_PID_LABEL: str(pid),
             docker_backend.OWNER_BOOT_LABEL: boot or ""}
    if started is not None:
        found[docker_backend.OWNER_STARTED_LABEL] = str(started)
    return found


def test_owner_alive_checks_pid_start_and_boot() -> None:
    me = ProcessId.of(os.getpid())
    assert docker_backend._owner_labels("kafka")[docker_backend.OWNER_STARTED_LABEL] == repr(
        me.started)
    assert docker_backend._owner_alive(labels(me.pid, repr(me.started)))
    assert not docker_backend._owner_alive(labels(me.pid, (me.started or 0) - 100))
    if BOOT_ID is not None:
        assert not docker_backend._owner_alive(labels(me.pid, repr(me.started), "other-boot"))
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not docker_backend._owner_alive(labels(child.pid, 1.0))


def test_labels_we_did_not_write_mean_leave_it_alone() -> None:
    """No owner label, or an older version's (no start): left alone while the pid runs."""
    assert docker_backend._owner_alive({})
    assert docker_backend._owner_alive(labels(os.getpid(), None))
    assert docker_backend._owner_alive(labels(os.getpid(), "not-a-number"))


# --- the auto choice: docker only for an image present locally or pullable -----------------


class FakeImages:
    """An engine's answers about images (pure logic: no Docker needed)."""

    def __init__(self, local: set[str], registry: set[str]) -> None:
        self.local, self.registry = local, registry

    def has_image(self, image: str) -> bool:
        return image in self.local

    def registry_problem(self, image: str) -> str | None:
        return None if image in self.registry else "dial tcp: lookup registry-1.docker.io"


def test_an_image_present_locally_or_pullable_has_no_problem() -> None:
    engine = FakeImages(local={"apache/kafka:4.1.0"}, registry={"redis:7"})
    assert docker_backend.image_problem("apache/kafka:4.1.0", engine) is None
    assert docker_backend.image_problem("redis:7", engine) is None


def test_an_image_neither_local_nor_pullable_says_why() -> None:
    problem = docker_backend.image_problem("me/absent:never", FakeImages(set(), set()))
    assert problem == (
        "image 'me/absent:never' is not present locally and cannot be pulled "
        "(dial tcp: lookup registry-1.docker.io)"
    )


class _EngineHandler(http.server.BaseHTTPRequestHandler):
    """Answers as a Docker engine with no registry does: ping ok, no image, no manifest."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.endswith("/_ping"):
            self._reply(200, b"OK", "text/plain")
        elif path.endswith("/version"):
            self._reply(200, json.dumps({"ApiVersion": "1.44"}).encode())
        elif "/images/" in path:
            self._reply(404, b'{"message": "No such image: me/absent:never"}')
        elif "/distribution/" in path:
            self._reply(500, b'{"message": "Get \\"https://registry-1.docker.io/v2/\\": '
                             b'dial tcp: lookup registry-1.docker.io: no such host"}')
        else:
            self._reply(404, b'{"message": "page not found"}')

    def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:  # a unix socket has no client address
        return "unix"

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def engine_without_registry(
    monkeypatch: pytest.MonkeyPatch, socket_dir: str
) -> Iterator[None]:
    """DOCKER_HOST is a fake engine on a unix socket that answers like one offline."""
    path = os.path.join(socket_dir, "engine.sock")
    server = socketserver.ThreadingUnixStreamServer(path, _EngineHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    yield
    server.shutdown()
    server.server_close()


@pytest.mark.usefixtures("engine_without_registry")
def test_auto_falls_back_when_the_engine_cannot_get_the_image() -> None:
    settings = KafkaSettings(backend="auto", image="me/absent:never")
    with pytest.warns(BackendFallback) as caught:
        assert choose_kafka_backend(settings) == "embedded"
    (message,) = [str(w.message) for w in caught]
    assert message.startswith(
        "--kafka-backend=auto: a Docker engine answers, but image 'me/absent:never' is "
        "not present locally and cannot be pulled ("
    )
    assert "no such host" in message
    assert message.endswith("using embedded. Pass --kafka-backend=docker to make that an error.")
    with pytest.warns(BackendFallback, match="using process"):
        assert choose_redis_backend(RedisSettings(backend="auto", image="me/absent:never")) == (
            "process"
        )


@pytest.mark.usefixtures("engine_without_registry")
def test_an_explicit_docker_backend_is_not_second_guessed() -> None:
    assert choose_kafka_backend(KafkaSettings(backend="docker", image="me/absent:never")) == (
        "docker"
    )
