"""pytest entry point for consumer contracts: ``--kafka-contracts``, the
``kafka_contract`` marker and the ``verify_contract`` fixture (see
:mod:`pytest_kafka_patterns.contracts.pytest_items`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import parts
from .contracts import pytest_items
from .contracts.pytest_items import Verify


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup(*parts.OPTION_GROUP)  # titled, whichever part adds options first
    pytest_items.pytest_addoption(parser)


@pytest.hookimpl(trylast=True)  # after the core has resolved the settings
def pytest_configure(config: pytest.Config) -> None:
    parts.require_core(config, "kafka_patterns_contracts")
    pytest_items.pytest_configure(config)


pytest_collect_file = pytest_items.pytest_collect_file


@pytest.fixture
def verify_contract(request: pytest.FixtureRequest) -> Iterator[Verify]:
    """Run a contract's fault scenarios; see :func:`pytest_items.verify_contract_fixture`."""
    yield from pytest_items.verify_contract_fixture(request)
