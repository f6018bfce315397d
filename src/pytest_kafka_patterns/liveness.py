"""A process named by pid *and* create time, and whether it still runs.

A pid alone is not an identity: pids are recycled, and a killed process stays in the
process table as a zombie until its parent reaps it (``psutil.pid_exists`` calls a
zombie alive). Every liveness question the plugin asks goes through :class:`ProcessId`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psutil

#: How far two readings of one process's create time may differ (psutil derives it from
#: clock ticks since boot).
_SAME_START = 0.01
_GONE = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


def create_time(pid: int) -> float | None:
    """When ``pid`` started (seconds since the epoch), or None when there is no such pid."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


@dataclass(frozen=True)
class ProcessId:
    """One process: its pid and the time it started."""

    pid: int
    create_time: float | None

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        return cls(pid, create_time(pid))

    def alive(self) -> bool:
        """True while this very process runs: same start time, and not a zombie."""
        if self.create_time is None:
            return False
        try:
            process = psutil.Process(self.pid)
            if abs(process.create_time() - self.create_time) >= _SAME_START:
                return False  # the pid was recycled
            return process.status() not in _GONE
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return False
        except psutil.AccessDenied:
            return True  # it exists and is not ours to inspect: assume it runs

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "create_time": self.create_time}

    @classmethod
    def from_dict(cls, data: Any) -> ProcessId | None:
        """The identity in ``data`` (as written by :meth:`to_dict`), None when malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
            return None
        started = data.get("create_time")
        return cls(data["pid"], float(started) if isinstance(started, (int, float)) else None)

    def __str__(self) -> str:
        return f"pid {self.pid}"
