"""The directories the plugin writes to, and one clear error when it cannot.

Two places hold what we write:

* pytest's base temp directory (``--basetemp``): each service's working directory and
  log, and the run's shared state (which worker started what);
* the per-user registry of started servers (``PYTEST_KAFKA_PATTERNS_STATE``), so a later
  run can reap what a killed run left behind.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import KafkaPatternsError

BASETEMP = "--basetemp=DIR"
REGISTRY = "PYTEST_KAFKA_PATTERNS_STATE=DIR"


class StateDirError(KafkaPatternsError):
    """A directory the plugin must write to is missing, read-only or full."""


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or type(exc).__name__


def error(directory: Path, exc: OSError, moved_by: str, what: str) -> StateDirError:
    """The error for a failed write under ``directory``: what, why, and how to move it."""
    where = exc.filename if isinstance(exc.filename, str) else str(directory)
    return StateDirError(
        f"cannot write {what} in {directory} ({_reason(exc)}: {where}). "
        f"Free or fix that directory, or choose a writable one with {moved_by}."
    )


def ensure_writable(directory: Path, moved_by: str, what: str) -> Path:
    """Create ``directory`` and prove a file can be written in it; raise StateDirError."""
    probe = directory / f".write-probe-{os.getpid()}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise error(directory, exc, moved_by, what) from None
    return directory
