"""The harness and scenarios on a real broker and Redis: a command-line consumer, a
consumer that dies at start, and no orphan consumer whatever happens. (The examples'
consumers under every scenario: `pytest --kafka-contracts examples/contracts`; their
naive versions: tests/integration/test_example_contracts.py.)"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import psutil
import pytest

from pytest_kafka_patterns.contracts import load_contract
from pytest_kafka_patterns.contracts.harness import Harness
from pytest_kafka_patterns.contracts.pytest_items import harness_env
from pytest_kafka_patterns.contracts.runner import RunnerConfig
from pytest_kafka_patterns.contracts.scenarios import run_scenario

CONTRACTS = Path(__file__).resolve().parents[2] / "examples" / "contracts"


@pytest.fixture
def env(request, redis_client):  # redis_client: an empty database per test
    """What ``pytest --kafka-contracts`` gives each scenario."""
    return harness_env(request)


def alive(pids):
    return [pid for pid in pids if psutil.pid_exists(pid)
            and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def test_a_command_line_consumer_survives_crashes(env):
    contract = load_contract(CONTRACTS / "email_service.contract.yaml").with_consumer(
        command=[sys.executable, "-m", "pytest_kafka_patterns.contracts",
                 "examples.contracts.runners:email_service"],
    ).with_faults(events=8, crash_points=2)
    result = run_scenario(contract, "crash", env, seed=3)
    result.check()
    assert sum("SIGKILLed" in entry for entry in result.timeline) == 2
    assert not alive(p.pid for p in psutil.Process().children(recursive=True)
                     if "pytest_kafka_patterns.contracts" in " ".join(p.cmdline()))


def test_a_consumer_that_dies_at_start_is_reported_with_its_log(env):
    contract = load_contract(CONTRACTS / "email_service.contract.yaml").with_consumer(
        "examples.contracts.runners:no_such_runner").with_faults(events=4, timeout=5.0)
    result = run_scenario(contract, "poison", env, seed=1)
    with pytest.raises(AssertionError) as failure:
        result.check()
    report = str(failure.value)
    assert "exited with 1 on its own; log tail:" in report
    assert "AttributeError" in report and "no_such_runner" in report
    assert "assert_delivered: 4 of 4 expected event(s) missing" in report


def test_no_orphan_when_the_test_body_fails(env, tmp_path):
    contract = load_contract(CONTRACTS / "email_service.contract.yaml").with_consumer(
        command=[sys.executable, "-c", "import time; time.sleep(120)"])
    config = RunnerConfig(env.bootstrap_servers, "t", "g", env.redis_url, "effects")
    pids = []
    with pytest.raises(RuntimeError), Harness(contract, tmp_path / "h") as harness:
        pids += [harness.start(config, "a").pid, harness.start(config, "b").pid]
        assert alive(pids) == pids
        raise RuntimeError("the test fails here")
    assert alive(pids) == []


def test_an_effect_of_an_event_outside_acts_on_fails(env):
    """The email service acts on every event; a contract saying it acts on status
    changes only catches the effects of the 3 ``order.created`` events (x4: each is
    produced twice, then re-read)."""
    email = load_contract(CONTRACTS / "email_service.contract.yaml")
    contract = dataclasses.replace(email, acts_on=("order.status_changed",), ordering=False)
    result = run_scenario(contract.with_faults(events=6), "duplicates", env, seed=3)
    with pytest.raises(AssertionError,
                       match=r"assert_delivered: 12 unexpected record\(s\)") as info:
        result.check()
    assert ("note: 12 effect(s) of event types outside acts_on (order.status_changed): "
            "order.created x12") in str(info.value)  # issue 10 (7): say which they were
