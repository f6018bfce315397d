"""contracts.parallel: a contract's scenarios side by side, results as one by one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pytest_kafka_patterns.contracts import load_contract
from pytest_kafka_patterns.contracts import scenarios as scenarios_module
from pytest_kafka_patterns.contracts.harness import HarnessEnv
from pytest_kafka_patterns.contracts.parallel import SharedRuns, run_contract_parallel
from pytest_kafka_patterns.contracts.scenarios import (
    ScenarioContext,
    ScenarioResult,
    ScenarioSpec,
)

CONTRACT = Path(__file__).parents[2] / "examples" / "contracts" / "email_service.contract.yaml"
NAMES = ["side-a", "side-b", "side-c"]


@pytest.fixture
def side_scenarios(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three scenarios that pass only when all three run at the same time (a barrier),
    the last of which also fails its check with a fixed message."""
    barrier = threading.Barrier(len(NAMES), timeout=5)

    def together(ctx: ScenarioContext) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            raise AssertionError("ran without the others") from None
        if ctx.topic.endswith("side-c"):
            raise AssertionError("side-c's own check failed: 1 of 20 event(s) lost")

    for name in NAMES:
        monkeypatch.setitem(scenarios_module.SCENARIOS, name, ScenarioSpec.of(name, together))


def _env(tmp_path: Path) -> HarnessEnv:
    return HarnessEnv(bootstrap_servers="127.0.0.1:9", redis_url="redis://127.0.0.1:9/0",
                      create_topic=lambda prefix, partitions: prefix, workdir=tmp_path)


def test_the_scenarios_run_at_once_and_report_as_one_by_one(side_scenarios, tmp_path) -> None:
    contract = load_contract(CONTRACT)
    results = run_contract_parallel(contract, _env(tmp_path), names=NAMES, seed=7)
    assert [r.scenario for r in results] == NAMES
    assert [r.passed for r in results] == [True, True, False]
    assert results[2].error == "side-c's own check failed: 1 of 20 event(s) lost"
    assert len({r.seed for r in results}) == 1  # the seed given, as run_scenario uses it


def _result(name: str) -> ScenarioResult:
    return ScenarioResult("c", name, 1, [], 0.0, None)


def test_a_files_items_share_one_run_and_a_late_item_runs_alone() -> None:
    runs: list[list[str]] = []

    def run(names):
        runs.append(list(names))
        return [_result(name) for name in names]

    shared = SharedRuns()
    wanted = ["duplicates", "crash", "poison"]
    assert shared.result("f", "duplicates", run, wanted).scenario == "duplicates"
    assert shared.result("f", "crash", run, wanted).scenario == "crash"
    assert shared.result("f", "poison", run, wanted).scenario == "poison"
    assert runs == [wanted], "each item ran its own scenarios again"
    assert shared.result("f", "crash", run, wanted).scenario == "crash"  # a rerun
    assert runs == [wanted, ["crash"]]
    assert shared.result("g", "crash", run, ["crash"]).scenario == "crash"  # another file
    assert runs == [wanted, ["crash"], ["crash"]]


def test_an_interrupt_does_not_wait_for_the_other_scenarios(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ctrl-C in one scenario's run ends the side-by-side run at once: a slow scenario
    still running is not waited for (it was, for up to its whole timeout)."""
    release = threading.Event()
    slow_done = threading.Event()

    def slow(ctx: ScenarioContext) -> None:
        release.wait(timeout=30)
        slow_done.set()

    def interrupted(ctx: ScenarioContext) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(scenarios_module.SCENARIOS, "slow", ScenarioSpec.of("slow", slow))
    monkeypatch.setitem(scenarios_module.SCENARIOS, "ctrl-c",
                        ScenarioSpec.of("ctrl-c", interrupted))
    try:
        with pytest.raises(KeyboardInterrupt):
            run_contract_parallel(load_contract(CONTRACT), _env(tmp_path),
                                  names=["slow", "ctrl-c"], seed=7)
        assert not slow_done.is_set(), "the run waited for the slow scenario to finish"
    finally:
        release.set()
