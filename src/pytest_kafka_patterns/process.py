"""Start a server process that cannot outlive the test run.

mirakuru does the supervision (own session, deadline-bound start, process-group stop,
atexit reaping); this module adds what a test harness needs on top of it:

* the child gets ``PR_SET_PDEATHSIG`` (Linux), so it dies with pytest even on SIGKILL;
* a pidfile, so that the next run reaps leftovers where the signal is unavailable;
* output goes to a log file, and a start failure quotes the tail of that log.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import secrets
import signal
import string
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from mirakuru import Executor
from mirakuru.exceptions import ProcessExitedWithError, ProcessFinishedWithError, TimeoutExpired

from . import reaper
from .errors import ServiceStartError, log_tail
from .ports import free_port

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    prctl: Callable[..., int] = ctypes.CDLL(libc_name, use_errno=True).prctl
    return prctl


_PRCTL = _load_prctl()


def _child_setup() -> None:
    """Runs in the child between fork and exec: own session, die with the parent."""
    os.setsid()
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


_MARK_ALPHABET = string.ascii_lowercase


def supervision_mark() -> str:
    """A value for mirakuru's ``mirakuru_uuid`` environment mark that holds no digit.

    mirakuru's atexit hook SIGKILLs every process whose mark *contains* the exiting
    process's pid as a substring, and its default mark is ``"<pid>:<uuid4>"``: any run
    that exits could kill another run's server whose mark happened to contain its pid.
    A mark of letters only contains no pid, so no other process's exit matches ours;
    our own children are stopped by :meth:`ManagedProcess.stop`, PDEATHSIG and the reaper.
    """
    return "pytest-kafka-patterns-" + "".join(
        secrets.choice(_MARK_ALPHABET) for _ in range(32)
    )


class _Supervised(Executor):
    def __init__(
        self,
        command: Sequence[str],
        ready: Callable[[], bool],
        log: IO[bytes],
        timeout: float,
        cwd: Path,
        env: dict[str, str] | None,
    ) -> None:
        super().__init__(
            list(command),
            cwd=str(cwd),
            timeout=timeout,
            sleep=0.005,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            envvars=env or {},
        )
        self._ready = ready
        # mirakuru reads this attribute for the environment mark and for finding our
        # children; see supervision_mark().
        self._uuid = supervision_mark()

    def pre_start_check(self) -> bool:
        return False

    def after_start_check(self) -> bool:
        # mirakuru only treats a non-zero early exit as a failure; some servers
        # (Tansu on a taken port) exit 0.
        exit_code = self.process.poll() if self.process is not None else None
        if exit_code is not None:
            raise ProcessExitedWithError(self, exit_code)
        return self._ready()

    @property
    def _popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super()._popen_kwargs
        kwargs["preexec_fn"] = _child_setup
        kwargs["universal_newlines"] = False
        return kwargs


class ManagedProcess:
    """A started server process; :meth:`stop` ends it and its children (idempotent)."""

    def __init__(
        self, executor: _Supervised, log_path: Path, log: IO[bytes], name: str,
        stop_timeout: float = 10.0,
    ):
        self._executor = executor
        self.stop_timeout = stop_timeout
        self._log = log
        self.log_path = log_path
        self.name = name
        if executor.process is None:
            raise ServiceStartError(f"{name} is not running")
        self.pid: int = executor.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return bool(self._executor.running())

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM the process group; SIGKILL what is left after ``timeout`` seconds."""
        if self._executor.running():
            self._executor._timeout = self.stop_timeout if timeout is None else timeout
            try:
                self._executor.stop()
            except ProcessFinishedWithError:
                pass  # any exit status is fine once we asked it to stop
            except TimeoutExpired:
                self._executor.kill()
        reaper.forget(self.pid)
        if not self._log.closed:
            self._log.close()


def start_process(
    name: str,
    command: Sequence[str],
    *,
    ready: Callable[[], bool],
    workdir: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    fix_hint: str = "",
    stop_timeout: float = 10.0,
) -> tuple[ManagedProcess, float]:
    """Start ``command`` and wait until ``ready()``; return it and the seconds it took.

    Raises :class:`ServiceStartError` with the log's tail when the process exits early
    or is not ready within ``timeout`` seconds; nothing is left running then.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - closed by ManagedProcess.stop
    executor = _Supervised(command, ready, log, timeout, workdir, env)
    started = time.monotonic()
    try:
        executor.start()
    except ProcessExitedWithError as exc:
        log.close()
        raise ServiceStartError(
            f"{name} exited with code {exc.exit_code} before it was ready.\n"
            f"command: {' '.join(command)}\n"
            f"last lines of {log_path}:\n{log_tail(log_path.read_text(errors='replace'))}"
            + (f"\n{fix_hint}" if fix_hint else "")
        ) from None
    except TimeoutExpired:
        executor.kill()
        log.close()
        raise ServiceStartError(
            f"{name} was not ready within {timeout:g} s.\n"
            f"command: {' '.join(command)}\n"
            f"last lines of {log_path}:\n{log_tail(log_path.read_text(errors='replace'))}\n"
            "Raise the startup timeout option if this machine is just slow."
            + (f"\n{fix_hint}" if fix_hint else "")
        ) from None
    except OSError as exc:
        log.close()
        raise ServiceStartError(f"could not run {command[0]!r} for {name}: {exc}") from None
    elapsed = time.monotonic() - started
    process = ManagedProcess(executor, log_path, log, name, stop_timeout)
    reaper.remember(process.pid, name)
    return process, elapsed


def on_free_port(
    start: Callable[[int], T], taken_marker: str, attempts: int = 3, port: int = 0
) -> tuple[T, int]:
    """``start(port)`` on a free loopback port, with a new port when the old one was taken.

    Another program can bind the port between our pick and the server's bind; the server
    then fails with ``taken_marker`` in its log, and we try again (``attempts`` in all).
    A non-zero ``port`` is used as it is, once.
    """
    if port:
        return start(port), port
    for attempt in range(attempts):
        port = free_port()
        try:
            return start(port), port
        except ServiceStartError as exc:
            if taken_marker not in str(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
