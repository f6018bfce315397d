"""SharedService: one start per run, stop by the owner once every user is gone."""

from __future__ import annotations

import json
import subprocess
import sys

from pytest_kafka_patterns.sharing import SharedService


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
    state["users"].append(int(dead.stdout))
    (tmp_path / "svc.json").write_text(json.dumps(state))
    owner.release()  # returns: the only other user is dead
    assert stops == [1]
