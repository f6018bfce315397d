"""No orphans: what the plugin starts ends with the run; a later run reaps the rest."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from pytest_kafka_patterns import reaper
from pytest_kafka_patterns.liveness import ProcessId
from pytest_kafka_patterns.probes import wait_until
from tests.reliability.runs import assert_gone, start_run

# How every kind of ending (pass, fail, SIGINT, SIGTERM, SIGKILL of pytest or of its
# process group, and under xdist SIGKILL of the controller or a worker) leaves nothing
# behind is tested in tests/reliability/test_endings.py, with the helpers used here.


def test_services_end_after_failures_and_errors(pytester: pytest.Pytester, process_mark,
                                                local_backends) -> None:
    pytester.makepyfile(
        """
        import json, pathlib

        def test_fails(kafka_broker, redis_server):
            pathlib.Path("ports.json").write_text(json.dumps(
                [int(kafka_broker.bootstrap_servers.rpartition(":")[2]), redis_server.port]))
            assert False, "a failing test"

        def test_errors(kafka_topic):
            raise RuntimeError("boom")
        """
    )
    result = pytester.runpytest_subprocess(*local_backends)
    result.assert_outcomes(failed=2)
    assert_gone(process_mark.alive, json.loads((pytester.path / "ports.json").read_text()))


def test_next_run_reaps_what_a_killed_run_left(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path))
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    dead_owner = subprocess.run(["true"]).returncode  # noqa: F841 - just a finished process
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / f"{orphan.pid}.json").write_text(json.dumps({
        "pid": orphan.pid,
        "server": ProcessId.of(orphan.pid).to_dict(),
        "what": "tansu",
        "owner": ProcessId(gone.pid, 1.0).to_dict(),
    }))
    live = subprocess.Popen(["sleep", "60"], start_new_session=True)
    reaper.remember(live.pid, "redis-server")  # owned by this live process: must survive
    try:
        assert reaper.reap_orphans() == [f"tansu (pid {orphan.pid})"]
        assert orphan.wait(timeout=5) == -signal.SIGKILL
        assert live.poll() is None
        assert not (tmp_path / "pids" / f"{orphan.pid}.json").exists()
        assert (tmp_path / "pids" / f"{live.pid}.json").exists()
    finally:
        live.kill()
        orphan.kill()


def test_reaper_never_kills_a_recycled_pid(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path))
    stranger = subprocess.Popen(["sleep", "60"])
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / f"{stranger.pid}.json").write_text(json.dumps({
        "pid": stranger.pid, "server": ProcessId(stranger.pid, 12345.0).to_dict(),
        "what": "tansu", "owner": ProcessId(1, 1.0).to_dict(),
    }))
    try:
        assert reaper.reap_orphans() == []
        assert stranger.poll() is None
    finally:
        stranger.kill()


def test_an_older_versions_record_kills_nothing_while_its_owner_pid_runs(
    tmp_path: Path, monkeypatch
) -> None:
    """Records written before the start-time format changed hold psutil's epoch create
    times: no identity can be checked, so their servers are never killed, and the record
    stays while its owner's pid runs."""
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path))
    server = subprocess.Popen(["sleep", "60"], start_new_session=True)
    owner = subprocess.Popen(["sleep", "60"])
    (tmp_path / "pids").mkdir()
    record = tmp_path / "pids" / f"{server.pid}.json"
    record.write_text(json.dumps({
        "pid": server.pid, "create_time": psutil.Process(server.pid).create_time(),
        "what": "tansu", "owner_pid": owner.pid, "owner_create_time": 1.0,
    }))
    try:
        assert reaper.reap_orphans() == []
        assert record.exists(), "its owner's pid runs: the record stays"
        owner.kill()
        owner.wait()
        assert reaper.reap_orphans() == []
        assert server.poll() is None, "an unverifiable server is never killed"
        assert not record.exists()
    finally:
        server.kill()
        owner.kill()


@pytest.mark.parametrize("xdist", [False, True], ids=["single", "xdist"])
def test_next_run_cleans_what_a_killed_runs_services_wrote(
    tmp_path: Path, monkeypatch, process_mark, xdist: bool
) -> None:
    """A SIGKILLed run leaves its ``pytest-N`` directory (pytest's lock is stale for
    days); what our services wrote there, and then the empty directory, go with the reap.
    """
    temproot, state = tmp_path / "temproot", tmp_path / "state"
    temproot.mkdir()
    env = {"PYTEST_DEBUG_TEMPROOT": str(temproot), "PYTEST_KAFKA_PATTERNS_STATE": str(state)}
    run = start_run(tmp_path / "run", *(["-n", "2"] if xdist else []), count=2, env=env)
    try:
        run.wait_seen(2 if xdist else 1)
        run.process.kill()
        run.process.wait(timeout=30)
        assert_gone(process_mark.alive, run.ports())
    finally:
        run.process.kill()
    left_dirs = [p for p in temproot.glob("pytest-of-*/pytest-*") if not p.is_symlink()]
    assert len(left_dirs) == 1, left_dirs
    left = left_dirs[0]
    assert (left / ".lock").exists()
    assert list((state / "runs").glob("*.json")), "the run recorded what it wrote"
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(state))
    # The run's xdist workers notice their controller's death within seconds; until
    # then the run is not dead and nothing of it may go.
    removed: list[Path] = []

    def reaped() -> bool:
        removed.extend(reaper.clean_dead_runs())
        return left in removed

    assert wait_until(reaped, timeout=30, interval=0.2) is not None, removed
    assert not left.exists()
    assert list((state / "runs").glob("*.json")) == []
