"""Pidfiles of the servers we start, so a run can reap what a killed run left behind.

Each started process gets ``<pid>.json`` holding its create time and its owner's
(pytest's) pid and create time. A later run kills a recorded process only when its
owner is gone and the pid still belongs to the process we started (create times match),
so a recycled pid is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
from pathlib import Path

import psutil


def registry_dir() -> Path:
    """Per-user directory of pidfiles (override with ``PYTEST_KAFKA_PATTERNS_STATE``)."""
    override = os.environ.get("PYTEST_KAFKA_PATTERNS_STATE")
    if override:
        return Path(override)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"pytest-kafka-patterns-{uid}"


def _create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def remember(pid: int, what: str) -> None:
    """Record ``pid`` as a server owned by this process."""
    directory = registry_dir() / "pids"
    directory.mkdir(parents=True, exist_ok=True)
    record = {
        "pid": pid,
        "create_time": _create_time(pid),
        "what": what,
        "owner_pid": os.getpid(),
        "owner_create_time": _create_time(os.getpid()),
    }
    (directory / f"{pid}.json").write_text(json.dumps(record))


def forget(pid: int) -> None:
    """Drop the record of ``pid`` (it was stopped cleanly)."""
    with contextlib.suppress(FileNotFoundError):
        (registry_dir() / "pids" / f"{pid}.json").unlink()


def _alive(pid: int, create_time: float | None) -> bool:
    if create_time is None:
        return False
    current = _create_time(pid)
    return current is not None and abs(current - create_time) < 0.01


def reap_orphans() -> list[str]:
    """Kill recorded servers whose owner is gone; return what was killed."""
    directory = registry_dir() / "pids"
    if not directory.is_dir():
        return []
    killed = []
    for path in directory.glob("*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if _alive(record["owner_pid"], record.get("owner_create_time")):
            continue
        if _alive(record["pid"], record.get("create_time")):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record["pid"], signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(record["pid"], signal.SIGKILL)
            killed.append(f"{record['what']} (pid {record['pid']})")
        with contextlib.suppress(OSError):
            path.unlink()
    return killed
