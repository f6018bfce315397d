"""Machine-readable contract reports for CI: one JSON file per contract run.

Each contract scenario item carries what the report needs in ``item.user_properties``
(pytest's way to get data from a test to the process that reports, through xdist too):
``kafka_contract`` (the contract's name, file and consumer, set at collection) and, once
the scenario ran, ``kafka_contract_result`` (seed, fault timeline, assertion message,
duration, the broker's backend). The controller (:class:`ReportWriter`, fed by
``pytest_runtest_logreport``) writes ``DIR/<contract name>.json`` at the end of the session::

    {"contract": "payments-ledger", "file": "examples/contracts/payments_ledger.contract.json",
     "consumer": "examples.contracts.runners:payments_ledger", "backend": "embedded",
     "outcome": "passed", "seconds": 61.2,
     "scenarios": [{"name": "crash", "seed": 5, "outcome": "passed", "seconds": 12.0,
                    "timeline": [{"at": 0.05, "entry": "produced 20 event(s) ..."}, ...],
                    "assertion": null, "notes": []}, ...]}

``outcome`` per scenario: ``passed``, ``failed`` (the guarantee did not hold),
``error`` (the scenario could not run: a bad event source, a broker that did not start)
or ``skipped``; the contract's is the worst of its scenarios'. Light on purpose (standard
library only): the plugin imports it in every run that asks for a report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: ``item.user_properties`` names (values are JSON text, so JUnit XML shows them as is).
ITEM_PROPERTY = "kafka_contract"
RESULT_PROPERTY = "kafka_contract_result"
#: Worst first: a contract's outcome is the first of these any scenario has.
OUTCOMES = ("error", "failed", "passed", "skipped")
_ENTRY = re.compile(r"^\s*(-?[\d.]+)s  (.*)$", re.DOTALL)


def item_property(name: str, file: Path | str | None, consumer: str,
                  scenario: str) -> tuple[str, str]:
    """The ``kafka_contract`` user property of one scenario item."""
    return ITEM_PROPERTY, json.dumps({"contract": name, "file": str(file) if file else None,
                                      "consumer": consumer, "scenario": scenario})


def result_property(result: Any, backend: str | None) -> tuple[str, str]:
    """The ``kafka_contract_result`` user property of a :class:`~.context.ScenarioResult`."""
    return RESULT_PROPERTY, json.dumps({
        "seed": result.seed,
        "passed": result.passed,
        "seconds": round(result.seconds, 3),
        "timeline": [timeline_entry(text) for text in result.timeline],
        "assertion": result.error,
        "notes": list(result.notes),
        "backend": backend,
    })


def timeline_entry(text: str) -> dict[str, Any]:
    """``"  1.25s  started consumer #1"`` -> ``{"at": 1.25, "entry": "started consumer #1"}``."""
    found = _ENTRY.match(text)
    if found is None:
        return {"at": None, "entry": text}
    return {"at": float(found.group(1)), "entry": found.group(2)}


def _properties(pairs: Iterable[tuple[str, object]]) -> dict[str, Any]:
    found = {}
    for name, value in pairs:
        if name in (ITEM_PROPERTY, RESULT_PROPERTY) and isinstance(value, str):
            found[name] = json.loads(value)
    return found


class ReportWriter:
    """Collects the scenario items' reports (on the controller under xdist) and writes
    one JSON file per contract."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.scenarios: dict[str, dict[str, Any]] = {}
        """nodeid -> the scenario's entry, with ``_contract`` (the item property)."""
        self.written: list[Path] = []

    def add(self, report: Any) -> None:
        """Take one ``pytest.TestReport`` (setup, call or teardown phase)."""
        found = _properties(report.user_properties)
        item = found.get(ITEM_PROPERTY)
        if item is None:
            return
        entry = self.scenarios.setdefault(report.nodeid, {
            "name": item["scenario"], "seed": None, "outcome": "passed", "seconds": 0.0,
            "timeline": [], "assertion": None, "notes": [], "_contract": item,
            "_backend": None,
        })
        result = found.get(RESULT_PROPERTY)
        if result is not None:
            entry.update(seed=result["seed"], timeline=result["timeline"],
                         assertion=result["assertion"], notes=result["notes"],
                         seconds=result["seconds"], _backend=result["backend"])
        elif report.when == "call":
            entry["seconds"] = round(float(report.duration), 3)
        entry["outcome"] = _worse(entry["outcome"], _outcome(report, result))
        if entry["assertion"] is None and entry["outcome"] == "error":
            entry["assertion"] = str(report.longrepr)

    def contracts(self) -> dict[str, dict[str, Any]]:
        """Contract name -> its report (see the module docstring)."""
        out: dict[str, dict[str, Any]] = {}
        for entry in self.scenarios.values():
            item = entry["_contract"]
            contract = out.setdefault(item["contract"], {
                "contract": item["contract"], "file": item["file"],
                "consumer": item["consumer"], "backend": None, "outcome": "skipped",
                "seconds": 0.0, "scenarios": [],
            })
            contract["backend"] = contract["backend"] or entry["_backend"]
            contract["scenarios"].append({k: v for k, v in entry.items()
                                          if not k.startswith("_")})
        for contract in out.values():
            outcomes = [scenario["outcome"] for scenario in contract["scenarios"]]
            contract["outcome"] = min(outcomes, key=OUTCOMES.index)
            contract["seconds"] = round(sum(s["seconds"] for s in contract["scenarios"]), 3)
        return out

    # pytest hooks (the writer is registered as a plugin on the reporting process)
    def pytest_runtest_logreport(self, report: Any) -> None:
        self.add(report)

    def pytest_sessionfinish(self, session: Any) -> None:
        self.written = self.write() if self.scenarios else []

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for path in self.written:
            terminalreporter.write_line(f"contract report: {path}")

    def write(self) -> list[Path]:
        """Write ``<contract name>.json`` per contract; return the paths."""
        self.directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, contract in sorted(self.contracts().items()):
            path = self.directory / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.json"
            path.write_text(json.dumps(contract, indent=2) + "\n", encoding="utf-8")
            written.append(path)
        return written


def _outcome(report: Any, result: Mapping[str, Any] | None) -> str:
    if report.skipped:
        return "skipped"
    if report.passed:
        return "passed"
    if report.when == "call" and result is not None and not result["passed"]:
        return "failed"
    return "error"


def _worse(a: str, b: str) -> str:
    if a == "skipped" or b == "skipped":  # a skipped setup has no call phase
        return "skipped" if "error" not in (a, b) else "error"
    return min(a, b, key=OUTCOMES.index)
