"""An xdist worker freezes its heap as it ends (issue 14: ~1 s off every xdist run)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from pytest_kafka_patterns import plugin


@pytest.fixture
def frozen_count() -> Iterator[int]:
    before = gc.get_freeze_count()
    yield before
    gc.unfreeze()  # the objects go back to the oldest generation, as before the test


def test_an_xdist_worker_freezes_its_heap_at_its_end(frozen_count: int) -> None:
    worker = SimpleNamespace(workerinput={"workerid": "gw0"})
    plugin.pytest_unconfigure(worker)  # type: ignore[arg-type]
    assert gc.get_freeze_count() > frozen_count


def test_the_controller_and_a_plain_run_collect_at_exit_as_usual(frozen_count: int) -> None:
    plugin.pytest_unconfigure(SimpleNamespace())  # type: ignore[arg-type]
    assert gc.get_freeze_count() == frozen_count
