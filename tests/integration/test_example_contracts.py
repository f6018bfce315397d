"""Consumer contracts of the examples: the naive versions fail the scenario that exposes
their bug (negative controls, kept green by asserting the failure), and the order
service's real events match the email contract.

That the examples' own consumers keep their contracts is CI's one-line job:
``pytest --kafka-contracts examples/contracts`` (one test per scenario).
Here (tests/, not examples/) because fault scenarios take tens of seconds each.
"""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from examples.order_system.order_service import OrderService
from examples.order_system.runtime import Connection
from pytest_kafka_patterns import read_topic
from pytest_kafka_patterns.capabilities import kafka_python_major
from pytest_kafka_patterns.contracts import check_messages, load_contract, parse_contract
from pytest_kafka_patterns.contracts.pytest_items import make_verify

CONTRACTS = Path(__file__).resolve().parents[2] / "examples" / "contracts"
RUNNERS = "examples.contracts.runners"
CONFLUENT_RUNNERS = "examples.contracts.confluent_runners"


@pytest.fixture
def verify(request, redis_client):  # redis_client: an empty database per test
    """What the plugin's ``verify_contract`` fixture gives (made here so this module runs
    whether or not the contracts plugin is registered)."""
    return make_verify(request)


def contract(name):
    return load_contract(next(CONTRACTS.glob(f"{name}.contract.*")))


def assert_no_consumer_left():
    left = [p for p in psutil.Process().children(recursive=True)
            if "pytest_kafka_patterns.contracts" in " ".join(p.cmdline())]
    assert not left, left


def test_naive_idempotent_consumer_loses_events_after_a_crash(verify):
    """Its ``commit()`` after each message commits the positions of the whole polled
    batch: a crash mid-batch loses the rest of it. (Its check-then-act race, which
    charges twice, is shown in test_idempotent_consumer.py.)

    Which kill comes first depends on how the fetches are batched: the consumer SIGKILLs
    itself at its crash point, or (seen once under kafka-python 2.2.15: 5 effects, then
    its group caught up) its commits have already passed records it never processed, it
    has nothing left to read, and the harness kills it as stalled before its crash point.
    Either way events are lost, which is what this shows."""
    [result] = verify(contract("idempotent_consumer"), scenarios=["crash"],
                      consumer=f"{RUNNERS}:naive_idempotent_consumer", seed=5, check=False)
    with pytest.raises(AssertionError, match=r"(?s)seed 5.*SIGKILLed (itself at effect #|by "
                       r"the harness \(stalled before its crash point\)).*"
                       r"assert_exactly_once_effect: \d+ of 20 event\(s\) without an effect"):
        result.check()
    assert_no_consumer_left()


def test_naive_retry_consumer_never_dead_letters_poison(verify):
    """Nothing reads the retry topic: poison never reaches the DLQ."""
    [result] = verify(contract("retry_dlq_consumer"), scenarios=["poison"],
                      consumer=f"{RUNNERS}:naive_retry_dlq_consumer", seed=5, check=False)
    with pytest.raises(AssertionError, match=r"(?s)poisoned 2 event.*"
                       r"assert_routed_to_dlq: 2 poison event\(s\) not in the DLQ"):
        result.check()


def test_naive_email_service_loses_a_failed_email(verify):
    """A failed send is skipped by the next commit: the email is never sent."""
    [result] = verify(contract("email_service"), scenarios=["poison"],
                      consumer=f"{RUNNERS}:naive_email_service", seed=5, check=False)
    with pytest.raises(AssertionError,
                       match=r"assert_delivered: 2 of 20 expected event\(s\) missing"):
        result.check()


def test_naive_confluent_email_service_loses_a_failed_email(verify):
    """librdkafka stores each offset as ``poll()`` hands the message over
    (``enable.auto.offset.store`` default): a failed send is committed with the next
    ones and never retried. The same contract with the runner that stores offsets after
    the send passes (``confluent_email_service.contract.yaml``)."""
    pytest.importorskip("confluent_kafka")
    [result] = verify(contract("confluent_email_service"), scenarios=["poison"],
                      consumer=f"{CONFLUENT_RUNNERS}:naive_confluent_email_service", seed=5,
                      check=False)
    with pytest.raises(AssertionError,
                       match=r"assert_delivered: 2 of 20 expected event\(s\) missing"):
        result.check()
    assert_no_consumer_left()


@pytest.mark.parametrize("name", ["inventory_service", "analytics_service"])
def test_naive_inventory_and_analytics_act_twice_on_a_redelivered_order(verify, name):
    """No record of handled orders: every delivery reserves stock again (inventory) or
    adds to the totals again (analytics)."""
    [result] = verify(contract(name), scenarios=["duplicates"],
                      consumer=f"{RUNNERS}:naive_{name}", seed=5, check=False)
    with pytest.raises(AssertionError,
                       match=r"assert_exactly_once_effect: 10 with more than one"):
        result.check()


def test_naive_batch_consumer_loses_a_failed_batch(verify):
    """A failed batch is logged and skipped: its events never get processed."""
    [result] = verify(contract("batch_consumer").with_faults(timeout=10), scenarios=["poison"],
                      consumer=f"{RUNNERS}:naive_batch_consumer", seed=5, check=False)
    with pytest.raises(AssertionError,
                       match=r"assert_delivered: \d+ of 20 expected event\(s\) missing"):
        result.check()


@pytest.mark.skipif(kafka_python_major() < 3, reason="kafka-python 2's poll() retries a "
                    "dropped connection by itself: the naive loop survives the cut there")
def test_naive_email_service_dies_when_the_connection_drops(verify):
    """The guide's loop has nothing around ``poll()``, and kafka-python 3 raises
    ``KafkaConnectionError`` from it during a cut: the service exits. A ``supervised``
    contract accepts that (a restart recovers every email); the default does not."""
    email = contract("email_service")
    naive = f"{RUNNERS}:naive_email_service"
    [result] = verify(email, scenarios=["network"], consumer=naive, seed=5, check=False)
    with pytest.raises(AssertionError, match=r"(?s)proxy: cut every connection.*"
                       r"consumer #1 did not survive the cut: it exited with 1 \(.*Error"):
        result.check()

    [supervised] = verify(email.with_faults(supervised=True), scenarios=["network"],
                          consumer=naive, seed=5)
    assert any("restarting it, as a supervisor would" in entry
               for entry in supervised.timeline), supervised.report()
    assert_no_consumer_left()


def test_order_service_events_match_the_email_contract(kafka_broker, kafka_topic):
    service = OrderService(Connection(bootstrap_servers=kafka_broker.bootstrap_servers),
                           kafka_topic)
    try:
        for user in ("user_1", "user_2"):
            order = service.create_order(user, [
                {"product_id": "prod_1", "name": "Widget", "price": 29.99, "quantity": 2}])
            service.update_order_status(order["order_id"], "confirmed")
    finally:
        service.close()
    records = read_topic(kafka_broker.bootstrap_servers, kafka_topic, min_records=4)
    assert len(records) == 4
    check_messages(contract("email_service"), records)


def test_violations_are_reported_field_by_field(kafka_broker, kafka_topic, kafka_producer):
    good = {"event_type": "order.created", "event_id": "evt-1", "timestamp": "t",
            "data": {"order_id": "order_1", "user_id": "user_1", "total": 12.5, "status":
                     "pending", "created_at": "t",
                     "items": [{"product_id": "p", "price": 12.5, "quantity": 1}]}}
    string_total = {**good, "event_id": "evt-2", "data": {**good["data"], "total": "12.50"}}
    no_order_id = {**good, "event_id": "evt-3",
                   "data": {k: v for k, v in good["data"].items() if k != "order_id"}}
    kafka_producer.send(kafka_topic, key="order_1", value=good, partition=0)
    kafka_producer.send(kafka_topic, key="order_1", value=string_total, partition=0)
    kafka_producer.send(kafka_topic, key="user_1", value=no_order_id, partition=0)
    kafka_producer.flush()
    records = read_topic(kafka_broker.bootstrap_servers, kafka_topic, min_records=3)

    with pytest.raises(AssertionError) as failure:
        check_messages(contract("email_service"), records)
    message = str(failure.value)
    assert "contract 'email-service': 2 of 3 record(s) violate it" in message
    assert "[0]@1 key='order_1' order.created event_id=evt-2" in message
    assert "data.total: '12.50' is not of type 'number' (value: \"12.50\")" in message
    assert "data.order_id: required field missing" in message
    assert "key: cannot be checked: value has no data.order_id (value: \"user_1\")" in message
    assert "evt-1" not in message


def test_naive_payments_ledger_books_a_replayed_payment_twice(verify):
    """A consumer that has nothing to do with orders (its own schemas, event types, id and
    key fields), with events generated from its schemas: without a claim, every replayed
    payment is booked again."""
    [result] = verify(contract("payments_ledger"), scenarios=["duplicates"],
                      consumer=f"{RUNNERS}:naive_payments_ledger", seed=5, check=False)
    with pytest.raises(AssertionError, match=r"(?s)produced 40 event\(s\) on 4 key\(s\).*"
                       r"assert_exactly_once_effect: \d+ with more than one"):
        result.check()


@pytest.mark.parametrize(("events", "scenario"), [
    ({"file": "../payments/sample_events.jsonl"}, "duplicates"),
    ({"factory": "examples.payments.factories:payment_events"}, "poison"),
], ids=["file", "factory"])
def test_payments_ledger_with_events_from_a_file_or_a_factory(verify, events, scenario):
    path = CONTRACTS / "payments_ledger.contract.json"
    document = json.loads(path.read_text())
    document["events"] = events
    document["faults"] = {"events": 8, "poison": 1, "seed": 5}
    [result] = verify(parse_contract(document, path=path), scenarios=[scenario])
    produced = 24 if "file" in events else 8  # duplicates: the file's 12 events, twice
    assert any(f"produced {produced} event(s)" in entry for entry in result.timeline), \
        result.report()
    assert not result.notes, result.report()  # e.g. poison that never reached check_poison
