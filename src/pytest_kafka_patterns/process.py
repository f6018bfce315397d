"""Start a server process that cannot outlive the test run.

mirakuru does the supervision (own session, deadline-bound start, process-group stop,
atexit reaping); this module adds what a test harness needs on top of it:

* the child gets ``PR_SET_PDEATHSIG`` (Linux), so it dies with pytest even on SIGKILL;
* a pidfile, so that the next run reaps leftovers where the signal is unavailable;
* output goes to a log file, and a start failure quotes the tail of that log;
* readiness counts only when the answer comes from our process: given the port it was
  told to use, the process (or a child) must own the listening socket, so a foreign
  server that grabbed the port first is never handed out (it is a :class:`PortTaken`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import secrets
import signal
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

import psutil
from mirakuru import Executor, SimpleExecutor
from mirakuru.exceptions import ProcessExitedWithError, ProcessFinishedWithError, TimeoutExpired

from . import reaper
from .errors import PortTaken, ServiceStartError, log_tail
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


class _ForeignListener(Exception):
    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.port = port


def listens_on(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` (or a descendant) has a listening TCP socket on ``port``.

    ``None`` when the system will not tell (no permission to read its sockets).
    """
    try:
        process = psutil.Process(pid)
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return False
    for member in family:
        try:
            connections = member.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied:
            return None
        for connection in connections:
            if connection.status == psutil.CONN_LISTEN and _port_of(connection.laddr) == port:
                return True
    return False


def _port_of(address: Any) -> int | None:
    return int(address[1]) if isinstance(address, tuple) and len(address) >= 2 else None


def port_holder(port: int) -> str:
    """Who listens on TCP ``port`` on this machine, as far as we can tell."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return "another program"
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and _port_of(connection.laddr) == port:
            if connection.pid is None:
                return "another program"
            try:
                return f"pid {connection.pid} ({psutil.Process(connection.pid).name()})"
            except psutil.Error:
                return f"pid {connection.pid}"
    return "another program (gone again)"


SPAWNER_PREFIX = "kafka-patterns-spawner"


def on_short_lived_thread() -> bool:
    """Whether a child forked now could outlive the thread that forks it: any thread but
    the main one and the spawners."""
    thread = threading.current_thread()
    return thread is not threading.main_thread() and not thread.name.startswith(SPAWNER_PREFIX)


@functools.cache
def _spawners() -> ThreadPoolExecutor:
    """Threads that fork the children asked for from other threads.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked a child ends, not its process
    (prctl(2): "the parent is considered to be the thread that created this process"). A
    broker restarted from a thread pool's thread (a contract scenario run side by side)
    was SIGKILLed when that thread ended. A pool's threads end only with the process, so
    a child forked by one still dies with pytest and only then. Several threads, so one
    child's readiness wait does not hold up another's start."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix=SPAWNER_PREFIX)


class _Supervised(Executor):
    def __init__(
        self,
        command: Sequence[str],
        ready: Callable[[], bool] | None,
        log: IO[bytes],
        timeout: float,
        cwd: Path,
        env: dict[str, str] | None,
        port: int | None,
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
        self._port = port
        # mirakuru reads this attribute for the environment mark and for finding our
        # children; see supervision_mark().
        self._uuid = supervision_mark()

    def pre_start_check(self) -> bool:
        return False

    def start(self) -> _Supervised:
        """Start; wait until ready unless there is no readiness to wait for (``ready`` is
        None: a launched program, e.g. a contract's consumer, is started once it runs).

        Asked from a thread other than the main one, the start runs on one of
        :func:`_spawners`' threads, which live as long as this process."""
        if on_short_lived_thread():
            return _spawners().submit(self._start_here).result()
        return self._start_here()

    def _start_here(self) -> _Supervised:
        if self._ready is None:
            SimpleExecutor.start(self)  # mirakuru's start without Executor's readiness wait
        else:
            super().start()
        return self

    def stop_within(self, timeout: float) -> None:
        """SIGTERM the process group and wait up to ``timeout`` s for it to end.

        mirakuru takes the stop deadline from the executor's one timeout (the start
        timeout until now); this subclass sets its own protected attribute rather than a
        caller reaching into the executor. Raises mirakuru's ``TimeoutExpired``.
        """
        self._timeout = timeout
        self.stop()

    def after_start_check(self) -> bool:
        # mirakuru only treats a non-zero early exit as a failure; some servers
        # (Tansu on a taken port) exit 0.
        exit_code = self.process.poll() if self.process is not None else None
        if exit_code is not None:
            raise ProcessExitedWithError(self, exit_code)
        if self._ready is None or not self._ready():
            return False
        if self._port is None or self.process is None:
            return True
        if listens_on(self.process.pid, self._port) is False:
            # Something answered on the port, and it is not our process.
            raise _ForeignListener(self._port)
        return True

    @property
    def _popen_kwargs(self) -> dict[str, Any]:
        # mirakuru's hook for the Popen arguments, overridden (as pre_start_check and
        # after_start_check are): its constructor takes no preexec_fn.
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
        # Kept for the exit code: mirakuru drops its process once it has stopped it.
        self._popen: subprocess.Popen[bytes] = executor.process

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return bool(self._executor.running())

    def exit_code(self) -> int | None:
        """The exit status (negative: the signal that ended it), ``None`` while it runs."""
        return self._popen.poll()

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM the process group; SIGKILL what is left after ``timeout`` seconds."""
        if self._executor.running():
            try:
                self._executor.stop_within(self.stop_timeout if timeout is None else timeout)
            except ProcessFinishedWithError:
                pass  # any exit status is fine once we asked it to stop
            except TimeoutExpired:
                self._executor.kill()
        reaper.forget(self.pid)
        if not self._log.closed:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL the process group at once and reap it (idempotent): a crash, not a stop.

        Children that outlived an exited process (found by the supervision mark) go too.
        """
        if self._executor.process is not None:
            self._executor.kill(sig=signal.SIGKILL)
        reaper.forget(self.pid)
        if not self._log.closed:
            self._log.close()


def launch_process(
    name: str,
    command: Sequence[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    stop_timeout: float = 5.0,
) -> ManagedProcess:
    """Start ``command`` with no readiness to wait for (a program, not a server), its
    output appended to ``log_path``; supervised as :func:`start_process`'s servers are
    (own session, death with the parent, process-group stop and kill).

    Raises :class:`ServiceStartError` when the command cannot be run at all.
    """
    log = open(log_path, "ab")  # noqa: SIM115 - closed by ManagedProcess.stop / kill
    executor = _Supervised(command, None, log, stop_timeout, Path.cwd(), env, None)
    try:
        executor.start()
    except OSError as exc:
        log.close()
        raise ServiceStartError(
            f"could not run {command[0]!r} for {name}: {exc.strerror or exc}."
        ) from None
    return ManagedProcess(executor, log_path, log, name, stop_timeout)


def start_process(
    name: str,
    command: Sequence[str],
    *,
    ready: Callable[[], bool],
    workdir: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    port: int | None = None,
    port_taken_marker: str | None = None,
    install_hint: str = "",
    log_hint: str = "",
    timeout_option: str = "the startup timeout option",
    stop_timeout: float = 10.0,
) -> tuple[ManagedProcess, float]:
    """Start ``command`` and wait until ``ready()``; return it and the seconds it took.

    ``port`` is the TCP port the process was told to listen on: ``ready()`` counts only
    once the process owns it, and :class:`PortTaken` is raised when another program
    holds it (or the process exits with ``port_taken_marker`` in its log). Other failures
    raise :class:`ServiceStartError` with the log's tail and what to do:
    ``install_hint`` only when the command cannot be run at all, ``log_hint`` when it
    exited or timed out. Nothing is left running after a failure.
    """
    log_path = workdir / f"{name}.log"
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115 - closed by ManagedProcess.stop
    except OSError as exc:
        raise ServiceStartError(
            f"cannot write {name}'s work directory {workdir}: {exc.strerror or exc}. "
            "Free space there, or point --basetemp at a writable directory."
        ) from None
    executor = _Supervised(command, ready, log, timeout, workdir, env, port)
    started = time.monotonic()
    try:
        executor.start()
    except ProcessExitedWithError as exc:
        text = _close_and_read(log, log_path)
        if port is not None and port_taken_marker and port_taken_marker in text:
            raise PortTaken(
                f"{name} could not listen on port {port}: {port_holder(port)} took it "
                f"first.\nlast lines of {log_path}:\n{log_tail(text, 5)}",
                port,
            ) from None
        raise ServiceStartError(
            f"{name} exited with code {exc.exit_code} before it was ready.\n"
            f"command: {' '.join(command)}\n"
            f"last lines of {log_path}:\n{log_tail(text)}\n"
            + _exit_diagnosis(name, log_path, log_hint)
        ) from None
    except _ForeignListener as exc:
        executor.kill()
        _close_and_read(log, log_path)
        raise PortTaken(
            f"port {exc.port} answered, but not from the {name} we started: "
            f"{port_holder(exc.port)} listens on it.",
            exc.port,
        ) from None
    except TimeoutExpired:
        executor.kill()
        text = _close_and_read(log, log_path)
        raise ServiceStartError(
            f"{name} was not ready within {timeout:g} s.\n"
            f"command: {' '.join(command)}\n"
            f"last lines of {log_path}:\n{log_tail(text)}\n"
            f"Raise {timeout_option} if this machine is just slow."
            + (f"\n{log_hint}" if log_hint else "")
        ) from None
    except OSError as exc:
        log.close()
        raise ServiceStartError(
            f"could not run {command[0]!r} for {name}: {exc.strerror or exc}."
            + (f"\n{install_hint}" if install_hint else "")
        ) from None
    elapsed = time.monotonic() - started
    process = ManagedProcess(executor, log_path, log, name, stop_timeout)
    reaper.remember(process.pid, name)
    return process, elapsed


#: A start failure quotes the end of the log; only this much of it is read.
_LOG_TAIL_BYTES = 64 * 1024


def _close_and_read(log: IO[bytes], log_path: Path) -> str:
    """The end of the log, bounded: a log can be huge (or a device that never ends)."""
    if not log.closed:
        log.close()
    try:
        with open(log_path, "rb") as reader:
            size = reader.seek(0, os.SEEK_END)
            reader.seek(max(0, size - _LOG_TAIL_BYTES))
            data = reader.read(_LOG_TAIL_BYTES)
    except OSError:
        return ""
    return data.replace(b"\0", b"").decode(errors="replace")


def _exit_diagnosis(name: str, log_path: Path, log_hint: str) -> str:
    """What to do about a server that exited early: first, can it write its log?"""
    try:
        with open(log_path, "ab") as log:
            log.write(f"[pytest-kafka-patterns] {name} exited before it was ready\n".encode())
            log.flush()
            os.fsync(log.fileno())
    except OSError as exc:
        return (
            f"Its log cannot be written ({log_path}: {exc.strerror or exc}): the disk under "
            "the base temp directory is full or read-only. Free space there, or point "
            "--basetemp at another directory."
        )
    return log_hint or f"The log lines above are {name}'s own: fix what they report."


def on_free_port(start: Callable[[int], T], attempts: int = 3, port: int = 0) -> tuple[T, int]:
    """``start(port)`` on a free loopback port, with a new port when the old one was taken.

    Another program can bind the port between our pick and the server's bind; ``start``
    then raises :class:`PortTaken`, and we try again (``attempts`` in all).
    A non-zero ``port`` is used as it is, once.
    """
    if port:
        return start(port), port
    tried: list[str] = []
    for _ in range(attempts):
        port = free_port()
        try:
            return start(port), port
        except PortTaken as exc:
            tried.append(str(exc).splitlines()[0])
    raise PortTaken(
        f"the port was taken by another program {attempts} times in a row:\n"
        + "\n".join(f"  {line}" for line in tried)
        + "\nSomething on this machine grabs free loopback ports as fast as they are "
        "freed; stop it, or run fewer things in parallel.",
        port,
    )
