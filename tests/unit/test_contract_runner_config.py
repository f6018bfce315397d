"""What the harness tells a runner survives the environment: ids of any shape (generated
ones hold commas), and the contract's id field."""

from __future__ import annotations

import pytest

from pytest_kafka_patterns import KafkaBroker
from pytest_kafka_patterns.backends.embedded import TANSU_CONSUMER_DEFAULTS
from pytest_kafka_patterns.backends.kraft import KAFKA_CONSUMER_DEFAULTS
from pytest_kafka_patterns.contracts.harness import contract_consumer_settings
from pytest_kafka_patterns.contracts.runner import RunnerConfig


def test_env_round_trip_keeps_poison_ids_and_the_id_field():
    config = RunnerConfig("b:1", "t", "g", "redis://x", "fx", poison=frozenset({"a,b", "é\n"}),
                          id_field="meta.message_id")
    back = RunnerConfig.from_env(config.to_env())
    assert back.poison == {"a,b", "é\n"}
    assert back.id_field == "meta.message_id"
    assert back.id_of({"meta": {"message_id": 42}}) == "42"
    assert back.id_of({"event_id": "e1"}) == ""  # not this contract's id field
    back.check_poison({"meta": {"message_id": "not poisoned"}})  # returns, no Redis needed


def test_the_guide_shape_is_the_default():
    back = RunnerConfig.from_env(RunnerConfig("b:1", "t", "g", "redis://x", "fx").to_env())
    assert back.id_field == "event_id" and back.poison == frozenset()
    assert back.id_of({"event_id": "e1"}) == "e1"


@pytest.mark.parametrize("backend, version, defaults", [
    ("embedded", "tansu 0.6.0", TANSU_CONSUMER_DEFAULTS),
    ("apache", "4.1.0", KAFKA_CONSUMER_DEFAULTS),
])
def test_harness_timings_reach_a_confluent_runner_in_librdkafka_names(backend, version,
                                                                      defaults):
    """``contract_consumer_settings`` through the environment, asked for by a
    confluent-kafka runner: librdkafka's property names with the same values, and
    librdkafka itself accepts them (an unknown property raises on ``Consumer(...)``)."""
    confluent_kafka = pytest.importorskip("confluent_kafka")
    broker = KafkaBroker("127.0.0.1:1", backend, version, consumer_defaults=defaults)
    settings = contract_consumer_settings(broker)
    sent = RunnerConfig("127.0.0.1:1", "t", "g", "redis://x", "fx",
                        consumer_overrides=settings)
    config = RunnerConfig.from_env(sent.to_env()).consumer_config("confluent-kafka")
    assert config == {
        "session.timeout.ms": settings["session_timeout_ms"],
        "heartbeat.interval.ms": settings["heartbeat_interval_ms"],
        "auto.commit.interval.ms": settings["auto_commit_interval_ms"],
        **({"fetch.wait.max.ms": settings["fetch_max_wait_ms"]}
           if "fetch_max_wait_ms" in settings else {}),
    }
    assert config["session.timeout.ms"] == 1000  # the harness's, not librdkafka's 45 s
    consumer = confluent_kafka.Consumer({"bootstrap.servers": "127.0.0.1:1",
                                         "group.id": "g", **config})
    consumer.close()
    assert RunnerConfig.from_env(sent.to_env()).consumer_config() == settings
