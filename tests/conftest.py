"""Shared helpers for the plugin's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.runs import LOCAL_BACKENDS, ProcessMark


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
