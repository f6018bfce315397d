"""Every way a run can end leaves no process behind, and the run ends within 30 s.

Each case starts an inner pytest whose tests hold a broker and a Redis, ends it in one
way (the tests pass, fail, or some process is signalled), and measures how long after
that the run is over and every process it started is gone. Under xdist (``-n 4``) one
process is SIGKILLed while every worker is inside a test: the controller, the worker
that started the shared broker (its owner), or another worker.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from tests.reliability.runs import InnerRun, assert_gone, start_run

pytest.importorskip("xdist")

#: The spec: every run *ends*, and leaves nothing behind, within this many seconds.
ENDS_WITHIN = 30.0


def _ends(run: InnerRun, since: float) -> float:
    """Seconds from ``since`` until the inner pytest exits (fails after ENDS_WITHIN)."""
    try:
        run.process.wait(timeout=max(1.0, ENDS_WITHIN - (time.monotonic() - since)))
    except Exception:
        pytest.fail(f"the run did not end within {ENDS_WITHIN} s:\n{run.output()[-3000:]}")
    return time.monotonic() - since


def _report(request: pytest.FixtureRequest, ended: float, clean: float) -> None:
    request.node.user_properties.append(("ended_s", round(ended, 2)))
    request.node.user_properties.append(("clean_s", round(clean, 2)))
    print(f"\n{request.node.name}: ended after {ended:.2f} s, nothing left after {clean:.2f} s")


@pytest.mark.parametrize(
    "ending", ["pass", "fail", "SIGINT", "SIGTERM", "SIGKILL", "SIGKILL-group"]
)
def test_a_run_ends_and_leaves_nothing(
    tmp_path: Path, process_mark, runs: list[InnerRun], request: pytest.FixtureRequest,
    ending: str,
) -> None:
    env = {"KP_INNER_FAIL": "1"} if ending == "fail" else {}
    run = start_run(tmp_path, env=env, new_session=ending == "SIGKILL-group")
    runs.append(run)
    run.wait_seen(1)
    children = psutil.Process(run.process.pid).children(recursive=True)
    assert {child.name() for child in children} >= {"tansu", "redis-server"}
    since = time.monotonic()
    if ending in ("pass", "fail"):
        run.go()
    elif ending == "SIGKILL-group":
        os.killpg(run.process.pid, signal.SIGKILL)
    else:
        run.process.send_signal(getattr(signal, ending))
    ended = _ends(run, since)
    if ending == "pass":
        assert run.process.returncode == 0, run.output()[-3000:]
    if ending == "fail":
        assert run.process.returncode == 1, run.output()[-3000:]
    clean = assert_gone(process_mark.alive, run.ports(), ENDS_WITHIN - ended)
    _report(request, ended, ended + clean)


@pytest.mark.parametrize("victim", ["controller", "owner worker", "other worker"])
def test_xdist_run_with_a_killed_process_ends_and_leaves_nothing(
    tmp_path: Path, process_mark, runs: list[InnerRun], request: pytest.FixtureRequest,
    victim: str,
) -> None:
    run = start_run(tmp_path, "-n", "4", count=8, hold=60)
    runs.append(run)
    seen = run.wait_seen(4)
    assert len({s["bootstrap"] for s in seen}) == 1, "the workers share one broker"
    owner = int(seen[0]["owner"])  # type: ignore[call-overload]
    workers = sorted(int(s["pid"]) for s in seen)  # type: ignore[call-overload]
    assert owner in workers
    target = {
        "controller": run.process.pid,
        "owner worker": owner,
        "other worker": next(pid for pid in workers if pid != owner),
    }[victim]
    since = time.monotonic()
    os.kill(target, signal.SIGKILL)
    run.go()
    ended = _ends(run, since)
    clean = assert_gone(process_mark.alive, run.ports(), ENDS_WITHIN - ended)
    output = run.output()
    if victim == "owner worker":
        # The other workers' tests that need the broker say why at once.
        assert "the process that started the shared kafka_broker" in output, output[-3000:]
        assert "run fewer workers" in output
    if victim == "other worker":
        assert "crashed" in output, output[-3000:]
    _report(request, ended, ended + clean)
