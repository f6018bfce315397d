"""Wall time of a full contract run per consumer: every scenario, N crash points.

    python benchmarks/contracts.py [--repeat 1] [examples/contracts/*.contract.*]

Starts an embedded (Tansu) broker and a redis-server process, then runs every scenario
of each contract (default: all of ``examples/contracts``) ``--repeat`` times, as
``pytest --kafka-contracts`` would, and prints seconds per scenario and per consumer
(median over the repeats). The target is 15 s per consumer (issue 14; 20 events, N = 5 crash
points). No peer tool verifies consumer contracts under faults, so there is no peer row.
Run from the project root (the runners import ``examples``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from contract_services import contract_services

from pytest_kafka_patterns.contracts import load_contract
from pytest_kafka_patterns.contracts.harness import contract_consumer_settings
from pytest_kafka_patterns.contracts.scenarios import run_contract, scenario_names

TARGET_SECONDS = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contracts", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    paths = args.contracts or sorted(Path("examples/contracts").glob("*.contract.*"))
    sys.path.insert(0, str(Path.cwd()))
    failures = 0
    with contract_services("bench-contracts-") as services:
        env = services.env(contract_consumer_settings(services.broker), "scenarios")
        print(f"{'consumer':<22} {'scenario':<11} {'median s':>9}  (n={args.repeat})")
        for path in paths:
            contract = load_contract(path)
            names = scenario_names(contract)
            seconds: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(args.repeat):
                for result in run_contract(contract, env, names=names):
                    seconds[result.scenario].append(result.seconds)
                    if not result.passed:
                        failures += 1
                        print(result.report())
            for name in names:
                print(f"{contract.name:<22} {name:<11} {statistics.median(seconds[name]):>9.1f}")
            total = sum(statistics.median(values) for values in seconds.values())
            verdict = "ok" if total <= TARGET_SECONDS else f"OVER {TARGET_SECONDS:g} s"
            print(f"{contract.name:<22} {'ALL':<11} {total:>9.1f}  {verdict}\n")
    if failures:
        raise SystemExit(f"{failures} scenario(s) failed")


if __name__ == "__main__":
    main()
