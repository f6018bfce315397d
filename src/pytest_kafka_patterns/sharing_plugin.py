"""Hooks that keep a run's processes apart from other runs', and its workers in step.

Registered by :mod:`pytest_kafka_patterns.plugin` from ``pytest_configure``.
"""

from __future__ import annotations

import pytest

from . import fixtures, runstate


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist controller: hand each worker this run's key and the controller's identity."""
    workerinput = getattr(node, "workerinput", None)
    config = getattr(node, "config", None)
    if isinstance(workerinput, dict) and isinstance(config, pytest.Config):
        workerinput[runstate.WORKERINPUT_KEY] = runstate.of(config).for_workers()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a test at once when a shared service it needs died with the worker that ran it."""
    fixtures.check_shared_owners(item)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    runstate.unconfigure(config)
