"""One broker and one Redis per run under xdist; more brokers through the factories."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("xdist")


def test_workers_share_one_broker_and_own_a_redis_db_each(
    pytester: pytest.Pytester, process_mark, local_backends
) -> None:
    pytester.makepyfile(
        """
        import json, os, pathlib, time
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_record(n, kafka_broker, kafka_topic, redis_client, redis_server):
            redis_client.set("owner", os.environ["PYTEST_XDIST_WORKER"])
            time.sleep(0.2)  # overlap with the other worker
            assert redis_client.get("owner").decode() == os.environ["PYTEST_XDIST_WORKER"]
            pathlib.Path(f"seen-{n}.json").write_text(json.dumps({
                "worker": os.environ["PYTEST_XDIST_WORKER"],
                "kafka": kafka_broker.bootstrap_servers,
                "redis": redis_server.port, "db": redis_server.db, "topic": kafka_topic}))
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", *local_backends)
    result.assert_outcomes(passed=6)
    seen = [json.loads(p.read_text()) for p in pytester.path.glob("seen-*.json")]
    assert {s["worker"] for s in seen} == {"gw0", "gw1"}
    assert len({s["kafka"] for s in seen}) == 1
    assert len({s["redis"] for s in seen}) == 1
    assert {s["worker"]: s["db"] for s in seen} == {"gw0": 0, "gw1": 1}
    assert len({s["topic"] for s in seen}) == 6
    assert process_mark.alive() == []
    result.stdout.fnmatch_lines(["kafka_broker: embedded tansu * at 127.0.0.1:*"])


def test_a_second_broker_and_redis_from_the_factories(pytester: pytest.Pytester,
                                                      local_backends) -> None:
    pytester.makeconftest(
        """
        from pytest_kafka_patterns import (
            kafka_admin_fixture, kafka_broker_fixture, kafka_producer_factory_fixture,
            kafka_topic_factory_fixture, redis_client_fixture, redis_server_fixture)

        other_broker = kafka_broker_fixture(backend="embedded")
        other_admin = kafka_admin_fixture("other_broker")
        other_topics = kafka_topic_factory_fixture("other_admin")
        other_producers = kafka_producer_factory_fixture(
            "other_broker", topic_factory="other_topics")
        other_redis = redis_server_fixture(backend="process")
        other_redis_client = redis_client_fixture("other_redis")
        """
    )
    pytester.makepyfile(
        """
        def test_two_of_each(kafka_broker, other_broker, other_topics, other_producers,
                             kafka_admin, other_admin, redis_client, other_redis_client):
            assert kafka_broker.bootstrap_servers != other_broker.bootstrap_servers
            topic = other_topics("second")
            other_producers().send(topic, value={"x": 1}).get(10)
            from kafka import KafkaConsumer
            def topics(broker):
                consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
                try:
                    return consumer.topics()
                finally:
                    consumer.close()
            assert topic in topics(other_broker)
            assert topic not in topics(kafka_broker)
            redis_client.set("k", "main")
            assert other_redis_client.get("k") is None
        """
    )
    result = pytester.runpytest_inprocess(*local_backends)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*other_broker: embedded tansu*", "*other_redis: process*"])
