"""One service per test run, shared by every pytest-xdist worker.

The first worker to ask starts the service under a file lock in the run's base temp
directory and records what it started; the others read the record. Each worker
registers itself as a user; the worker that started the service stops it once every
other user has released it or died.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from filelock import FileLock

from .errors import KafkaPatternsError

_POLL = 0.05


@dataclass
class SharedService:
    """Coordinates one named service among the processes of a run, in ``root``."""

    root: Path
    name: str
    lock_timeout: float = 300.0
    _stop: Callable[[], None] | None = field(default=None, init=False, repr=False)

    @property
    def _state_path(self) -> Path:
        return self.root / f"{self.name}.json"

    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / f"{self.name}.lock"), timeout=self.lock_timeout)

    def _read(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self._state_path.read_text())
        except FileNotFoundError:
            return None
        return state

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self._state_path)

    def acquire(self, start: Callable[[], tuple[str, Callable[[], None]]]) -> str:
        """Return the service's description, calling ``start`` only if nobody has yet.

        ``start`` returns the description (a string, e.g. JSON) and the stop callable.
        """
        me = os.getpid()
        with self._lock():
            state = self._read()
            if state is not None and not psutil.pid_exists(state["owner"]):
                raise KafkaPatternsError(
                    f"the process that started the shared {self.name} (pid {state['owner']}) "
                    "died; the service went with it. See that worker's error above."
                )
            if state is None:
                description, self._stop = start()
                state = {"description": description, "owner": me, "users": []}
            if me not in state["users"]:
                state["users"].append(me)
            self._write(state)
            return str(state["description"])

    def release(self) -> None:
        """Drop this process's claim; the owner waits for the others, then stops it."""
        me = os.getpid()
        with self._lock():
            state = self._read()
            if state is None:
                return
            state["users"] = [pid for pid in state["users"] if pid != me]
            self._write(state)
        if self._stop is None:
            return
        while True:
            with self._lock():
                state = self._read() or {"users": []}
                alive = [pid for pid in state["users"] if psutil.pid_exists(pid)]
                if not alive:
                    self._stop()
                    self._stop = None
                    self._state_path.unlink(missing_ok=True)
                    return
            time.sleep(_POLL)
