"""The generated config of a cluster's nodes (no JVM: see tests/integration/test_cluster.py)."""

from __future__ import annotations

from pytest_kafka_patterns.backends.cluster import cluster_settings
from pytest_kafka_patterns.backends.kraft import node_settings


def test_every_node_is_a_voter_and_topics_get_every_broker_as_a_replica() -> None:
    ports = [(9001, 9101), (9002, 9102), (9003, 9103)]
    settings = cluster_settings(2, ports, "/data")
    assert settings["node.id"] == "2"
    assert settings["process.roles"] == "broker,controller"
    assert settings["controller.quorum.voters"] == (
        "1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103"
    )
    assert settings["listeners"] == (
        "PLAINTEXT://127.0.0.1:9002,CONTROLLER://127.0.0.1:9102"
    )
    for key in ("default.replication.factor", "offsets.topic.replication.factor",
                "transaction.state.log.replication.factor"):
        assert settings[key] == "3"
    assert settings["min.insync.replicas"] == "2"
    assert settings["transaction.state.log.min.isr"] == "2"


def test_groups_are_as_fast_as_on_the_single_broker() -> None:
    single = node_settings(9001, 9101, "/data")
    cluster = cluster_settings(1, [(9001, 9101), (9002, 9102), (9003, 9103)], "/data")
    for key in ("group.initial.rebalance.delay.ms", "group.min.session.timeout.ms",
                "offsets.topic.num.partitions", "auto.create.topics.enable"):
        assert cluster[key] == single[key]


def test_a_cluster_of_one_still_takes_acks_all() -> None:
    settings = cluster_settings(1, [(9001, 9101)], "/data")
    assert settings["default.replication.factor"] == "1"
    assert settings["min.insync.replicas"] == "1"
