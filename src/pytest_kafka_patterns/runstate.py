"""Which run this process belongs to, and its place in it, from what xdist gives *it*.

A pytest-xdist worker is a process whose config carries ``workerinput``; nothing else
is. Environment variables such as ``PYTEST_XDIST_WORKER`` are inherited by every child,
so a pytest started inside a worker would take itself for that worker and share (and
flush) the outer run's services. The controller adds :data:`WORKERINPUT_KEY` to each
worker's ``workerinput`` (``pytest_configure_node``): a key unique to the controller's
run and the controller's identity, so that the workers of one run, and only they, meet
in one state directory, and know when their controller is gone.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from .liveness import ProcessId

WORKERINPUT_KEY = "kafka_patterns_run"


@dataclass(frozen=True)
class RunState:
    """This process's place in a test run."""

    worker_id: str
    """The xdist worker id (``gw0``...), ``""`` when this process is not an xdist worker."""
    run_key: str
    """Unique to the controller's run: names the state directory its workers share."""
    controller: ProcessId
    """The process that runs the session: the xdist controller, or this process."""

    @property
    def worker_index(self) -> int:
        worker = self.worker_id
        return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0

    def for_workers(self) -> dict[str, Any]:
        """What the controller hands its workers through ``workerinput``."""
        return {"run_key": self.run_key, "controller": self.controller.to_dict()}


_STATE_KEY = pytest.StashKey["RunState"]()
#: The configured runs of this interpreter, innermost last (an in-process nested pytest
#: pushes its own and pops it when it ends).
_STACK: list[RunState] = []


def _from_config(config: pytest.Config) -> RunState:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None:
        return RunState("", uuid.uuid4().hex[:16], ProcessId.of(os.getpid()))
    ours = workerinput.get(WORKERINPUT_KEY)
    controller = ProcessId.from_dict(ours.get("controller")) if isinstance(ours, dict) else None
    if isinstance(ours, dict) and isinstance(ours.get("run_key"), str) and controller:
        return RunState(str(workerinput["workerid"]), ours["run_key"], controller)
    # A controller without this plugin's hook: xdist's own run id, and our parent.
    return RunState(
        str(workerinput["workerid"]),
        str(workerinput.get("testrunuid") or uuid.uuid4().hex[:16]),
        ProcessId.of(os.getppid()),
    )


def configure(config: pytest.Config) -> RunState:
    """Decide this process's place in the run (from ``pytest_configure``)."""
    state = _from_config(config)
    config.stash[_STATE_KEY] = state
    _STACK.append(state)
    return state


def unconfigure(config: pytest.Config) -> None:
    """Forget the run of ``config`` (from ``pytest_unconfigure``)."""
    state = config.stash.get(_STATE_KEY, None)
    if state is not None:
        for index in range(len(_STACK) - 1, -1, -1):
            if _STACK[index] is state:
                del _STACK[index]
                break


def of(config: pytest.Config) -> RunState:
    """The run state of ``config`` (configured once per config)."""
    state = config.stash.get(_STATE_KEY, None)
    return state if state is not None else configure(config)


def current() -> RunState | None:
    """The run state of the innermost pytest run of this interpreter, if any."""
    return _STACK[-1] if _STACK else None
