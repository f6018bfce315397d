"""Seconds to make a contract's events, per source: generated from JSON Schemas with
hypothesis-jsonschema (in a fresh interpreter, see contracts.sources.generate_events)
against the guide's order factories (the baseline) in the same run.

    python benchmarks/generate_events.py [--repeat 3] [--counts 20 200]

Prints the median and range per source and count, and the ratio to the baseline.
Run from the project root.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from pytest_kafka_patterns.contracts import load_contract
from pytest_kafka_patterns.contracts.sources import contract_events

CONTRACTS = Path("examples/contracts")


def seconds(contract: object, count: int, seed: int) -> float:
    started = time.perf_counter()
    contract_events(contract, random.Random(seed), count)  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--counts", type=int, nargs="*", default=[20, 200])
    args = parser.parse_args()
    sources = {
        "orders (baseline)": load_contract(CONTRACTS / "email_service.contract.yaml"),
        "generate (payments)": load_contract(CONTRACTS / "payments_ledger.contract.json"),
    }
    print(f"{'source':<22} {'events':>6} {'median s':>9} {'range':>15} {'x baseline':>11}")
    for count in args.counts:
        times: dict[str, list[float]] = {name: [] for name in sources}
        for run in range(args.repeat):  # interleaved
            for name, contract in sources.items():
                times[name].append(seconds(contract, count, run))
        base = statistics.median(times["orders (baseline)"])
        for name, values in times.items():
            median = statistics.median(values)
            spread = f"{min(values):.3f}-{max(values):.3f}"
            print(f"{name:<22} {count:>6} {median:>9.3f} {spread:>15} {median / base:>11.0f}")


if __name__ == "__main__":
    main()
