"""ManagedProcess.stop: SIGTERM first, SIGKILL after its own timeout (not the start one)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

from pytest_kafka_patterns.contracts.harness import ConsumerProcess
from pytest_kafka_patterns.process import ManagedProcess, start_process
from pytest_kafka_patterns.waiting import poll

#: A start timeout far above the stop timeouts used here: a stop that waited for it
#: instead of its own timeout would show (seconds, not a benchmark).
START_TIMEOUT = 30.0


def _start(tmp_path: Path, on_sigterm: str) -> tuple[ManagedProcess, psutil.Process]:
    script = (
        "import pathlib, signal, sys, time\n"
        f"{on_sigterm}\n"
        "pathlib.Path('ready').touch()\n"
        "time.sleep(120)\n"
    )
    process, _ = start_process(
        "stop-test", [sys.executable, "-c", script],
        ready=lambda: (tmp_path / "ready").exists(), workdir=tmp_path, timeout=START_TIMEOUT,
    )
    return process, psutil.Process(process.pid)


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_sends_sigterm_first_and_a_handler_runs(tmp_path: Path) -> None:
    handler = (
        "def bye(*_):\n"
        "    pathlib.Path('terminated').touch(); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)"
    )
    process, proc = _start(tmp_path, handler)
    process.stop(timeout=10)
    assert _gone(proc)
    assert (tmp_path / "terminated").exists(), "the process was killed, never asked to stop"


def test_stop_kills_a_process_that_ignores_sigterm_after_its_own_timeout(
    tmp_path: Path,
) -> None:
    process, proc = _start(tmp_path, "signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    started = time.monotonic()
    process.stop(timeout=0.5)
    waited = time.monotonic() - started
    assert _gone(proc), "a process that ignores SIGTERM outlived stop()"
    assert waited < START_TIMEOUT / 2, (
        f"stop(timeout=0.5) took {waited:.1f} s: it waited for the start timeout "
        f"({START_TIMEOUT:g} s), not its own"
    )


# --- the contract harness's consumers: the same supervision, launched without a readiness
# wait (contracts.harness.ConsumerProcess on process.launch_process) ------------------------


def _consumer(tmp_path: Path, script: str) -> ConsumerProcess:
    command = ["sh", "-c", f'{sys.executable} -c "{script}" & wait']  # a child in the group
    return ConsumerProcess(command, {}, tmp_path / "consumer.log", "consumer#1")


def test_a_consumer_is_sigkilled_with_its_children_and_keeps_its_exit_code(
    tmp_path: Path,
) -> None:
    process = _consumer(tmp_path, "import time; print('polling', flush=True); time.sleep(120)")
    shell = psutil.Process(process.pid)
    poll(lambda: tmp_path.joinpath("consumer.log").read_text() == "polling\n", timeout=10)
    (child,) = shell.children()
    assert process.exit_code() is None
    process.kill()
    assert process.exit_code() == -9
    assert _gone(shell) and _gone(child)
    process.kill()  # idempotent
    assert process.log_tail() == "polling"


def test_a_consumer_that_exits_keeps_its_exit_code_and_log(tmp_path: Path) -> None:
    process = ConsumerProcess(
        [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], {},
        tmp_path / "consumer.log", "consumer#1",
    )
    assert poll(process.exit_code, timeout=10, done=lambda code: code is not None).value == 3
    assert process.log_tail() == "boom"
    process.stop()
    assert process.exit_code() == 3


def test_stopping_a_consumer_sends_sigterm(tmp_path: Path) -> None:
    process = ConsumerProcess(
        [sys.executable, "-c", "import signal, sys, time\n"
         "signal.signal(signal.SIGTERM, lambda *_: (print('left the group'), sys.exit(0)))\n"
         "print('up', flush=True)\ntime.sleep(120)"],
        {}, tmp_path / "consumer.log", "consumer#1",
    )
    poll(lambda: "up" in process.log_tail(), timeout=10)
    process.stop(timeout=10)
    assert process.exit_code() == 0
    assert process.log_tail().splitlines() == ["up", "left the group"]


def test_a_process_started_from_a_short_lived_thread_outlives_the_thread(
    tmp_path: Path,
) -> None:
    """PR_SET_PDEATHSIG fires when the *thread* that forked a child ends: a broker
    restarted from a contract scenario's thread died with that thread."""
    import threading

    started: list[tuple[ManagedProcess, psutil.Process]] = []
    thread = threading.Thread(target=lambda: started.append(_start(tmp_path, "")))
    thread.start()
    thread.join()
    process, proc = started[0]
    try:
        # The kernel delivers the parent-death signal as the thread exits; give it time.
        died = poll(lambda: _gone(proc), timeout=1.0).done
        assert not died, "the process died with the thread that started it"
    finally:
        process.stop(timeout=5)
    assert _gone(proc)
