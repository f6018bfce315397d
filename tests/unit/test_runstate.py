"""Issue 15 (6): worker or not comes from what xdist gives the process, not the env."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from pytest_kafka_patterns import fixtures, runstate
from pytest_kafka_patterns.liveness import ProcessId


def _config(**attributes: object) -> pytest.Config:
    config = SimpleNamespace(stash=pytest.Stash(), **attributes)
    return config  # type: ignore[return-value]


def test_an_inherited_worker_variable_makes_no_worker(monkeypatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    config = _config()
    state = runstate.configure(config)
    try:
        assert state.worker_id == ""
        assert fixtures.worker_id() == "" and fixtures.worker_index() == 0
        assert state.controller == ProcessId.of(os.getpid())
    finally:
        runstate.unconfigure(config)


def test_a_worker_takes_its_run_from_the_controller() -> None:
    controller = ProcessId.of(os.getppid())
    outer = _config(workerinput={
        "workerid": "gw2", "testrunuid": "xdist-run",
        runstate.WORKERINPUT_KEY: {"run_key": "k1", "controller": controller.to_dict()},
    })
    inner = _config()  # a pytest nested in this worker, in process
    runstate.configure(outer)
    try:
        assert (fixtures.worker_id(), fixtures.worker_index()) == ("gw2", 2)
        assert runstate.of(outer).run_key == "k1"
        assert runstate.of(outer).controller == controller
        runstate.configure(inner)
        assert fixtures.worker_id() == ""
        assert runstate.of(inner).run_key != "k1"
        runstate.unconfigure(inner)
        assert fixtures.worker_id() == "gw2"
    finally:
        runstate.unconfigure(outer)
    assert runstate.current() is None or runstate.current() is not runstate.of(outer)


def test_a_worker_of_a_controller_without_our_hook_uses_xdists_run_id() -> None:
    state = runstate._from_config(_config(workerinput={"workerid": "gw0", "testrunuid": "abc"}))
    assert (state.worker_id, state.run_key) == ("gw0", "abc")
    assert state.controller == ProcessId.of(os.getppid())
