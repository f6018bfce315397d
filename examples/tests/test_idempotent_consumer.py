"""Pattern 4, the idempotent consumer: one effect per event despite redelivery and races."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from examples.naive.idempotent_consumer import NaiveIdempotentConsumer, ProcessedSet
from examples.order_system.idempotent_consumer import (
    IdempotentConsumer,
    IdempotentEffect,
    charged_by_user_key,
    charges_key,
    payment_writes,
)
from examples.order_system.runtime import Connection, StopWhen
from pytest_kafka_patterns import (
    assert_exactly_once_effect,
    assert_group_caught_up,
    eventually,
    order_id_of,
)


class Crash(Exception):
    """The process dies here."""


@pytest.fixture
def connection(kafka_broker, redis_server, redis_client):  # redis_client: an empty database
    return Connection(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        redis_url=redis_server.url,
        consumer_overrides=kafka_broker.consumer_defaults,
    )


def produce(producer, topic, events):
    for event in events:
        producer.send(topic, key=event["data"]["user_id"], value=event)
    producer.flush()


def run(service, count):
    try:
        return service.run(StopWhen(max_messages=count, idle_timeout=10))
    finally:
        service.close()


def charges(redis_client, namespace):
    return redis_client.lrange(charges_key(namespace), 0, -1)


def race(make_a, make_b, count):
    """Run two consumers at once, each until it has handled ``count`` records."""
    services = [make_a(), make_b()]
    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(run, service, count) for service in services]:
            done.result()
    return services


def in_lockstep():
    """Wraps a function so that two threads enter it together, event by event."""
    barrier = threading.Barrier(2, timeout=15)

    def wrap(function):
        def together(event):
            barrier.wait()  # both consumers have the same event in hand (and checked it)
            return function(event)

        return together

    return wrap


def test_duplicates_and_a_replay_from_offset_zero_charge_once(
    connection, kafka_topic_factory, kafka_producer, redis_client, order_event_factory
):
    topic = kafka_topic_factory("orders")
    events = order_event_factory.build_batch(5)
    produce(kafka_producer, topic, [*events, events[0], events[3]])  # producer-retry duplicates
    service = IdempotentConsumer(connection, topic=topic, group_id=topic)

    assert service.run(StopWhen(max_messages=7, idle_timeout=10)) == 7
    assert (service.applied, service.duplicates) == (5, 2)
    service.consumer.seek_to_beginning()  # the group is reset and re-reads everything
    try:
        assert service.run(StopWhen(max_messages=7, idle_timeout=10)) == 7
    finally:
        service.close()

    assert (service.applied, service.duplicates) == (5, 9)
    assert_exactly_once_effect(charges(redis_client, topic), events, id_of=order_id_of)
    totals = {}
    for event in events:
        user = event["data"]["user_id"]
        totals[user] = totals.get(user, 0) + event["data"]["total"]
    charged = redis_client.hgetall(charged_by_user_key(topic))
    assert {user.decode(): float(v) for user, v in charged.items()} == pytest.approx(totals)


def test_two_consumers_racing_on_every_event_charge_once(
    connection, kafka_topic_factory, kafka_producer, redis_client, order_event_factory
):
    topic = kafka_topic_factory("orders", partitions=1)  # same order for both: lockstep
    events = order_event_factory.build_batch(5)
    produce(kafka_producer, topic, events)
    lockstep = in_lockstep()

    def make(group):
        return lambda: IdempotentConsumer(
            connection, topic=topic, group_id=group, namespace="payments",
            writes_of=lockstep(payment_writes("payments")),
        )

    a, b = race(make(f"{topic}-a"), make(f"{topic}-b"), len(events))

    assert a.applied + b.applied == 5 and a.duplicates + b.duplicates == 5
    assert_exactly_once_effect(charges(redis_client, "payments"), events, id_of=order_id_of)


def test_the_guide_in_spirit_charges_twice_when_two_consumers_race(
    connection, kafka_topic_factory, kafka_producer, redis_client, order_event_factory
):
    topic = kafka_topic_factory("orders", partitions=1)
    events = order_event_factory.build_batch(5)
    produce(kafka_producer, topic, events)
    lockstep = in_lockstep()

    def charge(event):  # the effect, after the SISMEMBER check and before the SADD
        redis_client.rpush(charges_key("payments"), event["data"]["order_id"])

    def make(group):
        return lambda: NaiveIdempotentConsumer(
            lockstep(charge), connection, topic=topic, group_id=group, namespace="payments"
        )

    race(make(f"{topic}-a"), make(f"{topic}-b"), len(events))

    with pytest.raises(AssertionError, match="5 with more than one"):
        assert_exactly_once_effect(charges(redis_client, "payments"), events, id_of=order_id_of)


def test_a_crash_between_the_charge_and_the_commit_does_not_charge_twice(
    connection, kafka_broker, kafka_topic_factory, kafka_producer, redis_client,
    order_event_factory, monkeypatch
):
    topic = kafka_topic_factory("orders")
    events = order_event_factory.build_batch(6)
    produce(kafka_producer, topic, events)
    first = IdempotentConsumer(connection, topic=topic, group_id=topic)

    def crash(*args, **kwargs):
        raise Crash("killed before the offset commit")

    monkeypatch.setattr(first.consumer, "commit", crash)
    with pytest.raises(Crash):
        run(first, len(events))
    assert first.applied >= 1  # charged, but the offsets were never committed

    restarted = IdempotentConsumer(connection, topic=topic, group_id=topic)
    run(restarted, len(events))  # everything is redelivered

    assert restarted.duplicates == first.applied
    assert_exactly_once_effect(charges(redis_client, topic), events, id_of=order_id_of)
    eventually(lambda: assert_group_caught_up(kafka_broker.bootstrap_servers, topic, topic))


def test_each_claim_keeps_its_own_ttl_unlike_the_guides_whole_set_ttl(redis_client):
    guide = ProcessedSet(redis_client, "processed:guide", ttl_seconds=1)
    ours = IdempotentEffect(redis_client, lambda event: [], namespace="ours", ttl_seconds=1)
    guide.mark_processed("old")
    ours.apply("old", [])

    time.sleep(0.6)
    guide.mark_processed("new")
    ours.apply("new", [])
    # The guide: marking "new" gave "old" a fresh second. Ours: "old" keeps its deadline.
    assert redis_client.pttl("processed:guide") > 900
    assert 0 < redis_client.pttl(ours.claim_key("old")) <= 400
    assert redis_client.pttl(ours.claim_key("new")) > 900

    time.sleep(0.6)
    guide.mark_processed("newer")
    ours.apply("newer", [])
    # 1.2 s after "old", with a 1 s TTL: while events keep coming the guide never forgets
    # anything (the set only grows); ours forgot "old" on time and remembers the others.
    assert guide.is_processed("old") and redis_client.scard("processed:guide") == 3
    assert not redis_client.exists(ours.claim_key("old"))
    assert redis_client.exists(ours.claim_key("new"), ours.claim_key("newer")) == 2
