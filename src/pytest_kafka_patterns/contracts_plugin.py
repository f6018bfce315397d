"""pytest entry point for consumer contracts: ``--kafka-contracts``, the
``kafka_contract`` marker and the ``verify_contract`` fixture (see
:mod:`pytest_kafka_patterns.contracts.pytest_items`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .contracts import pytest_items
from .contracts.pytest_items import Verify

pytest_addoption = pytest_items.pytest_addoption
pytest_configure = pytest_items.pytest_configure
pytest_collect_file = pytest_items.pytest_collect_file


@pytest.fixture
def verify_contract(request: pytest.FixtureRequest) -> Iterator[Verify]:
    """Run a contract's fault scenarios; see :func:`pytest_items.verify_contract_fixture`."""
    yield from pytest_items.verify_contract_fixture(request)
