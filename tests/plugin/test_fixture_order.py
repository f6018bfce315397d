"""The order in which the plugin's fixtures are set up, where it matters."""

from __future__ import annotations

import pytest


def test_the_producer_is_made_after_the_tests_topic_whatever_the_argument_order(
    pytester: pytest.Pytester,
) -> None:
    """A producer made before its topic waits ~100 ms at its first send (kafka-python's
    metadata retry backoff, docs/kafka-python-metadata-backoff.md): ``kafka_producer``
    sets ``kafka_topic`` up first even when the test names the producer first."""
    pytester.makepyfile(
        "def test_send(kafka_producer, kafka_topic):\n"
        "    kafka_producer.send(kafka_topic, value={'n': 1}).get(10)\n"
    )
    result = pytester.runpytest_inprocess("--setup-show", "--kafka-backend=embedded",
                                          "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    lines = [line.strip() for line in result.outlines]
    topic = next(i for i, line in enumerate(lines) if line.startswith("SETUP    F kafka_topic "))
    producer = next(i for i, line in enumerate(lines)
                    if line.startswith("SETUP    F kafka_producer "))
    assert topic < producer, "\n".join(lines)
