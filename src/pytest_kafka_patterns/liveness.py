"""A process named by pid *and* start time, and whether it still runs.

A pid alone is not an identity: pids are recycled, and a killed process stays in the
process table as a zombie until its parent reaps it (``psutil.pid_exists`` calls a
zombie alive). Every liveness question the plugin asks goes through :class:`ProcessId`.

The start time must not move while the process lives, or a live run looks dead to
another run, which then kills its servers and deletes its directories. psutil's
``create_time()`` on Linux is the start in clock ticks since boot *plus* ``btime`` from
``/proc/stat``, which the kernel recomputes on every read as the wall clock minus the
uptime: an NTP step or slew moves it, so two processes (or one, twice) can read
different create times for the same process (psutil issues 1724, 2031, 2526). On Linux
the identity is therefore the start in ticks since boot (``/proc/<pid>/stat`` field 22,
``starttime``; proc_pid_stat(5)), which never changes, plus the boot id
(``/proc/sys/kernel/random/boot_id``) so that a record from before a reboot never
matches; elsewhere psutil's ``create_time()``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

#: How far two readings of one process's start may differ (seconds; ticks are exact).
_SAME_START = 0.01
_GONE = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
_LINUX = sys.platform.startswith("linux")


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


#: This boot (Linux); None elsewhere.
BOOT_ID = _boot_id() if _LINUX else None


def start_of(pid: int) -> float | None:
    """When ``pid`` started, or None when there is no such pid. Linux: seconds since
    boot (``starttime`` ticks of ``/proc/<pid>/stat`` over ``SC_CLK_TCK``), unmoved by
    clock changes; elsewhere seconds since the epoch (psutil's ``create_time``)."""
    if _LINUX:
        try:
            data = Path(f"/proc/{pid}/stat").read_bytes()
            # the command name (field 2) is in parentheses and may hold spaces or ")"
            fields = data[data.rindex(b")") + 2:].split()
            return int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        except (OSError, ValueError, IndexError):
            return None
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _running(pid: int) -> bool:
    """Whether ``pid`` is in the process table and not a zombie (one we may not inspect
    counts as running)."""
    try:
        return psutil.Process(pid).status() not in _GONE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True  # it exists and is not ours to inspect: assume it runs


@dataclass(frozen=True)
class ProcessId:
    """One process: its pid, when it started (see :func:`start_of`) and the boot."""

    pid: int
    started: float | None
    """When it started (:func:`start_of`); None when unknown (a record of an older
    version, or a pid that was gone when it was named)."""
    boot: str | None = BOOT_ID

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        return cls(pid, start_of(pid))

    def alive(self) -> bool:
        """True while this very process runs: same boot, same start, not a zombie. An
        unknown start is never this process (so nothing is killed on a guess)."""
        if self.started is None or self.boot != BOOT_ID:
            return False
        now = start_of(self.pid)
        if now is None or abs(now - self.started) >= _SAME_START:
            return False  # gone, or the pid was recycled
        return _running(self.pid)

    def maybe_alive(self) -> bool:
        """False only when this process is certainly gone: :meth:`alive`, except that an
        unknown start counts as alive while its pid runs (before deleting what a run
        wrote, doubt means keep)."""
        if self.started is not None or self.boot != BOOT_ID:
            return self.alive()
        return _running(self.pid)

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "started": self.started, "boot": self.boot}

    @classmethod
    def from_dict(cls, data: Any) -> ProcessId | None:
        """The identity in ``data`` (as written by :meth:`to_dict`), None when malformed.
        A record without ``started`` (written by an older version, whose start times
        were psutil's epoch ones) gets an unknown start."""
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
            return None
        start = data.get("started")
        boot = data.get("boot")
        return cls(data["pid"], float(start) if isinstance(start, (int, float)) else None,
                   boot if isinstance(boot, str) else (BOOT_ID if start is None else None))

    def __str__(self) -> str:
        return f"pid {self.pid}"
