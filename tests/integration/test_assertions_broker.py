"""Every assertion on a real broker (and Redis): passes on correct data, fails on each kind
of wrong data it claims to catch, with a message that says what, where and how.

The system under test is the guide's order pipeline in miniature: ``process`` handles
``order.created`` events like the Inventory + Payment services, with the DLQ pattern
(``_retry_count``/``_error``/``_traceback``) and the Redis idempotency guard. Its ``bugs``
switch on the faults each assertion must catch.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from pytest_kafka_patterns import (
    OrderCreatedEventFactory,
    Record,
    assert_delivered,
    assert_exactly_once_effect,
    assert_group_caught_up,
    assert_ordered_by_key,
    assert_routed_to_dlq,
    eventually,
    order_history,
    order_id_of,
)
from pytest_kafka_patterns.clients import new_producer

Read = Callable[..., list[Record]]
MAX_RETRIES = 3


def produce(producer: KafkaProducer, topic: str, events: Iterable[dict[str, Any]],
            key: Callable[[dict[str, Any]], str] = lambda e: e["data"]["user_id"],
            **send: Any) -> None:
    for event in events:
        producer.send(topic, key=key(event), value=event, **send)
    producer.flush()


def charge(order: dict[str, Any]) -> None:
    """The handler: rejects an order without items/total (the factory's poison)."""
    if not order["items"] or order["total"] <= 0:
        raise ValueError(f"order {order['order_id']} has nothing to charge")


def process(
    records: Iterable[Record], producer: KafkaProducer, dlq_topic: str, store: redis.Redis,
    bugs: frozenset[str] = frozenset(),
) -> None:
    """The guide's ResilientConsumer + IdempotentConsumer, run over ``records``."""
    for record in records:
        event = dict(record.value)
        for attempt in range(MAX_RETRIES + 1):
            try:
                if "no_idempotency" not in bugs and store.sismember("done", event["event_id"]):
                    break
                charge(event["data"])
            except (KeyError, ValueError) as exc:
                if attempt < MAX_RETRIES:
                    continue
                if "swallow" in bugs:
                    break
                event["_retry_count"] = attempt + (1 if "retry_off_by_one" in bugs else 0)
                if "no_error" not in bugs:
                    event["_error"] = repr(exc)
                    event["_traceback"] = traceback.format_exc()
                producer.send(dlq_topic, value=event)
                if "dlq_twice" in bugs:
                    producer.send(dlq_topic, value=event)
                if "process_poison" in bugs:
                    store.rpush("processed", event["event_id"])
                break
            store.rpush("charged", event["data"]["order_id"])
            store.rpush("processed", event["event_id"])
            store.sadd("done", event["event_id"])
            if "dlq_good" in bugs:
                producer.send(dlq_topic, value={**event, "_error": "spurious", "_retry_count": 3})
            break
    producer.flush()


@pytest.fixture
def orders(kafka_topic_factory: Callable[..., str]) -> str:
    return kafka_topic_factory("orders")


@pytest.fixture
def dlq_topic(kafka_topic_factory: Callable[..., str]) -> str:
    return kafka_topic_factory("orders.dlq", partitions=1)


def message_of(check: Callable[[], None]) -> str:
    with pytest.raises(AssertionError) as info:
        check()
    return str(info.value)


# -- delivery -------------------------------------------------------------------------


def test_delivered_passes_then_catches_missing_duplicate_and_extra(
    orders: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    events = OrderCreatedEventFactory.build_batch(5)
    produce(kafka_producer, orders, events)
    records = kafka_read(orders, min_records=5)
    assert_delivered(records, events, allow_extra=False)

    lost = OrderCreatedEventFactory.build(user_id="user_404")
    message = message_of(lambda: assert_delivered(records, [*events, lost]))
    assert message.startswith("assert_delivered: 1 of 6 expected event(s) missing\n")
    assert f"- {lost['event_id']}  order.created order_id={lost['data']['order_id']}" in message
    assert f"read: 5 record(s) from {orders} (" in message

    produce(kafka_producer, orders, [events[2]])  # a producer retry without idempotence
    extra = OrderCreatedEventFactory.build()
    produce(kafka_producer, orders, [extra])
    records = kafka_read(orders, min_records=7)
    copies = [r.where for r in records if r.value["event_id"] == events[2]["event_id"]]
    message = message_of(lambda: assert_delivered(records, events, allow_extra=False))
    assert message.startswith(
        "assert_delivered: 1 delivered more than once, 1 unexpected record(s)\n")
    assert f"{events[2]['event_id']} x2 at {', '.join(copies)}" in message
    assert f"- {extra['event_id']}  order.created" in message
    assert_delivered(records, events, exactly_once=False)  # a replay is fine if allowed


def test_delivered_near_miss_for_a_republished_event(
    orders: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    event = OrderCreatedEventFactory.build()
    republished = {**event, "event_id": "0f0f0f0f-0000-4000-8000-000000000000"}
    produce(kafka_producer, orders, [republished])
    record = kafka_read(orders, min_records=1)[0]
    message = message_of(lambda: assert_delivered([record], [event]))
    assert (f"near miss: {record.where} has the same event_type and data, "
            f"id {republished['event_id']}") in message


# -- ordering -------------------------------------------------------------------------


def test_ordered_by_key_passes_for_keyed_histories(
    orders: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    histories = [order_history(user_id=f"user_{n}") for n in range(4)]
    sent = [event for history in histories for event in history]
    for history in histories:
        produce(kafka_producer, orders, history, key=lambda _e, h=history: h[0]["data"]["user_id"])
    records = kafka_read(orders, min_records=len(sent))
    assert_delivered(records, sent)
    assert_ordered_by_key(records, expected=sent)


def test_ordered_by_key_catches_a_key_spread_over_partitions(
    orders: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    history = order_history(user_id="user_1")
    for partition, event in zip((0, 0, 2), history, strict=True):  # a custom partitioner bug
        kafka_producer.send(orders, key="user_1", value=event, partition=partition)
    kafka_producer.flush()
    records = kafka_read(orders, min_records=3)
    assert message_of(lambda: assert_ordered_by_key(records, expected=history)) == (
        "assert_ordered_by_key: 1 key(s) spread over several partitions\n"
        "  spread (1):\n"
        "    - key 'user_1' spread over 2 partitions: p0 (offsets 0, 1), p2 (offset 0)\n"
        "  read: 3 record(s) from " + orders + " (p0: offsets 0-1, p2: offset 0), 1 key(s)"
    )


def test_ordered_by_key_catches_the_guides_mixed_keys(
    orders: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    """The guide keys order.created by user_id but order.status_changed by order_id, so
    one order's events can land in different partitions."""
    sent = [event for n in range(12) for event in order_history(user_id=f"user_{n}")]
    produce(kafka_producer, orders, sent,
            key=lambda e: e["data"].get("user_id") or e["data"]["order_id"])
    records = kafka_read(orders, min_records=len(sent))
    message = message_of(lambda: assert_ordered_by_key(
        records, key_of=lambda r: r.value["data"]["order_id"], expected=sent))
    assert "spread over several partitions" in message
    assert "key 'order_" in message


def test_ordered_by_key_catches_an_inversion(
    orders: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    created, confirmed, shipped = order_history(user_id="user_2")
    # shipped produced before confirmed, all keyed by the user
    produce(kafka_producer, orders, [created, shipped, confirmed], key=lambda _e: "user_2")
    records = kafka_read(orders, min_records=3)
    p = records[0].partition
    message = message_of(
        lambda: assert_ordered_by_key(records, expected=[created, confirmed, shipped]))
    order = created["data"]["order_id"]
    assert (
        f"key 'user_2': {orders}[{p}]@2 order.status_changed order_id={order} status=confirmed "
        f"(produced #2) came after {orders}[{p}]@1 order.status_changed order_id={order} "
        f"status=shipped (produced #3)"
    ) in message
    seq = {"pending": 0, "confirmed": 1, "shipped": 2}
    assert "is not greater than seq 2" in message_of(lambda: assert_ordered_by_key(
        records, seq_of=lambda v: seq[v["data"]["status"]]))


# -- DLQ ------------------------------------------------------------------------------


def run_pipeline(
    orders: str, dlq_topic: str, producer: KafkaProducer, read: Read, store: redis.Redis,
    bugs: frozenset[str] = frozenset(),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Record], list[bytes]]:
    good = OrderCreatedEventFactory.build_batch(4)
    poison = OrderCreatedEventFactory.build_batch(2, poison=True)
    produce(producer, orders, [*good[:2], poison[0], *good[2:], poison[1]])
    process(read(orders, min_records=6), producer, dlq_topic, store, bugs)
    return good, poison, read(dlq_topic), store.lrange("processed", 0, -1)


def test_routed_to_dlq_passes_for_the_guides_pattern(
    orders: str, dlq_topic: str, kafka_producer: KafkaProducer, kafka_read: Read,
    redis_client: redis.Redis,
) -> None:
    good, poison, dlq, processed = run_pipeline(
        orders, dlq_topic, kafka_producer, kafka_read, redis_client)
    assert_routed_to_dlq(dlq, poison, processed=processed, max_retries=MAX_RETRIES)
    assert_delivered(processed, good, allow_extra=False)


@pytest.mark.parametrize(("bug", "expected"), [
    ("swallow", ["2 poison event(s) not in the DLQ"]),
    ("dlq_twice", ["2 in the DLQ more than once", " x2 at "]),
    ("no_error", ["2 DLQ entr(y/ies) without error info"]),
    ("retry_off_by_one", ["2 with a retry count other than 3", ": retry count 4"]),
    ("dlq_good", ["4 non-poison record(s) in the DLQ", "error: spurious"]),
    ("process_poison", ["2 poison event(s) also processed"]),
])
def test_routed_to_dlq_catches(
    bug: str, expected: list[str], orders: str, dlq_topic: str,
    kafka_producer: KafkaProducer, kafka_read: Read, redis_client: redis.Redis,
) -> None:
    _, poison, dlq, processed = run_pipeline(
        orders, dlq_topic, kafka_producer, kafka_read, redis_client, frozenset({bug}))
    message = message_of(lambda: assert_routed_to_dlq(
        dlq, poison, processed=processed, max_retries=MAX_RETRIES))
    assert message.startswith("assert_routed_to_dlq: " + expected[0])
    for text in expected[1:]:
        assert text in message
    if bug == "swallow":
        assert f"- {poison[0]['event_id']}  order.created order_id=" in message


# -- exactly-once effects -------------------------------------------------------------


def test_exactly_once_effect_survives_redelivery_and_catches_a_double_charge(
    orders: str, dlq_topic: str, kafka_producer: KafkaProducer, kafka_read: Read,
    redis_client: redis.Redis,
) -> None:
    events = OrderCreatedEventFactory.build_batch(3)
    produce(kafka_producer, orders, events)
    records = kafka_read(orders, min_records=3)
    process(records, kafka_producer, dlq_topic, redis_client)
    process(records[:2], kafka_producer, dlq_topic, redis_client)  # redelivered after a crash
    charged = redis_client.lrange("charged", 0, -1)
    assert_exactly_once_effect(charged, events, id_of=order_id_of)

    redis_client.delete("charged", "done", "processed")
    process(records, kafka_producer, dlq_topic, redis_client, frozenset({"no_idempotency"}))
    process(records[:2], kafka_producer, dlq_topic, redis_client, frozenset({"no_idempotency"}))
    charged = redis_client.lrange("charged", 0, -1)
    message = message_of(lambda: assert_exactly_once_effect(charged, events, id_of=order_id_of))
    assert message.startswith("assert_exactly_once_effect: 2 with more than one\n")
    first = records[0].value["data"]
    assert f"- {first['order_id']} x2  order.created order_id={first['order_id']}" in message

    message = message_of(lambda: assert_exactly_once_effect(charged[:2], events,
                                                            id_of=order_id_of))
    assert "1 of 3 event(s) without an effect" in message


# -- eventually -----------------------------------------------------------------------


def test_eventually_waits_for_a_late_delivery_and_reports_a_timeout(
    orders: str, kafka_producer: KafkaProducer, kafka_read: Read
) -> None:
    events = OrderCreatedEventFactory.build_batch(2)
    timer = threading.Timer(0.3, lambda: produce(kafka_producer, orders, events))
    timer.start()
    try:
        eventually(lambda: assert_delivered(kafka_read(orders), events), timeout=10)
    finally:
        timer.join()
    never = OrderCreatedEventFactory.build()
    started = time.monotonic()

    def delivered() -> None:
        assert_delivered(kafka_read(orders), [never])

    message = message_of(lambda: eventually(delivered, timeout=0.5, interval=0.1))
    assert time.monotonic() - started < 3
    assert message.startswith("eventually(delivered): still failing after 0.")
    assert "last failure:\nassert_delivered: 1 of 1 expected event(s) missing" in message


# -- consumer groups ------------------------------------------------------------------


def commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    """Commit like a consumer of ``group`` would, without joining it (no rebalance wait)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "", -1)
                         for p, o in offsets.items()})
    finally:
        consumer.close()


def test_group_caught_up_passes_then_catches_lag_and_overshoot(
    orders: str, kafka_producer: KafkaProducer, kafka_bootstrap_servers: str
) -> None:
    for partition, count in ((0, 3), (1, 1)):
        for event in OrderCreatedEventFactory.build_batch(count, user_id="user_9"):
            kafka_producer.send(orders, key="user_9", value=event, partition=partition)
    kafka_producer.flush()
    group = f"billing-{orders}"

    message = message_of(lambda: assert_group_caught_up(kafka_bootstrap_servers, group, orders))
    assert message.startswith(f"assert_group_caught_up: group '{group}' on '{orders}' behind by "
                              "4 record(s)\n")
    assert f"group '{group}' has committed nothing on '{orders}'" in message

    commit(kafka_bootstrap_servers, group, orders, {0: 1, 1: 1})
    message = message_of(lambda: assert_group_caught_up(kafka_bootstrap_servers, group, orders))
    assert "    - p0: committed 1, high watermark 3 (2 uncommitted record(s))\n" in message
    assert f"        first uncommitted: {orders}[0]@1 key='user_9' " in message
    assert "caught up: p1, p2" in message

    commit(kafka_bootstrap_servers, group, orders, {0: 3})
    assert_group_caught_up(kafka_bootstrap_servers, group, orders)

    commit(kafka_bootstrap_servers, group, orders, {1: 5})  # offset+1 committed twice, say
    message = message_of(lambda: assert_group_caught_up(kafka_bootstrap_servers, group, orders))
    assert "committed past the end on 1 partition(s)" in message
    assert "- p1: committed 5, high watermark 1" in message


@pytest.fixture
def transactional_producer(kafka_bootstrap_servers: str, orders: str) -> Iterator[KafkaProducer]:
    producer = new_producer(kafka_bootstrap_servers, transactional_id=f"outbox-{orders}")
    producer.init_transactions()
    yield producer
    producer.close()


def in_transaction(producer: KafkaProducer, topic: str, events: Iterable[dict[str, Any]],
                   *, abort: bool = False, partition: int = 0) -> None:
    producer.begin_transaction()
    for event in events:
        producer.send(topic, key=event["data"]["user_id"], value=event, partition=partition)
    producer.flush()  # an abort drops unsent records: send them, so the abort has work to do
    if abort:
        producer.abort_transaction()
    else:
        producer.commit_transaction()


@pytest.mark.kafka_requires("transactions")
def test_an_aborted_outbox_event_is_not_delivered(
    orders: str, transactional_producer: KafkaProducer, kafka_read: Read
) -> None:
    """Issue 10 (2): read_committed consumers never see an aborted transaction's event."""
    sent, aborted = OrderCreatedEventFactory.build(), OrderCreatedEventFactory.build()
    in_transaction(transactional_producer, orders, [sent])
    in_transaction(transactional_producer, orders, [aborted], abort=True)
    records = kafka_read(orders, min_records=1)
    assert_delivered(records, [sent], allow_extra=False)
    message = message_of(lambda: assert_delivered(records, [aborted]))
    assert message.startswith("assert_delivered: 1 of 1 expected event(s) missing")
    everything = kafka_read(orders, isolation_level="read_uncommitted")
    assert_delivered(everything, [sent, aborted])  # the log still holds it


@pytest.mark.kafka_requires("transactions")
def test_group_past_a_committed_transaction_is_caught_up(
    orders: str, transactional_producer: KafkaProducer, kafka_bootstrap_servers: str
) -> None:
    """Issue 10 (3): the commit marker occupies an offset, but it is not a record."""
    events = OrderCreatedEventFactory.build_batch(3)
    in_transaction(transactional_producer, orders, events)  # offsets 0-2, marker at 3
    group = f"billing-{orders}"
    commit(kafka_bootstrap_servers, group, orders, {0: 3})
    assert_group_caught_up(kafka_bootstrap_servers, group, orders)

    in_transaction(transactional_producer, orders, OrderCreatedEventFactory.build_batch(1),
                   abort=True)  # offset 4, marker at 5: nothing a consumer reads
    assert_group_caught_up(kafka_bootstrap_servers, group, orders)

    commit(kafka_bootstrap_servers, group, orders, {0: 2})
    message = message_of(lambda: assert_group_caught_up(kafka_bootstrap_servers, group, orders))
    assert message.startswith(f"assert_group_caught_up: group '{group}' on '{orders}' behind by "
                              "1 record(s)\n")
    assert ("- p0: committed 2, high watermark 6 (1 uncommitted record(s); of the 4 offset(s) "
            "behind, 2 transaction marker(s) and 1 aborted or uncommitted-transaction "
            "record(s))") in message
    assert f"first uncommitted: {orders}[0]@2 " in message


def test_group_caught_up_with_a_real_consumer_group(
    orders: str, kafka_producer: KafkaProducer, kafka_bootstrap_servers: str,
    kafka_consumer_factory: Callable[..., KafkaConsumer],
) -> None:
    """One real group (a ~1 s join): commit after processing, as the guide's services do."""
    events = OrderCreatedEventFactory.build_batch(4)
    produce(kafka_producer, orders, events)
    group = f"email-{orders}"
    consumer = kafka_consumer_factory(orders, group_id=group, enable_auto_commit=False)
    seen = 0
    for _ in consumer:
        seen += 1
        consumer.commit()
        if seen == 2:
            break
    message = message_of(lambda: assert_group_caught_up(kafka_bootstrap_servers, group, orders))
    assert "behind by 2 record(s)" in message
    for _ in consumer:
        seen += 1
        consumer.commit()
        if seen == 4:
            break
    eventually(lambda: assert_group_caught_up(kafka_bootstrap_servers, group, orders), timeout=5)
