"""What the plugin costs a pytest run that uses no Kafka fixture (issue 14).

    python benchmarks/plugin_overhead.py [--rounds 9]

Each round runs the same one-test file (``def test_x(): pass``, ``-p no:cacheprovider``)
twice, in a fresh interpreter each time: once with the plugin disabled
(``-p no:kafka_patterns``, the baseline) and once with it, in alternating order so that
the machine's load falls on both alike. Prints every round, then the median and range of
each and of their ratio (target: ratio <= 1.3).

Other installed pytest plugins (pytest-asyncio, xdist, hypothesis, Faker's) load in both
runs: the ratio is what this plugin adds to a run in this environment.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.3
BASE_FLAGS = ["-q", "-p", "no:cacheprovider"]


def timed_run(directory: Path, *flags: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", *BASE_FLAGS, *flags, "test_trivial.py"],
        cwd=directory, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def spread(samples: list[float]) -> str:
    return (f"median {statistics.median(samples):.3f}  "
            f"range {min(samples):.3f}-{max(samples):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    rounds = max(1, parser.parse_args().rounds)
    with tempfile.TemporaryDirectory(prefix="plugin-overhead-") as tmp:
        directory = Path(tmp)
        (directory / "test_trivial.py").write_text("def test_x():\n    pass\n")
        (directory / "pytest.ini").write_text("[pytest]\n")  # no rootdir search upwards
        timed_run(directory)  # warm the file system cache and the .pyc files
        timed_run(directory, "-p", "no:kafka_patterns")
        baseline: list[float] = []
        plugin: list[float] = []
        ratios: list[float] = []
        print(f"{'round':>5} {'disabled s':>11} {'plugin s':>9} {'ratio':>6}")
        for index in range(rounds):
            if index % 2:
                with_plugin = timed_run(directory)
                without = timed_run(directory, "-p", "no:kafka_patterns")
            else:
                without = timed_run(directory, "-p", "no:kafka_patterns")
                with_plugin = timed_run(directory)
            baseline.append(without)
            plugin.append(with_plugin)
            ratios.append(with_plugin / without)
            print(f"{index + 1:>5} {without:>11.3f} {with_plugin:>9.3f} {ratios[-1]:>6.2f}")
    print()
    print(f"plugin disabled (-p no:kafka_patterns): {spread(baseline)} s")
    print(f"plugin enabled:                         {spread(plugin)} s")
    print(f"ratio (same round):                     median {statistics.median(ratios):.2f}  "
          f"range {min(ratios):.2f}-{max(ratios):.2f}  (target <= {TARGET})")
    print(f"ratio of medians:                       "
          f"{statistics.median(plugin) / statistics.median(baseline):.2f}")


if __name__ == "__main__":
    main()
