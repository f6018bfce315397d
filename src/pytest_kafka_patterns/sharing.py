"""One service per test run, shared by every pytest-xdist worker.

The first worker to ask starts the service under a file lock in the run's state
directory and records what it started, or why it could not: the others read the record
and either use the service or fail at once with the same error (a failed start is never
retried by each worker in turn). Each worker registers itself as a user; the worker that
started the service stops it once every other user has released it or died.

Every process is named by pid and create time, and a zombie counts as dead (a killed
worker stays a zombie until the controller reaps it, and the controller may be waiting
for us). Every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from . import statedirs
from .errors import KafkaPatternsError
from .liveness import ProcessId
from .probes import wait_until

_POLL = 0.05


class SharedServiceError(KafkaPatternsError):
    """The shared service cannot be used: its start failed, or its owner died."""


def owner_died_message(name: str, owner: str) -> str:
    return (
        f"the process that started the shared {name} ({owner}) died, and {name} "
        "went with it: the tests that need it cannot run in this run. Look above for "
        "that worker's crash (\"worker ... crashed\"); a worker killed from outside is "
        "often the OOM killer: run fewer workers (-n) or give them more memory, then "
        "run again."
    )


@dataclass
class SharedService:
    """Coordinates one named service among the processes of a run, in ``root``."""

    root: Path
    name: str
    worker: str = ""
    """This process's xdist worker id, shown in messages to the others."""
    controller: ProcessId | None = None
    """The run's controller: once it is gone, nobody is left to wait for."""
    lock_timeout: float = 300.0
    """How long to wait for another worker that is starting the service."""
    release_timeout: float = 1800.0
    """How long the owner waits for the other workers to finish their tests."""
    _stop: Callable[[], None] | None = field(default=None, init=False, repr=False)
    _owner: ProcessId | None = field(default=None, init=False, repr=False)
    _owner_name: str = field(default="", init=False, repr=False)
    _root_checked: bool = field(default=False, init=False, repr=False)

    @property
    def _state_path(self) -> Path:
        return self.root / f"{self.name}.json"

    @property
    def owns(self) -> bool:
        """True in the process that started the service (and must stop it)."""
        return self._stop is not None

    def _lock(self) -> FileLock:
        if not self._root_checked:
            statedirs.ensure_writable(self.root, statedirs.BASETEMP, "the shared run state")
            self._root_checked = True
        return FileLock(str(self.root / f"{self.name}.lock"), timeout=self.lock_timeout)

    def _locked(self) -> FileLock:
        lock = self._lock()
        try:
            lock.acquire()
        except Timeout:
            raise SharedServiceError(
                f"waited {self.lock_timeout:g} s for another xdist worker to start the shared "
                f"{self.name} (lock {lock.lock_file}); it is still busy. Raise the startup "
                "timeout only if this machine is just slow; otherwise look for a stuck worker."
            ) from None
        return lock

    def _read(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self._state_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise SharedServiceError(
                f"the shared state of {self.name} in {self._state_path} is unreadable ({exc}); "
                "delete that file or choose another --basetemp."
            ) from None
        return state

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(state))
            tmp.replace(self._state_path)
        except OSError as exc:
            raise statedirs.error(
                self.root, exc, statedirs.BASETEMP, "the shared run state"
            ) from None

    def _describe(self, who: ProcessId, worker: str) -> str:
        return f"xdist worker {worker}, {who}" if worker else str(who)

    def acquire(self, start: Callable[[], tuple[str, Callable[[], None]]]) -> str:
        """Return the service's description, calling ``start`` only if nobody has yet.

        ``start`` returns the description (a string, e.g. JSON) and the stop callable;
        a :class:`KafkaPatternsError` it raises is recorded for the other workers.
        """
        me = ProcessId.of(os.getpid())
        lock = self._locked()
        try:
            state = self._read()
            if state is None:
                try:
                    description, stop = start()
                except Exception as exc:
                    reason = str(exc) if isinstance(exc, KafkaPatternsError) else (
                        f"{type(exc).__name__}: {exc} (the traceback is in the report of "
                        f"the worker that tried to start {self.name})"
                    )
                    self._write({
                        "failure": reason, "owner": me.to_dict(), "worker": self.worker,
                        "users": [],
                    })
                    raise
                self._stop = stop
                state = {
                    "description": description, "owner": me.to_dict(), "worker": self.worker,
                    "users": [],
                }
            if state.get("failure"):
                raise SharedServiceError(str(state["failure"]))
            owner = ProcessId.from_dict(state.get("owner"))
            if owner is None or not owner.alive():
                raise SharedServiceError(owner_died_message(
                    self.name, self._describe(owner or me, str(state.get("worker", "")))
                ))
            self._owner = owner
            self._owner_name = self._describe(owner, str(state.get("worker", "")))
            users = [u for u in state.get("users", []) if ProcessId.from_dict(u) != me]
            state["users"] = [*users, me.to_dict()]
            try:
                self._write(state)
            except KafkaPatternsError:
                self._stop_now()
                raise
            return str(state["description"])
        finally:
            lock.release()

    def owner_died(self) -> str | None:
        """Why the service is gone when its owner (another process) died, else None."""
        if self._owner is None or self.owns or self._owner.alive():
            return None
        return owner_died_message(self.name, self._owner_name)

    def _retire_if_alone(self, me: ProcessId, *, force: bool = False) -> bool:
        """Under the lock: when no other user is alive, take the record down and say so.

        Checking and retiring in one locked step closes a race: a worker that is slow to
        start (its first test that needs the service comes late) could otherwise register
        after the owner's last check and be handed a service that is being stopped
        ("connection refused" in its set-up). Once the record is gone, a latecomer starts
        a service of its own.
        """
        with self._locked():
            state = self._read() or {}
            controller_gone = self.controller is not None and not self.controller.alive()
            users = [ProcessId.from_dict(u) for u in state.get("users", [])]
            if not force and not controller_gone and any(
                u is not None and u != me and u.alive() for u in users
            ):
                return False
            if ProcessId.from_dict(state.get("owner")) == me:
                self._unlink_state()  # a latecomer's own service, started since, stays
            return True

    def _unlink_state(self) -> None:
        with contextlib.suppress(OSError):
            self._state_path.unlink(missing_ok=True)

    def release(self) -> None:
        """Drop this process's claim; the owner waits for the others, then stops it.

        The owner waits at most :attr:`release_timeout` seconds; a user that died (even
        one still a zombie) or a controller that died ends the wait at once. The owner
        removes the shared record under the lock before it stops the service, so no
        worker can start using a service on its way out.
        """
        me = ProcessId.of(os.getpid())
        with self._locked():
            state = self._read()
            if state is not None and "users" in state:
                state["users"] = [u for u in state["users"] if ProcessId.from_dict(u) != me]
                with contextlib.suppress(KafkaPatternsError):
                    self._write(state)
        if self._stop is None:
            return
        waited = None
        try:
            waited = wait_until(
                lambda: self._retire_if_alone(me), self.release_timeout, interval=_POLL
            )
        finally:
            if waited is None:
                with contextlib.suppress(KafkaPatternsError):
                    self._retire_if_alone(me, force=True)
            self._stop_now(unlink=False)
        if waited is None:
            raise SharedServiceError(
                f"stopped the shared {self.name} after waiting {self.release_timeout:g} s for "
                "other xdist workers to finish with it; a worker that long busy is stuck "
                "(look for a hanging test)."
            )

    def _stop_now(self, *, unlink: bool = True) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:
            try:
                stop()
            finally:
                if unlink:
                    self._unlink_state()

