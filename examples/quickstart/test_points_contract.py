"""Verify a consumer of your own against its contract, from a test.

The whole contract (all five fault scenarios, ~45 s) is one line in CI:
``pytest --kafka-contracts examples/quickstart``. Here, a quick subset.
"""

from __future__ import annotations

import pytest


@pytest.mark.kafka_contract("points.contract.yaml")
def test_points_are_awarded_once_per_order_despite_duplicates(verify_contract, redis_client):
    verify_contract(scenarios=["duplicates"])  # AssertionError with seed + timeline if broken
