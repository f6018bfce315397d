"""One consumer's full contract run: the harness's group settings vs the broker's defaults.

    python benchmarks/contract_waits.py [--repeat 3] [CONTRACT]   # default: the email one

Starts an embedded (Tansu) broker and a redis-server process, then runs every scenario
of one contract ``--repeat`` times with each of two consumer settings, interleaved (so a
busy machine slows both alike):

* ``broker defaults``: the broker's ``consumer_defaults`` (embedded: 2 s session, 0.3 s
  heartbeat, kafka-python's 5 s auto-commit), which the harness used before issue 14;
* ``contract settings``: :func:`~pytest_kafka_patterns.contracts.harness.contract_consumer_settings`
  (embedded: 1 s session, Tansu's join step; 0.2 s heartbeat; auto-commit as often).

The waits that were fixed constants (stall 3 s, DLQ 8 s, settle 0.3 s; the network cut is
the session + 1 s) now follow these settings or a condition, so the ``broker defaults``
row is today's harness with the old group settings, not the old harness: for the old
harness, run this script against an older checkout (it then has only that row).

Prints seconds per scenario (median, min, max over the repeats), per run, and the ratio
of the two (medians of the per-repeat ratios). The target (issue 14) is 15 s for a whole
run on the embedded broker. Run from the project root (the runners import ``examples``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from contract_services import contract_services

from pytest_kafka_patterns.backends.base import KafkaBroker
from pytest_kafka_patterns.contracts import load_contract
from pytest_kafka_patterns.contracts.scenarios import run_contract, scenario_names

TARGET_SECONDS = 15.0
DEFAULT_CONTRACT = Path("examples/contracts/email_service.contract.yaml")


def legs() -> dict[str, Callable[[KafkaBroker], Mapping[str, Any]]]:
    """The consumer settings to compare, by name (one leg on a checkout before issue 14)."""
    found: dict[str, Callable[[KafkaBroker], Mapping[str, Any]]] = {
        "broker defaults": lambda broker: dict(broker.consumer_defaults),
    }
    try:
        from pytest_kafka_patterns.contracts.harness import contract_consumer_settings
    except ImportError:  # an older checkout
        return found
    found["contract settings"] = contract_consumer_settings
    return found


def row(name: str, samples: list[float]) -> str:
    return (f"  {name:<30} {statistics.median(samples):>8.1f} {min(samples):>8.1f} "
            f"{max(samples):>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contract", nargs="?", type=Path, default=DEFAULT_CONTRACT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path.cwd()))
    contract = load_contract(args.contract)
    names = scenario_names(contract)
    failures = 0
    with contract_services("bench-contract-waits-") as services:
        settings = {leg: make(services.broker) for leg, make in legs().items()}
        # seconds[leg][scenario] over the repeats; "ALL" is the whole run
        seconds: dict[str, dict[str, list[float]]] = {
            leg: {name: [] for name in [*names, "ALL"]} for leg in settings
        }
        for repeat in range(args.repeat):
            for leg, consumer in settings.items():
                env = services.env(consumer, f"scenarios-{repeat}")
                results = run_contract(contract, env, names=names)
                for result in results:
                    seconds[leg][result.scenario].append(result.seconds)
                    if not result.passed:
                        failures += 1
                        print(result.report())
                total = sum(result.seconds for result in results)
                seconds[leg]["ALL"].append(total)
                print(f"repeat {repeat + 1}: {leg}: {total:.1f} s", flush=True)

    print(f"\n{contract.name}: seconds per scenario (n={args.repeat})")
    for leg, consumer in settings.items():
        print(f"\n{leg}: {dict(consumer)}\n  {'':<30} {'median':>8} {'min':>8} {'max':>8}")
        for name, samples in seconds[leg].items():
            print(row(name, samples))
    if len(settings) == 2:
        old, new = (seconds[leg]["ALL"] for leg in settings)
        ratios = [before / after for before, after in zip(old, new, strict=True)]
        print(f"\nbroker defaults / contract settings, whole run: "
              f"{statistics.median(ratios):.2f}x (range {min(ratios):.2f}-{max(ratios):.2f})")
    best = statistics.median(seconds[list(settings)[-1]]["ALL"])
    verdict = "ok" if best <= TARGET_SECONDS else f"over the {TARGET_SECONDS:g} s target"
    print(f"{list(settings)[-1]}: {best:.1f} s a run, {verdict}")
    if failures:
        raise SystemExit(f"{failures} scenario(s) failed")


if __name__ == "__main__":
    main()
