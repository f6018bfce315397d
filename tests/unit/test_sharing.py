"""SharedService: one start per run, stop by the owner once every user is gone."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable

import psutil
import pytest

from pytest_kafka_patterns.errors import KafkaPatternsError, ServiceStartError
from pytest_kafka_patterns.liveness import ProcessId
from pytest_kafka_patterns.probes import wait_until
from pytest_kafka_patterns.sharing import SharedService, SharedServiceError


def test_first_caller_starts_later_callers_reuse(tmp_path) -> None:
    starts, stops = [], []

    def start():
        starts.append(1)
        return "desc", lambda: stops.append(1)

    owner = SharedService(tmp_path, "svc")
    assert owner.acquire(start) == "desc"
    assert SharedService(tmp_path, "svc").acquire(start) == "desc"
    assert starts == [1]
    owner.release()
    assert stops == [1]
    assert not (tmp_path / "svc.json").exists()


def test_owner_waits_for_a_live_user_and_ignores_dead_ones(tmp_path) -> None:
    stops = []
    owner = SharedService(tmp_path, "svc")
    owner.acquire(lambda: ("d", lambda: stops.append(1)))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    state = json.loads((tmp_path / "svc.json").read_text())
    state["users"].append({"pid": int(dead.stdout), "create_time": 1.0})
    (tmp_path / "svc.json").write_text(json.dumps(state))
    owner.release()  # returns: the only other user is dead
    assert stops == [1]


def _zombie() -> subprocess.Popen[bytes]:
    """A child that exited and was not waited for: a zombie, as a SIGKILLed worker is."""
    child = subprocess.Popen(["true"])
    wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, 10)
    return child


def _add_user(root, who: ProcessId) -> None:
    state = json.loads((root / "svc.json").read_text())
    state["users"].append(who.to_dict())
    (root / "svc.json").write_text(json.dumps(state))


def _release_in_thread(service: SharedService, timeout: float = 10.0) -> bool:
    """Release in a thread; True when it returned within ``timeout`` (it hung before)."""
    errors: list[BaseException] = []

    def release() -> None:
        try:
            service.release()
        except BaseException as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not errors, errors
    return not thread.is_alive()


def test_a_zombie_user_counts_as_dead(tmp_path) -> None:
    """Issue 15 (1): a SIGKILLed worker stays a zombie; the owner waited for it forever."""
    stops = []
    owner = SharedService(tmp_path, "svc")
    owner.acquire(lambda: ("d", lambda: stops.append(1)))
    zombie = _zombie()
    try:
        _add_user(tmp_path, ProcessId.of(zombie.pid))
        assert not ProcessId.of(zombie.pid).alive()
        assert _release_in_thread(owner), "the owner still waits for a zombie"
        assert stops == [1]
    finally:
        zombie.wait()


def test_a_recycled_pid_is_not_the_user(tmp_path) -> None:
    stops = []
    owner = SharedService(tmp_path, "svc")
    owner.acquire(lambda: ("d", lambda: stops.append(1)))
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        _add_user(tmp_path, ProcessId(stranger.pid, 12345.0))  # same pid, other process
        assert _release_in_thread(owner)
        assert stops == [1]
    finally:
        stranger.kill()
        stranger.wait()


def test_the_owner_stops_waiting_when_the_controller_died(tmp_path) -> None:
    stops = []
    gone = subprocess.Popen(["true"])
    gone.wait()
    owner = SharedService(tmp_path, "svc", controller=ProcessId(gone.pid, 1.0))
    owner.acquire(lambda: ("d", lambda: stops.append(1)))
    live = subprocess.Popen(["sleep", "30"])
    try:
        _add_user(tmp_path, ProcessId.of(live.pid))
        assert _release_in_thread(owner)
        assert stops == [1]
    finally:
        live.kill()
        live.wait()


def test_the_owners_wait_has_a_deadline(tmp_path) -> None:
    stops = []
    owner = SharedService(tmp_path, "svc", release_timeout=0.5)
    owner.acquire(lambda: ("d", lambda: stops.append(1)))
    live = subprocess.Popen(["sleep", "30"])
    try:
        _add_user(tmp_path, ProcessId.of(live.pid))
        with pytest.raises(SharedServiceError, match=r"after waiting 0\.5 s"):
            owner.release()
        assert stops == [1], "the service is stopped all the same"
    finally:
        live.kill()
        live.wait()


def test_a_failed_start_is_recorded_once_for_every_worker(tmp_path) -> None:
    """Issue 15 (3): each worker used to try the failed start again, in turn."""
    starts = []

    def start() -> tuple[str, Callable[[], None]]:
        starts.append(1)
        raise ServiceStartError("tansu exited with code 1 before it was ready.")

    for _ in range(3):
        with pytest.raises(KafkaPatternsError, match="tansu exited with code 1"):
            SharedService(tmp_path, "svc", worker="gw1").acquire(start)
    assert starts == [1]


def test_a_dead_owner_is_reported_with_what_to_do(tmp_path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "svc.json").write_text(json.dumps({
        "description": "d", "owner": {"pid": gone.pid, "create_time": 1.0},
        "worker": "gw0", "users": [],
    }))
    with pytest.raises(SharedServiceError) as info:
        SharedService(tmp_path, "svc").acquire(lambda: ("new", lambda: None))
    assert "xdist worker gw0" in str(info.value)
    assert "died" in str(info.value) and "run fewer workers" in str(info.value)


def test_a_user_learns_at_once_that_the_owner_died(tmp_path) -> None:
    owner_process = subprocess.Popen(["sleep", "30"])
    try:
        (tmp_path / "svc.json").write_text(json.dumps({
            "description": "d", "owner": ProcessId.of(owner_process.pid).to_dict(),
            "worker": "gw0", "users": [],
        }))
        user = SharedService(tmp_path, "svc", worker="gw1")
        assert user.acquire(lambda: ("new", lambda: None)) == "d"
        assert user.owner_died() is None
        owner_process.kill()  # a zombie until waited for: dead all the same
        assert wait_until(lambda: user.owner_died() is not None, 10) is not None
        assert "the process that started the shared svc" in (user.owner_died() or "")
    finally:
        owner_process.kill()
        owner_process.wait()


def test_the_owner_waits_for_a_live_user_before_stopping(tmp_path) -> None:
    """Issue 12: the service must outlive every live user; the owner's release returns
    (and stops the service) only once the last one is gone."""
    stops: list[int] = []
    owner = SharedService(tmp_path, "svc")
    owner.acquire(lambda: ("d", lambda: stops.append(1)))
    live = subprocess.Popen(["sleep", "30"])
    try:
        _add_user(tmp_path, ProcessId.of(live.pid))
        releasing = threading.Thread(target=owner.release, daemon=True)
        releasing.start()
        releasing.join(0.5)
        assert releasing.is_alive(), "the owner did not wait for its live user"
        assert stops == [], "the service was stopped under a live user"
        live.kill()  # the user is gone (a zombie until waited for: dead all the same)
        releasing.join(10)
        assert not releasing.is_alive(), "the owner still waits after its user left"
        assert stops == [1]
    finally:
        live.kill()
        live.wait()


def test_a_worker_that_comes_while_the_owner_stops_gets_a_service_of_its_own(tmp_path) -> None:
    """A slow worker whose first test needing the service comes after the owner's last
    check was handed the service being stopped ("connection refused" at its set-up,
    seen under ``-n 2``): the owner now takes the record down, under the lock, before it
    stops the service, and leaves the latecomer's own record in place."""
    late: list[str] = []

    def stop_old() -> None:  # the owner is stopping its service when the latecomer comes
        late.append(SharedService(tmp_path, "svc").acquire(lambda: ("new", lambda: None)))

    owner = SharedService(tmp_path, "svc")
    assert owner.acquire(lambda: ("old", stop_old)) == "old"
    owner.release()
    assert late == ["new"], "the latecomer was handed the service on its way out"
    assert json.loads((tmp_path / "svc.json").read_text())["description"] == "new"
