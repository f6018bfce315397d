"""Shared helpers for the plugin's own tests."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from importlib import import_module

import pytest

from pytest_kafka_patterns._kafka_quiet import import_kafka
from pytest_kafka_patterns.backends.apache import cache_root as apache_cache_root
from pytest_kafka_patterns.config import KafkaSettings
from tests.reliability.runs import LOCAL_BACKENDS, InnerRun, ProcessMark

# pytester's in-process runs drop, when they end, every module first imported during the
# run. The plugin imports kafka-python, redis and factory-boy only when a test needs them
# (issue 14), so each inner run would import them afresh, beside the copies this process
# already holds: two ``NewTopic`` classes, and kafka-python rejects the "wrong" one. Import
# them once here, for every inner run to share.
import_kafka()

# pytester points HOME at each inner run's temp dir; the apache backend's jar cache
# (default ~/.cache/...) would then be fetched again for every inner run. Pin it here,
# where HOME is still the user's.
os.environ.setdefault(
    "PYTEST_KAFKA_CACHE_DIR", str(apache_cache_root(KafkaSettings(), os.environ))
)

for _module in ("redis", "pytest_kafka_patterns.topics", "pytest_kafka_patterns.clients",
                "pytest_kafka_patterns.reading", "pytest_kafka_patterns.factories"):
    # A tox env with one extra (py311-avro) lacks the others' packages: nothing to share.
    with contextlib.suppress(ImportError):
        import_module(_module)


@pytest.fixture
def local_backends() -> tuple[str, ...]:
    """Command-line flags that pin an inner pytest run to the local, process backends."""
    return LOCAL_BACKENDS


@pytest.fixture
def process_mark(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessMark]:
    mark = ProcessMark()
    monkeypatch.setenv("KP_TEST_MARK", mark.mark)
    yield mark
    for process in mark.alive():
        process.kill()


@pytest.fixture
def runs(process_mark: ProcessMark) -> Iterator[list[InnerRun]]:
    """Inner pytest runs a test started (append them); any still running is killed after
    the test, and everything carrying the test's process mark with them."""
    started: list[InnerRun] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()
