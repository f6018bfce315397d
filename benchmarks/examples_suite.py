"""Wall time of the examples suite (what ``./install.sh`` runs), in one process and under xdist.

    python benchmarks/examples_suite.py [--repeat 3] [--backend embedded]
        [--modes "-n 0;-n 4;-n 6 -p no:hypothesispytest"] [--path examples]

Runs ``pytest examples`` as a user would (a fresh interpreter each time, bytecode
caching on as in CI), in interleaved rounds, once per mode (extra pytest arguments;
modes are separated by ``;``): the first mode is the baseline (one process), the last
is ``./install.sh``'s own, the others are for comparison (``-n 4`` is what
``./install.sh`` ran before issue 14's last changes). One backend (``embedded`` by
default; ``apache`` needs Java 17 and mvn or a filled jar cache). Prints the median and
range of each mode, the ratio to the baseline, the machine's load average at each run
(the figures move with it) and any run that did not pass. The target (issue 14) is
16 s on the default backend.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time

TARGET_SECONDS = 16.0
INSTALL_SH = "-n 6 -p no:hypothesispytest"
DEFAULT_MODES = f"-n 0;-n 4;{INSTALL_SH}"


def run(mode: str, backend: str, path: str) -> tuple[float, str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTEST_KAFKA_BACKEND"] = backend
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider",
         "--redis-backend=process", *shlex.split(mode)],
        env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    return seconds, ("" if done.returncode == 0 else last), os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default=DEFAULT_MODES)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--path", default="examples")
    args = parser.parse_args()
    modes = [mode.strip() for mode in args.modes.split(";") if mode.strip()]
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    loads: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(args.repeat):
        for mode in modes:
            wall, failure, load = run(mode, args.backend, args.path)
            seconds[mode].append(wall)
            loads[mode].append(load)
            if failure:
                print(f"  {mode}: FAILED: {failure}")
    baseline = statistics.median(seconds[modes[0]])
    print(f"pytest {args.path} on {args.backend}   median s   range        ratio  load  "
          f"(n={args.repeat}; baseline: {modes[0]})")
    for mode in modes:
        values = seconds[mode]
        median = statistics.median(values)
        label = mode + ("  (install.sh)" if mode == INSTALL_SH else "")
        verdict = "ok" if median <= TARGET_SECONDS else f"over {TARGET_SECONDS:g} s"
        print(f"  {label:<42} {median:>6.1f}   {min(values):>5.1f}-{max(values):<5.1f}  "
              f"{median / baseline:>5.2f}  {statistics.median(loads[mode]):>4.1f}  {verdict}")


if __name__ == "__main__":
    main()
