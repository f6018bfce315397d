"""The default fixtures against real services (whatever backend the run uses)."""

from __future__ import annotations

import pytest
from kafka import TopicPartition

from pytest_kafka_patterns import KafkaBroker, RedisServer
from pytest_kafka_patterns.clients import consumer_config


def test_broker_describes_itself(kafka_broker: KafkaBroker, kafka_bootstrap_servers: str) -> None:
    assert kafka_broker.bootstrap_servers == kafka_bootstrap_servers
    for address in kafka_bootstrap_servers.split(","):  # one per broker of a cluster
        host, _, port = address.rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
    assert kafka_broker.backend in {"embedded", "docker", "local", "apache", "cluster", "external"}
    assert kafka_broker.startup_seconds > 0
    assert "session_timeout_ms" in kafka_broker.consumer_defaults


@pytest.mark.kafka_requires("admin_metadata")
def test_topic_has_requested_partitions_and_config(kafka_topic_factory, kafka_admin) -> None:
    name = kafka_topic_factory("orders", partitions=5)
    assert name.startswith("orders-test_topic_has_requested_partitions")
    described = kafka_admin.describe_topics([name])[0]
    assert len(described["partitions"]) == 5


def test_topics_are_deleted_after_the_test(pytester: pytest.Pytester, local_backends) -> None:
    pytester.makepyfile(
        """
        import pytest
        names = []

        def test_make(kafka_topic_factory):
            names.append(kafka_topic_factory("keep"))
            names.append(kafka_topic_factory("keep", partitions=1))

        def test_gone(kafka_bootstrap_servers):
            from kafka import KafkaConsumer
            consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap_servers)
            existing = consumer.topics()
            consumer.close()
            assert len(names) == 2
            assert not set(names) & existing, existing
        """
    )
    pytester.runpytest_inprocess(*local_backends).assert_outcomes(passed=2)


def test_keyed_records_keep_their_partition_and_round_trip_as_json(
    kafka_topic: str, kafka_producer, kafka_consumer_factory
) -> None:
    sent = {}
    for i in range(30):
        key = f"user_{i % 4}"
        meta = kafka_producer.send(kafka_topic, key=key, value={"n": i, "key": key}).get(10)
        sent.setdefault(key, set()).add(meta.partition)
    assert all(len(partitions) == 1 for partitions in sent.values()), sent

    consumer = kafka_consumer_factory(kafka_topic)
    received = []
    for record in consumer:
        received.append(record)
        if len(received) == 30:
            break
    assert sorted(r.value["n"] for r in received) == list(range(30))
    assert {r.key for r in received} == set(sent)
    for record in received:
        assert record.partition in sent[record.key]


def test_consumers_without_group_id_get_distinct_groups(
    kafka_consumer_factory, kafka_topic
) -> None:
    first = kafka_consumer_factory(kafka_topic)
    second = kafka_consumer_factory(kafka_topic)
    assert first.config["group_id"] != second.config["group_id"]
    assert first.config["auto_offset_reset"] == "earliest"


def test_consumer_iteration_ends_instead_of_hanging(kafka_consumer_factory, kafka_topic) -> None:
    consumer = kafka_consumer_factory(kafka_topic, consumer_timeout_ms=300)
    assert list(consumer) == []


def test_non_json_values_come_back_as_bytes(kafka_topic, kafka_producer, kafka_consumer_factory):
    kafka_producer.send(kafka_topic, key="k", value=b"\xff not json").get(10)
    consumer = kafka_consumer_factory(consumer_timeout_ms=500)
    consumer.assign([TopicPartition(kafka_topic, p) for p in range(3)])
    values = [r.value for r in consumer]
    assert values == [b"\xff not json"]


def test_producer_factory_overrides(kafka_producer_factory, kafka_topic) -> None:
    producer = kafka_producer_factory(acks=1, linger_ms=5)
    assert producer.config["acks"] == 1
    assert producer.config["linger_ms"] == 5


def test_consumer_config_layers_broker_defaults_under_overrides() -> None:
    config = consumer_config(
        "h:1", group_id="g", group_defaults={"session_timeout_ms": 2000, "x": 1},
        session_timeout_ms=9000,
    )
    assert config["session_timeout_ms"] == 9000 and config["x"] == 1


def test_redis_client_starts_empty_and_works(redis_client, redis_server: RedisServer) -> None:
    assert redis_client.dbsize() == 0
    redis_client.set("order:1", "charged")
    assert redis_client.get("order:1") == b"charged"
    assert redis_server.url.endswith(f":{redis_server.port}/{redis_server.db}")


def test_redis_client_is_emptied_between_tests(redis_client) -> None:
    assert redis_client.get("order:1") is None


def test_invalid_topic_config_fails_with_kafkas_words(kafka_topic_factory, kafka_admin) -> None:
    """The embedded broker would accept ``cleanup.policy=bogus``; Kafka refuses it, so do we."""
    from pytest_kafka_patterns.topic_config import InvalidTopicConfig

    with pytest.raises(InvalidTopicConfig, match=(
            r"InvalidConfigurationException: Invalid value bogus for configuration "
            r"cleanup.policy: String must be one of: compact, delete")):
        kafka_topic_factory("orders", cleanup_policy="bogus")
    with pytest.raises(InvalidTopicConfig, match=r"Unknown topic config name: retention\.msec"):
        kafka_topic_factory("orders", **{"retention.msec": 1000})
    assert kafka_topic_factory("orders", cleanup_policy="compact", retention_ms=60000)


def test_users_own_consumer_with_consumer_config_joins_fast(
    kafka_broker: KafkaBroker, kafka_topic, kafka_producer
) -> None:
    """A consumer built by the user's code, given ``consumer_config()``, gets its first record
    in seconds (the embedded broker holds a fresh group's join for half the session: ~23 s
    with kafka-python's default 45 s session)."""
    import time

    from kafka import KafkaConsumer

    kafka_producer.send(kafka_topic, key="k", value={"n": 1})
    kafka_producer.flush()
    started = time.monotonic()
    consumer = KafkaConsumer(
        kafka_topic, bootstrap_servers=kafka_broker.bootstrap_servers,
        group_id=f"own-service-{kafka_topic}", auto_offset_reset="earliest",
        consumer_timeout_ms=15_000,
        **kafka_broker.consumer_config(),
    )
    try:
        first = next(iter(consumer), None)
    finally:
        consumer.close()
    assert first is not None
    assert time.monotonic() - started < 8
