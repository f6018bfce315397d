"""A process's identity (pid, start, boot) survives wall-clock changes, and a record it
cannot verify never gets a process killed (liveness.py). Real processes; the clock step
is injected where psutil reads ``/proc/stat`` btime, which is what an NTP step changes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from pytest_kafka_patterns.liveness import BOOT_ID, ProcessId, start_of
from pytest_kafka_patterns.probes import wait_until

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "60"])
    yield child
    child.kill()
    child.wait()


@linux_only
def test_a_wall_clock_step_leaves_a_live_process_alive(
    monkeypatch: pytest.MonkeyPatch, sleeper: subprocess.Popen[bytes]
) -> None:
    """The kernel recomputes btime as wall clock minus uptime on every read; after an NTP
    step psutil's create_time of the same process moves by the step. The identity must
    not: otherwise another run takes a live run for dead and reaps it."""
    import psutil._pslinux as pslinux

    recorded = ProcessId.of(sleeper.pid)
    before = psutil.Process(sleeper.pid).create_time()
    real_boot_time = pslinux.boot_time
    monkeypatch.setattr(pslinux, "boot_time", lambda: real_boot_time() + 1.0)
    assert psutil.Process(sleeper.pid).create_time() == pytest.approx(before + 1.0)
    assert recorded.alive() and recorded.maybe_alive()
    assert ProcessId.of(sleeper.pid) == recorded


def test_the_identity_round_trips_through_a_record(sleeper: subprocess.Popen[bytes]) -> None:
    recorded = ProcessId.of(sleeper.pid)
    assert recorded.started is not None and recorded.boot == BOOT_ID
    assert ProcessId.from_dict(recorded.to_dict()) == recorded
    assert ProcessId.from_dict(recorded.to_dict()).alive()  # type: ignore[union-attr]


def test_another_start_or_another_boot_is_not_this_process(
    sleeper: subprocess.Popen[bytes],
) -> None:
    started = start_of(sleeper.pid)
    assert started is not None
    assert not ProcessId(sleeper.pid, started - 5).alive(), "a recycled pid"
    if BOOT_ID is not None:
        assert not ProcessId(sleeper.pid, started, "another-boot").alive()
        assert not ProcessId(sleeper.pid, started, "another-boot").maybe_alive()


def test_a_finished_or_zombie_process_is_gone() -> None:
    child = subprocess.Popen(["true"])
    recorded = ProcessId.of(child.pid)
    # it stays in the process table, a zombie, until wait() reaps it
    assert wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE,
                      timeout=10) is not None
    assert not recorded.alive() and not recorded.maybe_alive(), "a zombie"
    child.wait()
    assert not recorded.alive() and not recorded.maybe_alive()
    assert start_of(child.pid) is None or ProcessId.of(child.pid) != recorded


def test_a_record_without_a_start_is_never_alive_but_maybe_while_its_pid_runs(
    sleeper: subprocess.Popen[bytes],
) -> None:
    """An older version's record (epoch create_time) cannot be verified: nothing is
    killed on it (alive is False), nothing it wrote is deleted while its pid runs."""
    old = ProcessId.from_dict({"pid": sleeper.pid, "create_time": 1796000000.0})
    assert old is not None and old.started is None
    assert not old.alive()
    assert old.maybe_alive()
    assert ProcessId.from_dict({"pid": os.getpid() + 10_000_000}) is not None
    assert not ProcessId.from_dict({"pid": 2**22 + 7}).maybe_alive()  # type: ignore[union-attr]
