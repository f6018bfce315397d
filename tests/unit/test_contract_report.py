"""The contract report's logic on pytest's report objects (the integration test,
tests/integration/test_contract_report.py, runs it under pytest and xdist)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from pytest_kafka_patterns.contracts.context import ScenarioResult
from pytest_kafka_patterns.contracts.report import (
    ReportWriter,
    item_property,
    result_property,
    timeline_entry,
)


def report(nodeid, when, outcome, *properties, duration=0.5, longrepr=None):
    return SimpleNamespace(nodeid=nodeid, when=when, passed=outcome == "passed",
                           failed=outcome == "failed", skipped=outcome == "skipped",
                           duration=duration, longrepr=longrepr,
                           user_properties=list(properties))


def test_outcomes_per_scenario_and_contract(tmp_path):
    writer = ReportWriter(tmp_path)
    item = {name: item_property("c", "c.contract.json", "m:f", name)
            for name in ("crash", "poison", "network", "rebalance")}
    failed = ScenarioResult("c", "poison", 7, ["  0.10s  produced 2", "  1.50s  stopped"],
                            2.0, error="assert_delivered: 1 of 2 expected event(s) missing")
    passed = ScenarioResult("c", "crash", 7, ["  0.20s  started consumer #1"], 3.0)
    for phase in ("setup", "call", "teardown"):
        extra = [result_property(passed, "embedded")] if phase == "call" else []
        writer.add(report("c::crash", phase, "passed", item["crash"], *extra))
    writer.add(report("c::poison", "setup", "passed", item["poison"]))
    writer.add(report("c::poison", "call", "failed", item["poison"],
                      result_property(failed, "embedded")))
    writer.add(report("c::network", "setup", "failed", item["network"],
                      longrepr="redis_server did not start"))
    writer.add(report("c::rebalance", "setup", "skipped", item["rebalance"]))
    writer.add(report("other::test", "call", "passed", ("unrelated", "x")))
    [path] = writer.write()
    got = json.loads(path.read_text())
    assert (got["contract"], got["file"], got["consumer"], got["backend"]) == (
        "c", "c.contract.json", "m:f", "embedded")
    by_name = {s["name"]: s for s in got["scenarios"]}
    assert {name: s["outcome"] for name, s in by_name.items()} == {
        "crash": "passed", "poison": "failed", "network": "error", "rebalance": "skipped"}
    assert got["outcome"] == "error"
    assert by_name["poison"]["assertion"].startswith("assert_delivered: 1 of 2")
    assert by_name["poison"]["timeline"] == [{"at": 0.1, "entry": "produced 2"},
                                             {"at": 1.5, "entry": "stopped"}]
    assert by_name["network"]["assertion"] == "redis_server did not start"
    assert by_name["crash"]["seed"] == 7 and by_name["crash"]["seconds"] == 3.0
    assert got["seconds"] == 5.0 + 0.0 + 0.0  # crash + poison; the others never ran


def test_timeline_entries_keep_multiline_text():
    assert timeline_entry("  3.25s  log tail:\nboom") == {"at": 3.25, "entry": "log tail:\nboom"}
    assert timeline_entry("no time") == {"at": None, "entry": "no time"}
