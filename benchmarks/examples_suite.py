"""Wall time of the examples suite (``examples/tests``), one after another and under xdist.

    python benchmarks/examples_suite.py [--repeat 2] [--workers 0,2,4] [--backend embedded]

Runs ``pytest examples/tests`` as a user would (a fresh interpreter each time, bytecode
caching on as in CI), in interleaved rounds: ``-n 0`` (one process, the baseline) and
``-n N`` for each N given, on one backend (``embedded`` by default; ``apache`` needs Java
17 and mvn or a filled jar cache). Prints the median and range of each, the ratio to the
baseline, the machine's load average at each run (the figures move with it), and any run
that did not pass. The target (issue 14) is 16 s on the default backend.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

TARGET_SECONDS = 16.0


def run(workers: int, backend: str) -> tuple[float, str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTEST_KAFKA_BACKEND"] = backend
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "examples/tests", "-q", "-p", "no:cacheprovider",
         "-n", str(workers)], env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    return seconds, ("" if done.returncode == 0 else last), os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", default="0,2,4")
    parser.add_argument("--backend", default="embedded")
    args = parser.parse_args()
    modes = [int(n) for n in args.workers.split(",")]
    if 0 not in modes:
        modes.insert(0, 0)
    seconds: dict[int, list[float]] = {n: [] for n in modes}
    loads: dict[int, list[float]] = {n: [] for n in modes}
    for _ in range(args.repeat):
        for n in modes:
            wall, failure, load = run(n, args.backend)
            seconds[n].append(wall)
            loads[n].append(load)
            if failure:
                print(f"  -n {n}: FAILED: {failure}")
    baseline = statistics.median(seconds[0])
    print(f"examples suite on {args.backend}   median s   range        ratio  load  "
          f"(n={args.repeat})")
    for n in modes:
        values = seconds[n]
        median = statistics.median(values)
        label = "one process (-n 0)" if n == 0 else f"xdist -n {n}"
        verdict = "ok" if median <= TARGET_SECONDS else f"over {TARGET_SECONDS:g} s"
        print(f"  {label:<24} {median:>8.1f}   {min(values):>5.1f}-{max(values):<5.1f}  "
              f"{median / baseline:>5.2f}  {statistics.median(loads[n]):>4.1f}  {verdict}")


if __name__ == "__main__":
    main()
