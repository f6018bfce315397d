"""No orphans: every process the plugin starts ends with the run, however it ends."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from pytest_kafka_patterns import reaper
from pytest_kafka_patterns.ports import is_listening

HANGING_TEST = """
import pathlib, time

def test_hang(kafka_broker, redis_server):
    ports = kafka_broker.bootstrap_servers + " " + str(redis_server.port)
    pathlib.Path({ready!r}).write_text(ports)
    time.sleep(120)
"""


def _start_hanging_run(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    ready = tmp_path / "ready.txt"
    test_file = tmp_path / "test_hang.py"
    test_file.write_text(HANGING_TEST.format(ready=str(ready)))
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(test_file), "-p", "no:cacheprovider",
         "--kafka-backend=embedded", "--redis-backend=process", "-q", *extra],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        if run.poll() is not None or time.monotonic() > deadline:
            run.kill()
            pytest.fail(f"inner run did not start: {run.stdout.read().decode()[-2000:]}")
        time.sleep(0.05)
    time.sleep(0.1)  # the file is written; let the write finish
    return run, ready


def _ports(ready: Path) -> list[int]:
    kafka, redis_port = ready.read_text().split()
    return [int(kafka.rpartition(":")[2]), int(redis_port)]


def _wait_gone(mark, ports: list[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = mark.alive()
        if not left and not any(is_listening("127.0.0.1", port) for port in ports):
            return
        time.sleep(0.05)
    names = [f"{p.pid} {p.name()}" for p in mark.alive()]
    pytest.fail(f"left running after the run ended: {names}, ports {ports}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_services_end_when_pytest_is_stopped(tmp_path: Path, process_mark, sig) -> None:
    run, ready = _start_hanging_run(tmp_path)
    ports = _ports(ready)
    assert all(is_listening("127.0.0.1", port) for port in ports)
    children = psutil.Process(run.pid).children(recursive=True)
    assert {child.name() for child in children} >= {"tansu", "redis-server"}
    run.send_signal(sig)
    run.wait(timeout=30)
    _wait_gone(process_mark, ports)
    still = [child for child in children if child.is_running()
             and child.status() != psutil.STATUS_ZOMBIE]
    assert still == []


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
    _wait_gone(process_mark, json.loads((pytester.path / "ports.json").read_text()))


def test_next_run_reaps_what_a_killed_run_left(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path))
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    dead_owner = subprocess.run(["true"]).returncode  # noqa: F841 - just a finished process
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / f"{orphan.pid}.json").write_text(json.dumps({
        "pid": orphan.pid,
        "create_time": psutil.Process(orphan.pid).create_time(),
        "what": "tansu",
        "owner_pid": gone.pid,
        "owner_create_time": 1.0,
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
        "pid": stranger.pid, "create_time": 12345.0, "what": "tansu",
        "owner_pid": 1, "owner_create_time": 1.0,
    }))
    try:
        assert reaper.reap_orphans() == []
        assert stranger.poll() is None
    finally:
        stranger.kill()
