"""The ``docker`` backend: Kafka and Redis in throwaway containers, via testcontainers.

Every port is published on 127.0.0.1 only, and every container is labelled with its
owner's pid, create time and host name, so :func:`reap_orphan_containers` can remove what
a killed run left behind without Ryuk.

Kafka images are recognised by name (:func:`kafka_image_kind`, first match wins):

* ``tansu`` in the name: Tansu, in memory (the image's entrypoint is the tansu binary);
* ``redpanda``: testcontainers' ``RedpandaContainer``;
* ``cp-kafka`` or ``confluent-local``: testcontainers' ``KafkaContainer`` in KRaft mode
  (that module drives Confluent's start-up scripts, which ``apache/kafka`` images lack);
* anything else: the ``apache/kafka`` image's conventions, i.e. a single KRaft node
  configured through ``KAFKA_*`` environment variables.

Tansu and apache images listen on the same port number inside and outside the
container, so the advertised ``127.0.0.1:port`` is right for clients on the host and for
the broker itself.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol, cast
from urllib.parse import urlparse

from ..capabilities import APACHE_KAFKA, tansu_capabilities
from ..config import KafkaSettings, RedisSettings
from ..errors import (
    BackendUnavailable,
    ConfigError,
    KafkaPatternsError,
    ServiceStartError,
    log_tail,
)
from ..liveness import ProcessId
from ..ports import LOOPBACK, free_port
from ..probes import kafka_api_versions, redis_ping
from ..waiting import poll
from .base import KafkaBroker, RedisServer, Running
from .embedded import TANSU_CONSUMER_DEFAULTS
from .external import KAFKA_CONSUMER_DEFAULTS

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

NAME = "docker"
KAFKA_TIMEOUT = 120.0
REDIS_TIMEOUT = 30.0
INSTALL_HINT = "pip install 'pytest-kafka-patterns[docker]'"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

OWNER_PID_LABEL = "pytest-kafka-patterns.owner-pid"
#: When the owner started and on which boot (:class:`~..liveness.ProcessId`): not
#: psutil's create time, which moves with the wall clock.
OWNER_STARTED_LABEL = "pytest-kafka-patterns.owner-started"
OWNER_BOOT_LABEL = "pytest-kafka-patterns.owner-boot"
OWNER_HOST_LABEL = "pytest-kafka-patterns.owner-host"
SERVICE_LABEL = "pytest-kafka-patterns.service"

#: redis-server arguments: 64 databases (one per xdist worker), nothing written to disk.
#: Protected mode would refuse the port-forwarded connections; the host side of the port
#: is bound to 127.0.0.1 only.
REDIS_ARGS = ["--databases", "64", "--save", "", "--appendonly", "no", "--protected-mode", "no"]
REDIS_PORT = 6379
REDPANDA_PORT = 9092
CONFLUENT_PORT = 9093
CLUSTER_ID = "cHl0ZXN0LWthZmthLXBhdA"

KafkaKind = Literal["tansu", "redpanda", "confluent", "apache"]
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_UNREACHABLE = (
    "dial tcp", "no such host", "i/o timeout", "connection refused", "network is unreachable",
    "tls handshake timeout", "context deadline exceeded", "temporary failure in name resolution",
)
_available: dict[tuple[int, str | None], bool] = {}


# --- is there an engine? ---------------------------------------------------------------


def docker_available(timeout: float = 2.0) -> bool:
    """True when a Docker engine answers ``/_ping`` within ``timeout`` seconds.

    No socket file means False at once. The answer is cached per process and
    ``DOCKER_HOST`` value.
    """
    key = (os.getpid(), os.environ.get("DOCKER_HOST") or None)
    if key not in _available:
        _available[key] = _ping_engine(key[1] or DEFAULT_DOCKER_HOST, timeout)
    return _available[key]


def _ping_engine(host: str, timeout: float) -> bool:
    parsed = urlparse(host)
    if parsed.scheme in ("unix", ""):
        path = parsed.path or host
        if not os.path.exists(path):
            return False
        return _http_ping(socket.AF_UNIX, path, timeout)
    tls = os.environ.get("DOCKER_TLS_VERIFY") or os.environ.get("DOCKER_CERT_PATH")
    if parsed.scheme in ("tcp", "http") and parsed.hostname and not tls:
        return _http_ping(socket.AF_INET, (parsed.hostname, parsed.port or 2375), timeout)
    return _sdk_ping(timeout)


def _http_ping(family: int, address: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    reply = b""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            while b"\r\n" not in reply:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                sock.settimeout(remaining)
                chunk = sock.recv(1024)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    status = reply.split(b"\r\n", 1)[0].split()
    return len(status) >= 2 and status[0].startswith(b"HTTP/") and status[1] == b"200"


def _sdk_ping(timeout: float) -> bool:
    """TLS, ssh and npipe engines: ask the docker SDK, in a thread bounded by ``timeout``."""
    answer: list[bool] = []

    def ping() -> None:
        try:
            import docker

            client = docker.from_env(timeout=max(1, int(timeout)))
            answer.append(bool(client.ping()))
            client.close()
        except Exception:
            answer.append(False)

    thread = threading.Thread(target=ping, name="docker-ping", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


# --- would an image run? (the ``auto`` choice) ----------------------------------------------

#: How long ``auto`` waits for the engine to say whether a registry has an image.
IMAGE_CHECK_TIMEOUT = 5.0


class ImageSource(Protocol):
    """What :func:`image_problem` asks a Docker engine."""

    def has_image(self, image: str) -> bool:
        """True when ``image`` is present locally."""
        ...

    def registry_problem(self, image: str) -> str | None:
        """None when the image's registry has it (a pull would work), else why not."""
        ...


class _EngineImages:
    """The engine of ``DOCKER_HOST`` (docker SDK): ``GET /images/NAME/json``, then
    ``GET /distribution/NAME/json``, which asks the registry for the manifest (with the
    user's ``docker login`` credentials) without pulling a layer."""

    def __init__(self, timeout: float) -> None:
        import docker

        self._client = docker.from_env(timeout=max(1, round(timeout)))

    def has_image(self, image: str) -> bool:
        import docker.errors

        try:
            self._client.images.get(image)
        except docker.errors.ImageNotFound:
            return False
        return True

    def registry_problem(self, image: str) -> str | None:
        try:
            self._client.images.get_registry_data(image)
        except Exception as exc:
            return str(getattr(exc, "explanation", None) or exc).splitlines()[0]
        return None

    def close(self) -> None:
        self._client.close()


def image_problem(image: str, engine: ImageSource | None = None) -> str | None:
    """Why the docker backend could not run ``image`` here; None when it is present
    locally or its registry has it (so a pull would work).

    ``engine``: the engine to ask (default: the one of ``DOCKER_HOST``, which must answer;
    see :func:`docker_available`). Costs one local request when the image is present, and
    one registry round trip (at most :data:`IMAGE_CHECK_TIMEOUT` s) when it is not.
    """
    owned: _EngineImages | None = None
    try:
        if engine is None:
            if find_spec("testcontainers") is None:
                return f"testcontainers is not installed ({INSTALL_HINT})"
            engine = owned = _EngineImages(IMAGE_CHECK_TIMEOUT)
        if engine.has_image(image):
            return None
        problem = engine.registry_problem(image)
    except Exception as exc:
        return f"cannot ask the Docker engine about image {image!r}: {exc}"
    finally:
        if owned is not None:
            owned.close()
    if problem is None:
        return None
    return f"image {image!r} is not present locally and cannot be pulled ({problem})"


# --- image recognition -------------------------------------------------------------------


def kafka_image_kind(image: str) -> KafkaKind:
    """How to run a Kafka ``image``, from its name (see the module docstring)."""
    name = image.lower()
    if "tansu" in name:
        return "tansu"
    if "redpanda" in name:
        return "redpanda"
    repository = name.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    if repository in ("cp-kafka", "confluent-local"):
        return "confluent"
    return "apache"


def image_tag(image: str) -> str:
    """The tag of ``image`` (``latest`` when none is given)."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def apache_kafka_env(port: int) -> dict[str, str]:
    """Environment for a single-node KRaft ``apache/kafka`` broker on ``port``."""
    controller = 9093 if port != 9093 else 9094
    return {
        "CLUSTER_ID": CLUSTER_ID,
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://0.0.0.0:{port},CONTROLLER://127.0.0.1:{controller}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{LOOPBACK}:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@127.0.0.1:{controller}",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_LOG_DIRS": "/tmp/kraft-combined-logs",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }


def tansu_args(port: int) -> list[str]:
    """Arguments for a Tansu image whose entrypoint is the tansu binary."""
    return [
        "broker",
        "--listener-url", f"tcp://0.0.0.0:{port}",
        "--advertised-listener-url", f"tcp://{LOOPBACK}:{port}",
        "--storage-engine", "memory://tansu/",
        "--cluster-id", "pytest-kafka-patterns",
    ]


# --- plumbing ------------------------------------------------------------------------------


def _require_testcontainers() -> None:
    try:
        import docker  # noqa: F401
        import testcontainers.core.container  # noqa: F401
    except ImportError:
        raise BackendUnavailable(
            f"the docker backend needs testcontainers: {INSTALL_HINT}"
        ) from None


def _require_engine() -> None:
    _require_testcontainers()
    if not docker_available():
        host = os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
        raise BackendUnavailable(
            f"no Docker engine answered at {host}. Start Docker (or point DOCKER_HOST at "
            "it), or choose --kafka-backend=embedded / --redis-backend=process."
        )
    _require_local_engine()


def _require_local_engine() -> None:
    """Ports are published on 127.0.0.1: the engine must share this network namespace.

    A remote engine, an explicit non-``docker_host`` connection mode, or (inside a
    container) an engine with another host name, i.e. the host's engine seen through a
    mounted socket, would publish ports we cannot reach.
    """
    from testcontainers.core.config import ConnectionMode
    from testcontainers.core.config import testcontainers_config as tc_config
    from testcontainers.core.docker_client import DockerClient
    from testcontainers.core.utils import inside_container

    try:
        client = DockerClient()
        host = client.host()
        engine_name = str(client.client.info().get("Name", "")) if inside_container() else ""
        client.client.close()
    except Exception as exc:
        raise BackendUnavailable(f"cannot talk to the Docker engine: {exc}") from None
    fix = (
        "; this backend publishes ports on 127.0.0.1 only. Run the engine on this "
        "machine (TESTCONTAINERS_CONNECTION_MODE=docker_host), or use the external backends."
    )
    mode = tc_config.connection_mode_override
    if mode is not None and mode is not ConnectionMode.docker_host:
        raise BackendUnavailable(f"TESTCONTAINERS_CONNECTION_MODE={mode.value}{fix}")
    if host not in _LOCAL_HOSTS:
        raise BackendUnavailable(f"the Docker engine is on another host ({host}){fix}")
    if engine_name and engine_name != socket.gethostname():
        raise BackendUnavailable(
            f"the Docker engine ({engine_name!r}) runs outside this container "
            f"({socket.gethostname()!r}), so its 127.0.0.1 ports are not ours{fix}"
        )


def _owner_labels(service: str) -> dict[str, str]:
    me = ProcessId.of(os.getpid())
    return {
        OWNER_PID_LABEL: str(me.pid),
        OWNER_STARTED_LABEL: repr(me.started),
        OWNER_BOOT_LABEL: me.boot or "",
        OWNER_HOST_LABEL: socket.gethostname(),
        SERVICE_LABEL: service,
    }


def _publish(container: DockerContainer, inside: int, outside: int | None = None) -> None:
    """Publish ``inside`` on 127.0.0.1 (``outside`` port, or one the engine picks)."""
    binding = (LOOPBACK, outside) if outside else (LOOPBACK,)
    cast("dict[str, Any]", container.ports)[f"{inside}/tcp"] = binding


def _ensure_image(container: DockerContainer, flag: str, env: str) -> None:
    """Pull the image if it is missing; explain clearly when that is impossible."""
    import docker.errors

    image = container.image
    client = container.get_docker_client().client
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    except Exception as exc:
        raise BackendUnavailable(f"cannot talk to the Docker engine: {exc}") from None
    try:
        client.images.pull(image)
    except Exception as exc:
        reason = str(getattr(exc, "explanation", None) or exc)
        unreachable = any(word in reason.lower() for word in _UNREACHABLE)
        raise BackendUnavailable(
            f"Docker image {image!r} is not present locally and could not be pulled"
            + (": no registry was reachable" if unreachable else "")
            + f" ({reason}). Build or load an image locally and pass it with {flag} "
            f"NAME (or ${env}), or choose another backend."
        ) from None


def _start(container: DockerContainer, what: str) -> None:
    """Create and start ``container``; on failure remove it and raise ServiceStartError."""
    from testcontainers.core.config import testcontainers_config as tc_config

    try:
        container.start()
    except Exception as exc:
        created = _created(container)
        _remove_quietly(container)
        if isinstance(exc, KafkaPatternsError):
            raise
        text = str(getattr(exc, "explanation", None) or exc)
        hint = ""
        if not created and not tc_config.ryuk_disabled:
            hint = (
                f"\ntestcontainers first starts its Ryuk reaper ({tc_config.ryuk_image}), "
                "which may be what failed. Set TESTCONTAINERS_RYUK_DISABLED=true: the "
                "plugin removes its containers itself and reaps a killed run's leftovers "
                "by label."
            )
        raise ServiceStartError(
            f"Docker could not start the {what} container from {container.image!r}: "
            f"{text}{hint}"
        ) from None


def _port_taken(error: ServiceStartError) -> bool:
    text = str(error).lower()
    return "port is already allocated" in text or "address already in use" in text


def _remove_quietly(container: DockerContainer) -> None:
    with contextlib.suppress(Exception):
        container.stop(force=True, delete_volume=True)


def _logs(container: DockerContainer) -> str:
    try:
        data: bytes = container.get_wrapped_container().logs()
    except Exception as exc:
        return f"(could not read the container log: {exc})"
    return data.decode(errors="replace")


def _fail(container: DockerContainer, what: str, problem: str, hint: str = "") -> NoReturn:
    log = _logs(container)
    _remove_quietly(container)
    raise ServiceStartError(
        f"the {what} container from {container.image!r} {problem}.\n"
        f"last lines of its log:\n{log_tail(log)}" + (f"\n{hint}" if hint else "")
    )


def _wait_ready(
    container: DockerContainer,
    what: str,
    ready: Callable[[], bool],
    deadline: float,
    timeout: float,
) -> None:
    """Poll ``ready`` until the deadline (the one poller, :func:`waiting.poll`); notice an
    exited container within ~0.25 s. Raises :class:`ServiceStartError` with the log tail."""
    wrapped = container.get_wrapped_container()
    problems: list[str] = []
    next_status = 0.0

    def gone() -> bool:
        nonlocal next_status
        now = time.monotonic()
        if now < next_status:
            return False
        next_status = now + 0.25
        try:
            wrapped.reload()
            status, code = wrapped.status, wrapped.attrs["State"].get("ExitCode")
        except Exception as exc:
            problems.append(f"could not be inspected ({exc})")
            return True
        if status in ("exited", "dead"):
            problems.append(f"exited with code {code} before it was ready")
            return True
        return False

    remaining = max(0.0, deadline - time.monotonic())
    if poll(ready, timeout=remaining, interval=0.02, abort=gone).done:
        return
    if problems:
        _fail(container, what, problems[0])
    _fail(
        container, what, f"was not ready within {timeout:g} s",
        "Raise the startup timeout option if this machine is just slow.",
    )


def _created(container: DockerContainer) -> bool:
    """Whether Docker created the container (testcontainers' public accessor)."""
    from testcontainers.core.exceptions import ContainerStartException

    try:
        container.get_wrapped_container()
    except ContainerStartException:
        return False
    return True


def _host_port(container: DockerContainer, what: str, inside: int) -> int:
    wrapped = container.get_wrapped_container()
    try:
        wrapped.reload()
        if wrapped.status in ("exited", "dead"):
            code = wrapped.attrs["State"].get("ExitCode")
            _fail(container, what, f"exited with code {code} before it was ready")
        return int(wrapped.ports[f"{inside}/tcp"][0]["HostPort"])
    except KafkaPatternsError:
        raise
    except Exception:
        _fail(container, what, f"has no host port for {inside}")


def _stopper(container: DockerContainer, what: str) -> Callable[[], None]:
    """An idempotent stop() that force-removes the container; also run at exit."""
    lock = threading.Lock()
    done = False

    def stop() -> None:
        nonlocal done
        with lock:
            if done:
                return
            done = True
        atexit.unregister(stop)
        import docker.errors

        try:
            container.get_wrapped_container().remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        except Exception as exc:
            warnings.warn(
                f"could not remove the {what} container: {exc}", RuntimeWarning, stacklevel=2
            )
        finally:
            with contextlib.suppress(Exception):
                container.get_docker_client().client.close()

    atexit.register(stop)
    return stop


def _version_from_log(container: DockerContainer, pattern: str, fallback: str) -> str:
    match = re.search(pattern, _logs(container))
    return match.group(1) if match else fallback


# --- Kafka ---------------------------------------------------------------------------------


def start_kafka(settings: KafkaSettings, workdir: Path) -> Running[KafkaBroker]:
    """Start a Kafka-protocol broker container from ``settings.image``."""
    _require_engine()
    timeout = settings.startup_timeout or KAFKA_TIMEOUT
    kind = kafka_image_kind(settings.image)
    what = f"Kafka ({kind})"
    if kind in ("tansu", "apache"):
        container, port, started = _start_same_port(settings.image, kind, what)
    else:
        container, port, started = _start_testcontainers_module(
            settings.image, kind, what, timeout
        )
    deadline = started + timeout
    _wait_ready(container, what, lambda: kafka_api_versions(LOOPBACK, port), deadline, timeout)
    elapsed = time.monotonic() - started
    tag = image_tag(settings.image)
    if kind == "tansu":
        version = "tansu " + _version_from_log(container, r"tansu broker (\S+)", tag)
    elif kind == "redpanda":
        version = "redpanda " + _version_from_log(container, r"Redpanda (v\S+)", tag)
    else:
        version = _version_from_log(container, r"Kafka version: (\S+)", tag)
    broker = KafkaBroker(
        bootstrap_servers=f"{LOOPBACK}:{port}",
        backend=NAME,
        version=version,
        capabilities=tansu_capabilities() if kind == "tansu" else APACHE_KAFKA,
        consumer_defaults=TANSU_CONSUMER_DEFAULTS if kind == "tansu" else KAFKA_CONSUMER_DEFAULTS,
        startup_seconds=elapsed,
    )
    return Running(broker, _stopper(container, what))


def _start_same_port(image: str, kind: KafkaKind, what: str) -> tuple[DockerContainer, int, float]:
    """Tansu and apache/kafka: listen and advertise on one free port P, published as P."""
    from testcontainers.core.container import DockerContainer

    attempts = 3
    for attempt in range(attempts):
        port = free_port()
        container = DockerContainer(image, labels=_owner_labels("kafka"))
        if kind == "tansu":
            container.with_command(tansu_args(port)).with_env("NO_COLOR", "1")
        else:
            container.with_envs(**apache_kafka_env(port))
        _publish(container, port, port)
        if attempt == 0:
            _ensure_image(container, "--kafka-image", "PYTEST_KAFKA_IMAGE")
        started = time.monotonic()
        try:
            _start(container, what)
        except ServiceStartError as exc:
            # Another program can take the port between our pick and the engine's bind.
            if _port_taken(exc) and attempt < attempts - 1:
                continue
            raise
        return container, port, started
    raise AssertionError("unreachable")


def _start_testcontainers_module(
    image: str, kind: KafkaKind, what: str, timeout: float
) -> tuple[DockerContainer, int, float]:
    """Redpanda and Confluent images, through testcontainers' own modules."""
    from testcontainers.community.kafka import KafkaContainer, RedpandaContainer

    class Redpanda(RedpandaContainer):
        def get_container_host_ip(self) -> str:
            return LOOPBACK  # the advertised address: ports are bound to 127.0.0.1

    class Confluent(KafkaContainer):
        def get_container_host_ip(self) -> str:
            return LOOPBACK

    container: Redpanda | Confluent
    labels = _owner_labels("kafka")
    if kind == "redpanda":
        container, inside = Redpanda(image, labels=labels), REDPANDA_PORT
    else:
        container, inside = Confluent(image, labels=labels), CONFLUENT_PORT
        try:
            container.with_kraft()
        except ValueError as exc:
            raise ConfigError(f"--kafka-image={image!r}: {exc}") from None
    for port in list(container.ports):
        cast("dict[str, Any]", container.ports)[port] = (LOOPBACK,)
    _ensure_image(container, "--kafka-image", "PYTEST_KAFKA_IMAGE")
    started = time.monotonic()
    try:
        container.start(timeout=max(1, int(timeout)))
    except Exception as exc:
        if not _created(container):
            _remove_quietly(container)
            raise ServiceStartError(
                f"Docker could not start the {what} container from {image!r}: {exc}"
            ) from None
        _fail(container, what, f"did not start ({type(exc).__name__}: {exc})")
    return container, _host_port(container, what, inside), started


# --- Redis ---------------------------------------------------------------------------------


def start_redis(settings: RedisSettings, workdir: Path) -> Running[RedisServer]:
    """Start redis-server in a container from ``settings.image``, in memory only."""
    _require_engine()
    from testcontainers.core.container import DockerContainer

    timeout = settings.startup_timeout or REDIS_TIMEOUT
    what = "Redis"
    container = DockerContainer(settings.image, labels=_owner_labels("redis"))
    container.with_command(REDIS_ARGS)
    _publish(container, REDIS_PORT)
    _ensure_image(container, "--redis-image", "PYTEST_REDIS_IMAGE")
    started = time.monotonic()
    _start(container, what)
    port = _host_port(container, what, REDIS_PORT)
    _wait_ready(container, what, lambda: redis_ping(LOOPBACK, port), started + timeout, timeout)
    elapsed = time.monotonic() - started
    server = RedisServer(
        host=LOOPBACK,
        port=port,
        backend=NAME,
        version=_version_from_log(container, r"Redis version=([^,\s]+)", "unknown"),
        startup_seconds=elapsed,
    )
    return Running(server, _stopper(container, what))


# --- leftovers -------------------------------------------------------------------------------


def _owner_alive(labels: dict[str, str]) -> bool:
    """Whether the process that started the container may still run (see
    :class:`~pytest_kafka_patterns.liveness.ProcessId`); a container an older version
    labelled with psutil's create time only is left alone while its owner's pid runs."""
    try:
        pid = int(labels[OWNER_PID_LABEL])
    except (KeyError, ValueError):
        return True  # not a label we wrote: leave the container alone
    try:
        started: float | None = float(labels[OWNER_STARTED_LABEL])
    except (KeyError, ValueError):
        started = None
    owner = ProcessId.from_dict({"pid": pid, "started": started,
                                 "boot": labels.get(OWNER_BOOT_LABEL) or None})
    return owner is None or owner.maybe_alive()


def reap_orphan_containers() -> list[str]:
    """Remove labelled containers whose owner process is gone; say what was removed.

    Only containers started from this host are considered (the pid is host-local).
    """
    if not docker_available():
        return []
    try:
        from testcontainers.core.docker_client import DockerClient
    except ImportError:
        return []
    try:
        client = DockerClient().client
        containers = client.containers.list(all=True, filters={"label": OWNER_PID_LABEL})
    except Exception:
        return []
    hostname = socket.gethostname()
    reaped = []
    for container in containers:
        labels = container.labels or {}
        if labels.get(OWNER_HOST_LABEL, hostname) != hostname or _owner_alive(labels):
            continue
        try:
            container.remove(force=True, v=True)
        except Exception:
            continue  # removed meanwhile (NotFound), or the engine refused: not ours to fix
        reaped.append(
            f"{labels.get(SERVICE_LABEL, 'service')} container {container.short_id} "
            f"(owner pid {labels.get(OWNER_PID_LABEL)})"
        )
    with contextlib.suppress(Exception):
        client.close()
    return reaped
