"""The aiokafka twins, with pytest-asyncio."""

from __future__ import annotations

import pytest

pytest.importorskip("aiokafka")
pytest.importorskip("pytest_asyncio")


@pytest.mark.asyncio
async def test_async_round_trip(aiokafka_producer, aiokafka_consumer_factory, kafka_topic) -> None:
    for i in range(5):
        await aiokafka_producer.send_and_wait(kafka_topic, key="user_1", value={"n": i})
    consumer = await aiokafka_consumer_factory(kafka_topic)
    received = []
    async for record in consumer:
        received.append(record)
        if len(received) == 5:
            break
    assert [r.value["n"] for r in received] == list(range(5))  # one key: one partition, in order
    assert {r.key for r in received} == {"user_1"}


def test_async_fixtures_are_absent_without_pytest_asyncio(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(aiokafka_producer): pass")
    result = pytester.runpytest_inprocess("-p", "no:asyncio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'aiokafka_producer' not found*"])
