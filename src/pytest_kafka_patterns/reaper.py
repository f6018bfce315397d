"""Records of what we start and write, so a run can clean up after a killed run.

Each started process gets ``pids/<pid>.json`` holding its identity (pid and create
time) and its owner's (pytest's). A later run kills a recorded process only when its
owner is gone and the pid still belongs to the process we started (create times match,
and a zombie counts as gone), so a recycled pid is never touched.

Each service a run starts also gets ``runs/<...>.json``: the directories it wrote under
pytest's base temp directory. When the run is over for good (the process that started
the service and the run's controller are both gone) a later run deletes them, and the
run's numbered ``pytest-N`` directory too when nothing else is left in it: pytest keeps
a killed run's directory for days because of its stale lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import uuid
from pathlib import Path
from typing import Any

from . import statedirs
from .liveness import ProcessId

#: pytest's lock file in a numbered base temp directory; it holds the run's pid.
_PYTEST_LOCK = ".lock"


def registry_dir() -> Path:
    """Per-user directory of pidfiles (override with ``PYTEST_KAFKA_PATTERNS_STATE``)."""
    override = os.environ.get("PYTEST_KAFKA_PATTERNS_STATE")
    if override:
        return Path(override)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"pytest-kafka-patterns-{uid}"


def _section(name: str) -> Path:
    return statedirs.ensure_writable(
        registry_dir() / name, statedirs.REGISTRY, "the registry of started servers"
    )


def _write(path: Path, record: dict[str, Any]) -> None:
    try:
        path.write_text(json.dumps(record))
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise statedirs.error(
            path.parent, exc, statedirs.REGISTRY, "the registry of started servers"
        ) from None


def ensure_registry() -> None:
    """Raise :class:`~.statedirs.StateDirError` unless the registry can be written."""
    _section("pids")
    _section("runs")


def remember(pid: int, what: str) -> None:
    """Record ``pid`` as a server owned by this process."""
    record = {
        "pid": pid,
        "server": ProcessId.of(pid).to_dict(),
        "what": what,
        "owner": ProcessId.of(os.getpid()).to_dict(),
    }
    _write(_section("pids") / f"{pid}.json", record)


def forget(pid: int) -> None:
    """Drop the record of ``pid`` (it was stopped cleanly)."""
    with contextlib.suppress(OSError):
        (registry_dir() / "pids" / f"{pid}.json").unlink()


def remember_run(
    what: str, controller: ProcessId, basetemp: Path, paths: list[Path]
) -> Path:
    """Record that this process wrote ``paths`` (inside ``basetemp``) for ``what``.

    The record stays until the run is over (its owner and controller gone); a later
    run then deletes ``paths`` if the run was killed, and only the record otherwise.
    """
    me = ProcessId.of(os.getpid())
    record = {
        "what": what,
        "owner": me.to_dict(),
        "controller": controller.to_dict(),
        "basetemp": str(basetemp),
        "paths": [str(path) for path in paths],
    }
    path = _section("runs") / f"{me.pid}-{what}-{uuid.uuid4().hex[:8]}.json"
    _write(path, record)
    return path


def _records(section: str) -> list[tuple[Path, dict[str, Any]]]:
    directory = registry_dir() / section
    try:
        paths = sorted(directory.glob("*.json"))
    except OSError:
        return []
    records = []
    for path in paths:
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict):
                raise ValueError("not a record")
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        records.append((path, record))
    return records


def reap_orphans() -> list[str]:
    """Kill recorded servers whose owner is gone; return what was killed."""
    killed = []
    for path, record in _records("pids"):
        # a record of an older version (owner_pid, create_time keys) gets unknown starts:
        # its servers are never killed, only the record dropped once its owner is gone
        owner = ProcessId.from_dict(record.get("owner")) or ProcessId.from_dict(
            {"pid": record.get("owner_pid")})
        if owner is not None and owner.maybe_alive():
            continue
        server = ProcessId.from_dict(record.get("server"))
        if server is not None and server.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(server.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(server.pid, signal.SIGKILL)
            killed.append(f"{record.get('what', 'server')} (pid {server.pid})")
        with contextlib.suppress(OSError):
            path.unlink()
    return killed


def clean_dead_runs() -> list[Path]:
    """Delete what the services of finished-by-death runs wrote; return what went."""
    removed: list[Path] = []
    for path, record in _records("runs"):
        owner = ProcessId.from_dict(record.get("owner"))
        controller = ProcessId.from_dict(record.get("controller"))
        if owner is None or controller is None:
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if owner.maybe_alive() or controller.maybe_alive():
            continue
        basetemp = Path(str(record.get("basetemp", "")))
        if basetemp.is_absolute() and _killed(basetemp, controller):
            for written in record.get("paths", []):
                removed += _remove_inside(basetemp, Path(str(written)))
            if _remove_abandoned_basetemp(basetemp, controller):
                removed.append(basetemp)
        with contextlib.suppress(OSError):
            path.unlink()
    return removed


def _killed(basetemp: Path, controller: ProcessId) -> bool:
    """True when the run of ``basetemp`` was killed: pytest's lock is still there.

    pytest removes the lock of its numbered directory when it exits normally; a killed
    run's lock stays, holding the pid of the run's main process (our ``controller``).
    """
    try:
        return int((basetemp / _PYTEST_LOCK).read_text().strip() or "0") == controller.pid
    except (OSError, ValueError):
        return False


def _remove_inside(basetemp: Path, path: Path) -> list[Path]:
    """Delete ``path`` (only inside ``basetemp``) and the parents it leaves empty."""
    if not path.is_absolute() or path == basetemp or not path.is_relative_to(basetemp):
        return []
    if ".." in path.parts or path.is_symlink() or not path.is_dir():
        return []
    shutil.rmtree(path, ignore_errors=True)
    parent = path.parent
    while parent != basetemp and parent.is_relative_to(basetemp):
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent
    return [path] if not path.exists() else []


def _remove_abandoned_basetemp(basetemp: Path, controller: ProcessId) -> bool:
    """Remove pytest's numbered directory of a dead run once only its stale lock is left.

    Empty directories and dangling symlinks in it go first (xdist workers' own base
    temps, pytest's ``<name>current`` links to what we deleted); a
    directory holding anything else, such as a test's ``tmp_path``, is left to pytest.
    """
    lock = basetemp / _PYTEST_LOCK
    for directory, dirs, files in sorted(
        os.walk(basetemp), key=lambda walked: -len(Path(walked[0]).parts)
    ):
        for name in [*dirs, *files]:
            entry = Path(directory) / name
            if entry.is_symlink() and not entry.exists():  # pytest's dangling "...current"
                with contextlib.suppress(OSError):
                    entry.unlink()
        if Path(directory) != basetemp:
            with contextlib.suppress(OSError):
                Path(directory).rmdir()  # empty ones only, e.g. idle workers' popen-gwN
    try:
        left = {entry.name for entry in basetemp.iterdir()}
    except OSError:
        return False
    if left != {_PYTEST_LOCK} or not _killed(basetemp, controller):
        return False
    try:
        lock.unlink()
        basetemp.rmdir()
    except OSError:
        return False
    return True
