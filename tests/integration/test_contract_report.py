"""``--kafka-contracts-report DIR``: one JSON file per contract run, with and without
xdist (scenarios of one contract on different workers), JUnit XML still written."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "examples" / "contracts" / "payments_ledger.contract.json"


def small_contract(name: str, consumer: str, scenarios: list[str]) -> dict:
    document = json.loads(LEDGER.read_text())
    document["name"] = name
    document["consumer"] = {"callable": f"examples.contracts.runners:{consumer}"}
    document["schemas"] = {kind: str((LEDGER.parent / path).resolve())
                           for kind, path in document["schemas"].items()}
    document["faults"] = {"events": 8, "crash_points": 1, "poison": 1, "seed": 3,
                          "scenarios": scenarios}
    return document


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_report_per_contract_and_junit(pytester, monkeypatch, local_backends, xdist):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    contracts = pytester.mkdir("contracts")
    (contracts / "ledger.contract.json").write_text(json.dumps(
        small_contract("ledger", "payments_ledger", ["duplicates", "poison"])))
    (contracts / "naive.contract.json").write_text(json.dumps(
        small_contract("naive-ledger", "naive_payments_ledger", ["duplicates"])))
    result = pytester.runpytest_subprocess(
        "--kafka-contracts", str(contracts), "--kafka-contracts-report", "reports",
        "--junitxml", "junit.xml", "-p", "no:cacheprovider", *local_backends, *xdist)
    result.assert_outcomes(passed=2, failed=1)

    reports = pytester.path / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["ledger.json", "naive-ledger.json"]
    good = json.loads((reports / "ledger.json").read_text())
    assert good["contract"] == "ledger"
    assert good["file"] == "contracts/ledger.contract.json"  # relative to the rootdir
    assert good["consumer"] == "examples.contracts.runners:payments_ledger"
    assert good["backend"] == "embedded"
    assert good["outcome"] == "passed"
    # under xdist in the order they finished
    assert sorted(s["name"] for s in good["scenarios"]) == ["duplicates", "poison"]
    for scenario in good["scenarios"]:
        assert scenario["outcome"] == "passed"
        assert scenario["seed"] == 3
        assert scenario["assertion"] is None
        assert scenario["seconds"] > 0
        assert scenario["timeline"][0]["at"] >= 0
        assert any("started consumer #1" in entry["entry"] for entry in scenario["timeline"])
    poison = next(s for s in good["scenarios"] if s["name"] == "poison")
    assert any(e["entry"].startswith("poisoned 1 event(s)") for e in poison["timeline"])

    bad = json.loads((reports / "naive-ledger.json").read_text())
    assert bad["outcome"] == "failed"
    [scenario] = bad["scenarios"]
    assert scenario["outcome"] == "failed"
    assert "assert_exactly_once_effect" in scenario["assertion"]
    assert "with more than one" in scenario["assertion"]

    cases = list(ET.parse(pytester.path / "junit.xml").getroot().iter("testcase"))
    assert sorted(case.get("name") for case in cases) == ["duplicates", "duplicates", "poison"]
    [failed] = [case for case in cases if case.find("failure") is not None]
    assert "naive" in failed.get("classname")
    assert "assert_exactly_once_effect" in failed.find("failure").text
