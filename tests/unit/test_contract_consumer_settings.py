"""The group settings the contract harness gives the consumers under test (issue 14):
derived from the broker's behaviour, valid for kafka-python and aiokafka."""

from __future__ import annotations

import inspect

import pytest
from kafka import KafkaConsumer

from pytest_kafka_patterns import KafkaBroker
from pytest_kafka_patterns.backends.embedded import TANSU_CONSUMER_DEFAULTS
from pytest_kafka_patterns.backends.external import KAFKA_CONSUMER_DEFAULTS as EXTERNAL
from pytest_kafka_patterns.backends.kraft import KAFKA_CONSUMER_DEFAULTS as KRAFT
from pytest_kafka_patterns.contracts.harness import (
    TANSU_JOIN_STEP_MS,
    contract_consumer_settings,
    heartbeat_seconds,
    session_seconds,
)

TANSU = KafkaBroker("127.0.0.1:1", "embedded", "tansu 0.6.0",
                    consumer_defaults=TANSU_CONSUMER_DEFAULTS)
APACHE = KafkaBroker("127.0.0.1:1", "apache", "4.4.0", consumer_defaults=KRAFT)
EXTERNAL_BROKER = KafkaBroker("127.0.0.1:1", "external", consumer_defaults=EXTERNAL)
BROKERS = [TANSU, APACHE, EXTERNAL_BROKER]


def test_on_tansu_the_session_is_its_join_step():
    """A session no longer than the 1 s a held JoinGroup waits: the dead member of a crash
    is evicted by the time the replacement's join is re-run."""
    settings = contract_consumer_settings(TANSU)
    assert settings["session_timeout_ms"] == TANSU_JOIN_STEP_MS == 1000
    assert settings["heartbeat_interval_ms"] * 5 == settings["session_timeout_ms"]
    assert settings["auto_commit_interval_ms"] == settings["heartbeat_interval_ms"]
    assert TANSU.consumer_defaults == TANSU_CONSUMER_DEFAULTS  # not changed in place


def test_on_generated_kafka_the_session_is_the_least_the_broker_accepts():
    settings = contract_consumer_settings(APACHE)
    assert settings["session_timeout_ms"] == 1000


def test_elsewhere_the_broker_defaults_are_kept():
    """An external broker's minimum session is not ours to know (6 s by default)."""
    settings = contract_consumer_settings(EXTERNAL_BROKER)
    assert {key: settings[key] for key in EXTERNAL} == EXTERNAL
    assert settings["auto_commit_interval_ms"] == EXTERNAL["heartbeat_interval_ms"]


@pytest.mark.parametrize("broker", BROKERS, ids=lambda broker: broker.backend)
def test_settings_are_kafka_python_and_aiokafka_parameters(broker):
    settings = contract_consumer_settings(broker)
    assert set(settings) <= set(KafkaConsumer.DEFAULT_CONFIG)
    assert heartbeat_seconds(settings) * 3 <= session_seconds(settings)
    aiokafka = pytest.importorskip("aiokafka")
    assert set(settings) <= set(inspect.signature(aiokafka.AIOKafkaConsumer).parameters)
