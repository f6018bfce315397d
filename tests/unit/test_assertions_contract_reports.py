"""Issue 10 (7): contract reports name what matters (pure logic, no broker)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pytest_kafka_patterns.contracts import load_contract, scenarios
from pytest_kafka_patterns.contracts.scenarios import (
    ScenarioContext,
    ScenarioResult,
    Timeline,
    make_events,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"


def context(effects: list[str]) -> ScenarioContext:
    contract = load_contract(EXAMPLES / "analytics_service.contract.json")  # acts_on created
    rng = random.Random(7)
    ctx = ScenarioContext(
        contract=contract, env=None, harness=None, seed=7, rng=rng,  # type: ignore[arg-type]
        timeline=Timeline(), topic="orders", group_id="g", effects_key="k", redis=None,
        events=make_events(rng, 6),
    )
    ctx.effects = lambda: effects  # type: ignore[method-assign]
    return ctx


def test_effects_outside_acts_on_are_named_by_event_type() -> None:
    ctx = context([])
    created = [str(e["event_id"]) for e in ctx.events if e["event_type"] == "order.created"]
    changed = [str(e["event_id"]) for e in ctx.events if e["event_type"] != "order.created"]
    ctx.effects = lambda: [*created, *changed[:2]]  # type: ignore[method-assign]
    with pytest.raises(AssertionError) as info:
        ctx.check_guarantee()
    message = str(info.value)
    assert message.startswith("assert_exactly_once_effect: 2 effect(s) of no listed event")
    assert ("note: 2 effect(s) of event types outside acts_on (order.created): "
            "order.status_changed x2") in message
    ctx.effects = lambda: created  # type: ignore[method-assign]
    ctx.check_guarantee()


def result(name: str, seconds: float) -> ScenarioResult:
    return ScenarioResult("slowpoke", name, 1, [], seconds)


def test_a_scenario_far_slower_than_the_others_is_noted() -> None:
    scenarios.DURATIONS.pop("slowpoke", None)
    results = [result("duplicates", 6.5), result("crash", 6.9), result("skips", 62.7)]
    scenarios.flag_slow("slowpoke", results)
    assert [bool(r.notes) for r in results] == [False, False, True]
    report = results[2].report()
    assert "scenario 'skips' passed in 62.7 s" in report
    assert ("note: took 62.7 s, 9.4x the median of the contract's other scenarios "
            "(6.7 s over 2)") in report


def test_slowness_is_judged_across_pytest_items_of_one_contract() -> None:
    """pytest runs one scenario per item: compare with those that ran before."""
    scenarios.DURATIONS.pop("slowpoke", None)
    for name, seconds in (("duplicates", 6.5), ("crash", 6.4)):
        scenarios.flag_slow("slowpoke", [result(name, seconds)])
    late = result("poison", 62.7)
    scenarios.flag_slow("slowpoke", [late])
    assert late.notes and "9.7x" in late.notes[0]
    quick = result("rebalance", 12.0)  # 1.8x: slower, not far slower
    scenarios.flag_slow("slowpoke", [quick])
    assert quick.notes == []


def test_a_passing_scenario_with_notes_warns() -> None:
    from pytest_kafka_patterns.contracts.pytest_items import (
        ContractScenarioWarning,
        warn_on_notes,
    )

    noted = result("skips", 62.7)
    noted.notes.append("took 62.7 s")
    with pytest.warns(ContractScenarioWarning, match=r"'skips' passed in 62.7 s, but: took"):
        warn_on_notes([noted, result("crash", 6.5)])


def test_reports_escape_control_codes_from_log_tails() -> None:
    noisy = ScenarioResult("c", "crash", 1, ["  1.00s  log tail:\n\x1b[31mboom\x1b[0m"], 2.0,
                           error="summary=\x00")
    report = noisy.report()
    assert "\x1b" not in report and "\x00" not in report
    assert "log tail:\n\\x1b[31mboom\\x1b[0m" in report


def test_a_wait_that_ran_out_is_noted_on_a_passing_scenario(tmp_path: Path) -> None:
    """A consumer that never finishes its work (say, never commits what it skips) lets the
    wait run to the contract's timeout; the guarantee may hold, the report says so."""
    from pytest_kafka_patterns.contracts.harness import HarnessEnv

    @scenarios.register_scenario("ran-out", applies=lambda contract: False)
    def ran_out(ctx: ScenarioContext) -> None:
        ctx.timeline.add(f"consumer #1 {scenarios.WAIT_RAN_OUT} 30 s")

    try:
        env = HarnessEnv("127.0.0.1:1", "redis://127.0.0.1:1", lambda name, n: name, tmp_path)
        contract = load_contract(EXAMPLES / "analytics_service.contract.json")
        result = scenarios.run_scenario(contract, "ran-out", env, seed=1)
    finally:
        scenarios.SCENARIOS.pop("ran-out")
    assert result.passed
    assert result.notes == ["consumer #1 did not finish the work in 30 s"]
    assert "\nnote: consumer #1 did not finish the work in 30 s\n" in result.report()
