"""A second broker's client factories must create topics on that broker (issue 10, 12).

The README's second-broker example once declared a consumer factory beside a broker but
left its topic factory the default one: topics went to the default broker, the consumer
to the second, and teardown spent ~30 s retrying commits. That mismatch is now an error
when the factory is set up, saying how to declare the right topic factory.
"""

from __future__ import annotations

import pytest

CONFTEST = """
from pytest_kafka_patterns import (
    kafka_admin_fixture, kafka_broker_fixture, kafka_consumer_factory_fixture,
    kafka_producer_factory_fixture, kafka_topic_factory_fixture)

legacy_broker = kafka_broker_fixture(backend="embedded")
legacy_admin = kafka_admin_fixture("legacy_broker")
legacy_topics = kafka_topic_factory_fixture("legacy_admin")
legacy_producers = kafka_producer_factory_fixture("legacy_broker", topic_factory="legacy_topics")
legacy_consumers = kafka_consumer_factory_fixture("legacy_broker", topic_factory="legacy_topics")
# The mistake: the default topic factory creates topics on kafka_broker.
wrong_consumers = kafka_consumer_factory_fixture("legacy_broker")
wrong_producers = kafka_producer_factory_fixture("legacy_broker")
"""


def test_mismatched_topic_factory_is_an_error_at_setup(
    pytester: pytest.Pytester, local_backends
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        def test_consumer(wrong_consumers):
            wrong_consumers()

        def test_producer(wrong_producers):
            wrong_producers()
        """
    )
    result = pytester.runpytest_inprocess(*local_backends)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([
        "*wrong_consumers: its topic factory 'kafka_topic_factory' creates topics on 127.0.0.1:*"
        " (admin fixture 'kafka_admin'), but its clients connect to 'legacy_broker' at "
        "127.0.0.1:*. Declare the topic factory of the same broker beside it*",
    ])


def test_second_broker_example_round_trips_on_its_own_broker(
    pytester: pytest.Pytester, local_backends
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        def test_round_trip(legacy_broker, kafka_broker, legacy_topics, legacy_producers,
                            legacy_consumers):
            assert legacy_broker.bootstrap_servers != kafka_broker.bootstrap_servers
            topic = legacy_topics("orders", partitions=1)
            producer = legacy_producers()
            producer.send(topic, key="k", value={"n": 1})
            producer.flush()
            consumer = legacy_consumers(topic)
            assert [r.value for _, r in zip(range(1), consumer)] == [{"n": 1}]
        """
    )
    result = pytester.runpytest_inprocess(*local_backends, "--durations=0")
    result.assert_outcomes(passed=1)
    assert "commit" not in result.stdout.str().lower()
