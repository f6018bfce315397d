"""``KafkaBroker.consumer_config(client)``: the broker's group timings in each client's
own key names (issue 10, 8)."""

from __future__ import annotations

import inspect

import pytest
from kafka import KafkaConsumer

from pytest_kafka_patterns import KafkaBroker
from pytest_kafka_patterns.backends.embedded import TANSU_CONSUMER_DEFAULTS
from pytest_kafka_patterns.backends.external import KAFKA_CONSUMER_DEFAULTS

#: librdkafka consumer properties (CONFIGURATION.md) our defaults may map to.
LIBRDKAFKA_PROPERTIES = {"session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
                         "fetch.wait.max.ms"}

BROKERS = [
    KafkaBroker("127.0.0.1:1", "embedded", consumer_defaults=TANSU_CONSUMER_DEFAULTS),
    KafkaBroker("127.0.0.1:1", "external", consumer_defaults=KAFKA_CONSUMER_DEFAULTS),
]


@pytest.mark.parametrize("broker", BROKERS, ids=lambda broker: broker.backend)
def test_kafka_python_names_are_kafka_consumer_settings(broker: KafkaBroker) -> None:
    config = broker.consumer_config()
    assert config == dict(broker.consumer_defaults) == broker.consumer_config("kafka-python")
    assert set(config) <= set(KafkaConsumer.DEFAULT_CONFIG)


@pytest.mark.parametrize("broker", BROKERS, ids=lambda broker: broker.backend)
def test_aiokafka_names_are_aiokafka_consumer_parameters(broker: KafkaBroker) -> None:
    aiokafka = pytest.importorskip("aiokafka")
    parameters = inspect.signature(aiokafka.AIOKafkaConsumer).parameters
    assert set(broker.consumer_config("aiokafka")) <= set(parameters)


@pytest.mark.parametrize("client", ["confluent", "confluent-kafka"])
@pytest.mark.parametrize("broker", BROKERS, ids=lambda broker: broker.backend)
def test_confluent_names_are_librdkafka_properties(broker: KafkaBroker, client: str) -> None:
    config = broker.consumer_config(client)  # type: ignore[arg-type]
    assert set(config) <= LIBRDKAFKA_PROPERTIES
    assert config["session.timeout.ms"] == broker.consumer_defaults["session_timeout_ms"]
    assert config["heartbeat.interval.ms"] == broker.consumer_defaults["heartbeat_interval_ms"]
    if "fetch_max_wait_ms" in broker.consumer_defaults:  # not fetch.max.wait.ms
        assert config["fetch.wait.max.ms"] == broker.consumer_defaults["fetch_max_wait_ms"]


def test_an_unknown_client_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'kafka-python', 'confluent', 'aiokafka'"):
        BROKERS[0].consumer_config("kafka_python")  # type: ignore[arg-type]


def test_the_config_is_a_copy() -> None:
    BROKERS[0].consumer_config()["session_timeout_ms"] = 1
    assert BROKERS[0].consumer_defaults["session_timeout_ms"] != 1
