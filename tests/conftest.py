"""Shared helpers for the plugin's own tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psutil
import pytest

#: Inner pytest runs get these, so they use the embedded broker and a redis process
#: whatever the outer run uses (the docker job sets other defaults in the environment).
LOCAL_BACKENDS = ("--kafka-backend=embedded", "--redis-backend=process")


@pytest.fixture
def local_backends() -> tuple[str, ...]:
    """Command-line flags that pin an inner pytest run to the local, process backends."""
    return LOCAL_BACKENDS


def processes_marked(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``KP_TEST_MARK=mark``."""
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if (
                process.environ().get("KP_TEST_MARK") == mark
                and process.pid != os.getpid()
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


class ProcessMark:
    """A marker put in the environment, so we can find every process a run started."""

    def __init__(self) -> None:
        self.mark = uuid.uuid4().hex

    def alive(self) -> list[psutil.Process]:
        return processes_marked(self.mark)


@pytest.fixture
def process_mark(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessMark]:
    mark = ProcessMark()
    monkeypatch.setenv("KP_TEST_MARK", mark.mark)
    yield mark
    for process in mark.alive():
        process.kill()
