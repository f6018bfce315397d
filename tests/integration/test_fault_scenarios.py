"""The ``rebalance`` and ``network`` scenarios against the examples' consumers: each
keeps its contract's guarantee, the timeline shows the faults, no consumer is left."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest

from pytest_kafka_patterns.contracts import load_contract
from pytest_kafka_patterns.contracts.pytest_items import harness_env
from pytest_kafka_patterns.contracts.scenarios import SCENARIOS, run_scenario, scenario_names

CONTRACTS = Path(__file__).resolve().parents[2] / "examples" / "contracts"
NAMES = ["email_service", "idempotent_consumer", "retry_dlq_consumer"]


@pytest.fixture
def env(request, redis_client):  # redis_client: an empty database per test
    """What ``pytest --kafka-contracts`` gives each scenario."""
    return harness_env(request)


def contract(name):
    return load_contract(next(CONTRACTS.glob(f"{name}.contract.*")))


def consumers_left():
    return [p for p in psutil.Process().children(recursive=True)
            if "pytest_kafka_patterns.contracts" in " ".join(p.cmdline())]


def test_both_run_by_default_after_the_built_in_ones():
    assert list(SCENARIOS)[-3:] == ["rebalance", "network", "broker-failover"]
    assert scenario_names(contract("email_service"))[-2:] == ["rebalance", "network"]
    # broker-failover needs a cluster: listed on that backend only, last
    for backend in (None, "embedded", "apache", "external"):
        assert "broker-failover" not in scenario_names(contract("email_service"), backend)
    assert scenario_names(contract("email_service"), "cluster")[-1] == "broker-failover"


@pytest.mark.parametrize("name", NAMES)
def test_rebalance_keeps_the_guarantee(env, name):
    result = run_scenario(contract(name), "rebalance", env, seed=7)
    print(result.report())
    result.check()
    timeline = "\n".join(result.timeline)
    assert "second member joins group" in timeline
    assert "second member assigned partitions [" in timeline
    assert "second member leaves (LeaveGroup)" in timeline
    assert timeline.index("joins") < timeline.index("assigned") < timeline.index("leaves")
    assert not consumers_left()


@pytest.mark.parametrize("name", NAMES)
def test_network_faults_keep_the_guarantee(env, name):
    result = run_scenario(contract(name), "network", env, seed=7)
    print(result.report())
    result.check()
    timeline = "\n".join(result.timeline)
    for step in ("started a broker behind a TCP proxy", "s latency on every chunk",
                 "proxy: cut every connection for", "proxy: restored",
                 "stopped the proxied broker"):
        assert step in timeline
    assert result.seconds <= 20
    assert not consumers_left()
    assert not [p for p in psutil.Process().children(recursive=True)
                if "tansu" in p.name() and "proxied-broker" in " ".join(p.cmdline())]


def test_a_consumer_that_exits_on_a_rebalance_fails_it(env):
    """Unless the contract says ``supervised``, exiting during the fault is a failure."""
    script = Path(__file__).with_name("dies_on_revocation.py")
    dying = contract("email_service").with_consumer(command=[sys.executable, str(script)])
    result = run_scenario(dying, "rebalance", env, seed=7)
    with pytest.raises(AssertionError, match=r"(?s)second member joins.*consumer #1 did "
                       r"not survive the rebalance: it exited with 3 \(partitions revoked"):
        result.check()
    assert "Traceback" not in result.report()
