"""Runs never see or change each other's services.

* Two independent runs started together get their own services; one of them killed
  mid-run, and a third run started after that (which reaps what dead runs left), do
  not touch the survivor's.
* Issue 15 (6): a pytest started inside an xdist worker inherits ``PYTEST_XDIST_WORKER``
  and took itself for that worker: concurrent nested runs shared one broker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.runs import (
    LOCAL_BACKENDS,
    InnerRun,
    ProcessMark,
    assert_gone,
    start_run,
)

pytest.importorskip("xdist")


@pytest.fixture
def runs() -> Iterator[list[tuple[InnerRun, ProcessMark]]]:
    started: list[tuple[InnerRun, ProcessMark]] = []
    yield started
    for run, mark in started:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()
        for process in mark.alive():
            process.kill()


def _start(runs: list[tuple[InnerRun, ProcessMark]], here: Path, *args: str,
           count: int = 1) -> tuple[InnerRun, ProcessMark]:
    mark = ProcessMark()
    run = start_run(here, *args, count=count, env={"KP_TEST_MARK": mark.mark})
    runs.append((run, mark))
    return run, mark


def test_concurrent_runs_keep_to_their_own_services(
    tmp_path: Path, runs: list[tuple[InnerRun, ProcessMark]]
) -> None:
    killed, killed_mark = _start(runs, tmp_path / "killed", "-n", "2", count=4)
    survivor, _ = _start(runs, tmp_path / "survivor")
    killed.wait_seen(2)
    survivor.wait_seen(1)
    assert not set(killed.ports()) & set(survivor.ports()), "each run has its own services"

    killed.process.kill()
    killed.process.wait(timeout=30)
    assert_gone(killed_mark.alive, killed.ports())

    later, _ = _start(runs, tmp_path / "later")  # reaps what the killed run left
    later.wait_seen(1)
    assert not set(later.ports()) & set(survivor.ports())

    survivor.go()
    later.go()
    assert survivor.process.wait(timeout=60) == 0, survivor.output()[-3000:]
    assert later.process.wait(timeout=60) == 0, later.output()[-3000:]


NESTED = """
import json, os, pathlib, time
from pytest_kafka_patterns import fixtures

def test_nested(kafka_broker, redis_server):
    here = pathlib.Path(os.environ["KP_NESTED_DIR"])
    mine = here / f"nested-{os.getpid()}.json"
    mine.write_text(json.dumps({
        "worker": fixtures.worker_id(), "xdist_env": os.environ.get("PYTEST_XDIST_WORKER"),
        "kafka": kafka_broker.bootstrap_servers, "redis": redis_server.port}))
    deadline = time.monotonic() + 60  # overlap with the other nested run
    while len(list(here.glob("nested-*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
"""

OUTER = """
import json, os, pathlib, subprocess, sys
import pytest
from pytest_kafka_patterns import fixtures

@pytest.mark.parametrize("n", range(2))
def test_outer(n, kafka_broker, tmp_path):
    here = pathlib.Path.cwd()
    (here / f"outer-{fixtures.worker_id()}.json").write_text(json.dumps({
        "worker": fixtures.worker_id(), "kafka": kafka_broker.bootstrap_servers}))
    nested = subprocess.run(
        [sys.executable, "-m", "pytest", str(here / "nested_tests.py"), "-q",
         "-p", "no:cacheprovider", "-W", "ignore", *%(backends)r],
        cwd=tmp_path, env={**os.environ, "KP_NESTED_DIR": str(here)},
        capture_output=True, text=True, timeout=120)
    assert nested.returncode == 0, nested.stdout[-3000:]
"""


def test_a_pytest_nested_in_an_xdist_worker_is_a_run_of_its_own(
    pytester: pytest.Pytester, process_mark
) -> None:
    pytester.makepyfile(
        nested_tests=NESTED, test_outer=OUTER % {"backends": list(LOCAL_BACKENDS)}
    )
    result = pytester.runpytest_subprocess("-n", "2", *LOCAL_BACKENDS, "-W", "ignore")
    result.assert_outcomes(passed=2)
    outer = [json.loads(p.read_text()) for p in pytester.path.glob("outer-*.json")]
    nested = [json.loads(p.read_text()) for p in pytester.path.glob("nested-*.json")]
    assert {o["worker"] for o in outer} == {"gw0", "gw1"}
    assert len(nested) == 2
    assert all(n["xdist_env"] in ("gw0", "gw1") for n in nested), "the variable is inherited"
    assert [n["worker"] for n in nested] == ["", ""], "yet the nested run is no worker"
    brokers = {n["kafka"] for n in nested} | {o["kafka"] for o in outer}
    assert len(brokers) == 3, "the outer run and each nested run have their own broker"
    assert len({n["redis"] for n in nested}) == 2
    assert process_mark.alive() == []
