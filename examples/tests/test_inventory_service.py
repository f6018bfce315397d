"""Inventory Service: all-or-nothing reservations in Redis, once per order, never oversold."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import count

import pytest
from kafka.partitioner.default import murmur2

from examples.naive.inventory_service import NaiveInventoryService
from examples.order_system.inventory_service import GUIDE_STOCK, InventoryService
from examples.order_system.order_service import OrderService
from examples.order_system.runtime import Connection, StopWhen
from pytest_kafka_patterns import (
    assert_delivered,
    assert_exactly_once_effect,
    assert_group_caught_up,
    eventually,
    order_id_of,
)


@pytest.fixture
def connection(kafka_broker, redis_server, redis_client) -> Connection:
    """Where the services connect (``redis_client`` empties this test's database)."""
    return Connection(kafka_broker.bootstrap_servers, redis_server.url,
                      consumer_overrides=kafka_broker.consumer_defaults)


def item(product_id: str, quantity: int, price: float = 10.0) -> dict:
    return {"product_id": product_id, "name": product_id, "price": price, "quantity": quantity}


def order_ids_round_robin(partitions: int) -> Iterator[str]:
    """Order ids whose keys hash to partition 0, 1, ..., 0, 1, ... in turn."""
    candidates = (f"order_{n:08x}" for n in count())
    for wanted in count():
        yield next(order_id for order_id in candidates
                   if (murmur2(order_id.encode()) & 0x7FFFFFFF) % partitions
                   == wanted % partitions)


def assert_not_oversold(product: str, initial: int, stock_now: int, units_reserved: int) -> None:
    """Stock never below zero, and what left the stock is exactly what was reserved."""
    problems = []
    if stock_now < 0:
        problems.append(f"oversold: {product} stock is {stock_now}")
    if units_reserved > initial:
        problems.append(f"oversold: {units_reserved} units of {product} reserved, "
                        f"{initial} were in stock")
    if initial - stock_now != units_reserved:
        problems.append(f"{initial - stock_now} units left the stock, {units_reserved} reserved")
    assert not problems, "; ".join(problems)


def test_reserves_all_or_nothing_once_per_order_and_answers_keyed_by_order(
    connection, kafka_topic_factory, kafka_read, kafka_producer, kafka_bootstrap_servers,
    redis_client,
):
    orders_topic = kafka_topic_factory("orders")
    inventory_topic = kafka_topic_factory("inventory")
    publisher = OrderService(connection, orders_topic)
    try:
        ok = publisher.create_order("user_1", [item("prod_1", 2), item("prod_2", 1)])
        short = publisher.create_order("user_2", [item("prod_1", 5), item("prod_3", 1)])
        publisher.update_order_status(ok["order_id"], "confirmed")  # not for inventory
    finally:
        publisher.close()
    # The order service's event for `ok` arrives a second time (a redelivery).
    created = next(r for r in kafka_read(orders_topic, min_records=3)
                   if r.value["event_type"] == "order.created" and r.key == ok["order_id"])
    kafka_producer.send(orders_topic, key=created.key, value=created.value).get(timeout=10)

    group = f"inventory-{orders_topic}"
    service = InventoryService(connection, orders_topic, inventory_topic, group)
    try:
        service.seed_stock(GUIDE_STOCK)
        assert service.run(StopWhen(max_messages=4, idle_timeout=8)) == 4
        stock = service.stock()
    finally:
        service.close()

    # prod_3 has none, so the second order reserves nothing at all (not even prod_1);
    # the redelivered first order reserves nothing twice.
    assert stock == {"prod_1": 98, "prod_2": 49, "prod_3": 0}
    results = kafka_read(inventory_topic, min_records=3)
    assert_delivered(results, [ok["order_id"], short["order_id"]], id_of=order_id_of,
                     exactly_once=False, allow_extra=False)
    assert all(r.key == r.value["data"]["order_id"] for r in results)
    answers = {(r.key, r.value["event_type"], r.value["event_id"]) for r in results}
    assert len(answers) == 2, "the repeated answer for `ok` has the same type and event_id"
    failed = next(r.value for r in results if r.key == short["order_id"])
    assert failed["data"] == {"order_id": short["order_id"], "success": False,
                              "reason": "prod_3 needs 1, has 0"}
    assert_exactly_once_effect(redis_client.hkeys("inventory:reservations"),
                               [ok, short], id_of=order_id_of, allow_extra=False)
    eventually(lambda: assert_group_caught_up(kafka_bootstrap_servers, group, orders_topic))


def run_in_threads(instances: list, until: Callable[[], StopWhen]) -> tuple[list, list]:
    """Start ``instance.run(until())`` for each instance; return (threads, errors)."""
    errors: list[BaseException] = []

    def run(instance) -> None:
        try:
            instance.run(until())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(instance,), daemon=True)
               for instance in instances]
    for thread in threads:
        thread.start()
    return threads, errors


def oversell_race(version: str, connection: Connection, orders_topic: str,
                  inventory_topic: str, kafka_read, redis_client) -> tuple[list[str], list, int]:
    """Two instances of ``version`` in one group, one partition each (``orders_topic``
    has two), six orders of one unit of ``prod_9``, three in stock; returns
    (order ids, result records, stock now)."""
    prefix = f"{version}-inventory"
    redis_client.hset(f"{prefix}:stock", "prod_9", 3)
    group = f"inventory-{orders_topic}"
    line_up = threading.Barrier(2, timeout=10)
    instances: list[InventoryService | NaiveInventoryService] = [
        InventoryService(connection, orders_topic, inventory_topic, group, key_prefix=prefix)
        if version == "ours" else
        NaiveInventoryService(connection, orders_topic, inventory_topic, group,
                              key_prefix=prefix, between_check_and_act=line_up.wait)
        for _ in range(2)
    ]
    stop = threading.Event()
    try:
        threads, errors = run_in_threads(
            instances, lambda: StopWhen(max_messages=3, idle_timeout=20, stop=stop))

        def one_partition_each() -> None:
            assert [len(i.consumer.assignment()) for i in instances] == [1, 1]

        eventually(one_partition_each, timeout=15)
        publisher = OrderService(connection, orders_topic,
                                 new_order_id=order_ids_round_robin(2).__next__)
        try:
            order_ids = [publisher.create_order(f"user_{n}", [item("prod_9", 1)])["order_id"]
                         for n in range(6)]
        finally:
            publisher.close()
        for thread in threads:
            thread.join(timeout=20)
        assert not errors
    finally:
        stop.set()
        for instance in instances:
            instance.close()
    results = kafka_read(inventory_topic, min_records=6)
    return order_ids, results, int(redis_client.hget(f"{prefix}:stock", "prod_9"))


def test_two_instances_never_oversell_the_last_units_where_the_guides_do(
    connection, kafka_topic_factory, kafka_read, redis_client
):
    """Exactly three of six orders get the three units, whichever instance takes them.
    The guide's check-then-act, with both instances lined up between check and act (the
    window a busy server opens by chance), reserves four: stock -1. Both races run side
    by side, each on its own topics and stock."""
    topics = {version: (kafka_topic_factory(f"{version}-orders", partitions=2),
                        kafka_topic_factory(f"{version}-inventory"))
              for version in ("ours", "guide")}
    with ThreadPoolExecutor(2) as pool:
        ours, guides = (
            pool.submit(oversell_race, version, connection, *topics[version], kafka_read,
                        redis_client)
            for version in ("ours", "guide"))
        (order_ids, results, stock_now), (guide_ids, guide_results, guide_stock) = (
            ours.result(), guides.result())

    assert_delivered(results, order_ids, id_of=order_id_of, allow_extra=False)
    reserved = sum(1 for r in results if r.value["data"]["success"])
    assert_not_oversold("prod_9", 3, stock_now, reserved)
    assert reserved == 3

    assert_delivered(guide_results, guide_ids, id_of=order_id_of, allow_extra=False)
    guide_reserved = sum(1 for r in guide_results if r.value["data"]["success"])
    with pytest.raises(AssertionError, match="oversold: prod_9 stock is -1"):
        assert_not_oversold("prod_9", 3, guide_stock, guide_reserved)
