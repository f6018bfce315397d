"""Pattern 4 with confluent-kafka: one effect per event despite duplicates, a replay by
another group and a crash between the effect and the commit."""

from __future__ import annotations

import json

import pytest

from examples.order_system.confluent_idempotent_consumer import ConfluentIdempotentConsumer
from examples.order_system.idempotent_consumer import charged_by_user_key, charges_key
from examples.order_system.runtime import StopWhen
from pytest_kafka_patterns import (
    assert_exactly_once_effect,
    assert_group_caught_up,
    eventually,
    order_id_of,
)
from pytest_kafka_patterns.confluent import consumer_config

pytest.importorskip("confluent_kafka")


class Crash(BaseException):
    """The process dies here (not an ``Exception``: the consumer's retry does not catch it)."""


def produce(producer, topic, events):
    for event in events:
        producer.produce(topic, key=event["data"]["user_id"], value=json.dumps(event))
    assert producer.flush(10) == 0


def consumer(kafka_broker, redis_server, topic, group, **options):
    return ConfluentIdempotentConsumer(consumer_config(kafka_broker, group_id=group),
                                       redis_server.url, topic=topic, **options)


def run(service, count):
    try:
        return service.run(StopWhen(max_messages=count, idle_timeout=10))
    finally:
        service.close()


def charges(redis_client, namespace):
    return redis_client.lrange(charges_key(namespace), 0, -1)


def test_duplicates_and_a_replay_by_another_group_charge_once(
    kafka_broker, redis_server, redis_client, kafka_topic_factory, confluent_producer,
    order_event_factory,
):
    topic = kafka_topic_factory("orders")
    events = order_event_factory.build_batch(5)
    produce(confluent_producer, topic, [*events, events[0], events[3]])  # retry duplicates
    first = consumer(kafka_broker, redis_server, topic, topic, namespace="payments")
    assert run(first, 7) == 7
    assert (first.applied, first.duplicates) == (5, 2)

    replay = consumer(kafka_broker, redis_server, topic, f"{topic}-replay",
                      namespace="payments")
    assert run(replay, 7) == 7
    assert (replay.applied, replay.duplicates) == (0, 7)

    assert_exactly_once_effect(charges(redis_client, "payments"), events, id_of=order_id_of)
    totals: dict[str, float] = {}
    for event in events:
        user = event["data"]["user_id"]
        totals[user] = totals.get(user, 0) + event["data"]["total"]
    charged = redis_client.hgetall(charged_by_user_key("payments"))
    assert {user.decode(): float(v) for user, v in charged.items()} == pytest.approx(totals)
    eventually(lambda: assert_group_caught_up(kafka_broker.bootstrap_servers, topic, topic))


def test_a_crash_between_the_charge_and_the_commit_does_not_charge_twice(
    kafka_broker, redis_server, redis_client, kafka_topic_factory, confluent_producer,
    order_event_factory,
):
    topic = kafka_topic_factory("orders")
    events = order_event_factory.build_batch(6)
    produce(confluent_producer, topic, events)
    first = consumer(kafka_broker, redis_server, topic, topic)
    apply_event = first.effect.apply_event

    def charge_then_die(event, event_id):
        apply_event(event, event_id)
        raise Crash("killed after the charge, before the offset commit")

    first.effect.apply_event = charge_then_die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        run(first, len(events))

    restarted = consumer(kafka_broker, redis_server, topic, topic)
    assert run(restarted, len(events)) == len(events)  # everything is redelivered
    assert (restarted.applied, restarted.duplicates) == (5, 1)
    assert_exactly_once_effect(charges(redis_client, topic), events, id_of=order_id_of)
    eventually(lambda: assert_group_caught_up(kafka_broker.bootstrap_servers, topic, topic))


def test_an_event_that_fails_is_read_again_before_the_rest_of_its_partition(
    kafka_broker, redis_server, redis_client, kafka_topic_factory, confluent_producer,
    order_event_factory,
):
    topic = kafka_topic_factory("orders", partitions=1)
    events = order_event_factory.build_batch(4)
    produce(confluent_producer, topic, events)
    fail_once = {events[1]["event_id"]}
    seen: list[str] = []
    service = consumer(kafka_broker, redis_server, topic, topic)
    writes = service.effect.writes_of

    def flaky(event):
        if event["event_id"] in fail_once:
            fail_once.discard(event["event_id"])
            raise ConnectionError("payment provider unreachable")
        seen.append(event["event_id"])
        return writes(event)

    service.effect.writes_of = flaky
    assert run(service, len(events)) == len(events)
    assert seen == [event["event_id"] for event in events], "in order, none skipped"
    assert_exactly_once_effect(charges(redis_client, topic), events, id_of=order_id_of)
