"""Wall time of a full contract run per consumer: every scenario, N crash points.

    python benchmarks/contracts.py [--repeat 1] [--sequential-only] [CONTRACT ...]

Starts an embedded (Tansu) broker and a redis-server process, then runs every scenario
of each contract (default: all of ``examples/contracts``) ``--repeat`` times, as
``pytest --kafka-contracts`` would, and prints seconds per scenario and per consumer
(median over the repeats): one after another (the baseline: the sum of the scenarios),
then, in the same round, side by side (``contracts.parallel.run_contract_parallel``, a
thread per scenario: its wall time). The target is 15 s per consumer (issue 14; 20
events, N = 5 crash points). No peer tool verifies consumer contracts under faults, so
there is no peer row. Both ways must give every scenario the same verdict; a scenario
that fails either way is reported. Run from the project root (the runners import
``examples``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from contract_services import contract_services

from pytest_kafka_patterns.contracts import load_contract
from pytest_kafka_patterns.contracts.harness import contract_consumer_settings
from pytest_kafka_patterns.contracts.parallel import run_contract_parallel
from pytest_kafka_patterns.contracts.scenarios import run_contract, scenario_names

TARGET_SECONDS = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contracts", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--sequential-only", action="store_true",
                        help="only the one-after-another run (the old behaviour)")
    args = parser.parse_args()
    paths = args.contracts or sorted(Path("examples/contracts").glob("*.contract.*"))
    sys.path.insert(0, str(Path.cwd()))
    failures = 0
    with contract_services("bench-contracts-") as services:
        env = services.env(contract_consumer_settings(services.broker), "scenarios")
        print(f"{'consumer':<22} {'scenario':<11} {'seq s':>7} {'par s':>7}  (n={args.repeat})")
        for path in paths:
            contract = load_contract(path)
            names = scenario_names(contract)
            seconds: dict[str, list[float]] = {name: [] for name in names}
            in_parallel: dict[str, list[float]] = {name: [] for name in names}
            walls: list[float] = []
            for _ in range(args.repeat):
                verdicts: dict[str, list[bool]] = {name: [] for name in names}
                for result in run_contract(contract, env, names=names):
                    seconds[result.scenario].append(result.seconds)
                    verdicts[result.scenario].append(result.passed)
                    if not result.passed:
                        failures += 1
                        print(result.report())
                if args.sequential_only:
                    continue
                started = time.monotonic()
                results = run_contract_parallel(contract, env, names=names)
                walls.append(time.monotonic() - started)
                for result in results:
                    in_parallel[result.scenario].append(result.seconds)
                    verdicts[result.scenario].append(result.passed)
                    if not result.passed:
                        failures += 1
                        print("(side by side)", result.report())
                for name, both in verdicts.items():
                    if len(set(both)) > 1:
                        print(f"{contract.name} {name}: verdicts differ: {both}")
            for name in names:
                par = (f"{statistics.median(in_parallel[name]):>7.1f}"
                       if in_parallel[name] else f"{'-':>7}")
                print(f"{contract.name:<22} {name:<11} {statistics.median(seconds[name]):>7.1f} "
                      f"{par}")
            total = sum(statistics.median(values) for values in seconds.values())
            line = f"{contract.name:<22} {'ALL':<11} {total:>7.1f}"
            if walls:
                wall = statistics.median(walls)
                verdict = "ok" if wall <= TARGET_SECONDS else f"OVER {TARGET_SECONDS:g} s"
                line += (f" {wall:>7.1f}  side by side {total / wall:.2f}x faster "
                         f"(range {min(walls):.1f}-{max(walls):.1f} s); {verdict}")
            print(line + "\n", flush=True)
    if failures:
        raise SystemExit(f"{failures} scenario(s) failed")


if __name__ == "__main__":
    main()
