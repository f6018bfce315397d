"""Checking records against a message contract, field by field."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pytest_kafka_patterns import Record
from pytest_kafka_patterns.contracts import check_messages, load_contract, violations
from pytest_kafka_patterns.contracts.scenarios import make_events

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"


@pytest.fixture(scope="module")
def email():
    return load_contract(EXAMPLES / "email_service.contract.yaml")


def created(**data):
    base = {"order_id": "order_1", "user_id": "user_1", "total": 10.0, "status": "pending",
            "created_at": "t", "items": [{"product_id": "p", "price": 10.0, "quantity": 1}]}
    return {"event_type": "order.created", "event_id": "e1", "timestamp": "t",
            "data": {**base, **data}}


def record(value, key="order_1", offset=0, headers=None):
    return Record("orders", 0, offset, key, value, headers or [])


def test_a_valid_event_has_no_violations(email):
    assert violations(email, created(), key="order_1") == []


def test_generated_scenario_events_satisfy_the_schemas(email):
    import random

    for event in make_events(random.Random(1), 20):
        assert violations(email, event, key=event["data"]["order_id"]) == []


def test_wrong_type_names_the_field_and_value(email):
    [problem] = violations(email, created(total="12.50"), key="order_1")
    assert str(problem) == "data.total: '12.50' is not of type 'number' (value: \"12.50\")"


def test_missing_field_and_nested_item(email):
    event = created(items=[{"product_id": "p", "price": -1, "quantity": 1}])
    del event["data"]["user_id"]
    found = [str(v) for v in violations(email, event, key="order_1")]
    assert found == ["data.user_id: required field missing",
                     "data.items.0.price: -1 is less than the minimum of 0 (value: -1)"]


def test_key_rules(email):
    assert [str(v) for v in violations(email, created(), key=None)] == [
        "key: missing (the contract requires a key)"]
    assert [str(v) for v in violations(email, created(), key=b"user_1")] == [
        "key: is not data.order_id ('order_1') (value: \"user_1\")"]


def test_required_headers_and_unknown_event_type(email):
    strict = replace(email, required_headers=("trace_id",))
    found = [str(v) for v in violations(strict, {"event_type": "order.deleted"}, key="k",
                                        headers={})]
    assert found[0] == 'key: cannot be checked: value has no data.order_id (value: "k")'
    assert found[1] == "headers.trace_id: required header missing"
    assert violations(strict, created(), key="order_1", headers={"trace_id": b"1"}) == []
    assert found[-1].startswith("event_type: no schema in the contract (known: order.created,")


def test_required_headers_read_kafka_header_lists(email):
    """Issue 10 (1): headers are (key, value) pairs, repeats kept; a null one is flagged."""
    strict = replace(email, required_headers=("trace_id",))
    repeated = record(created(), headers=[("trace_id", b"1"), ("trace_id", b"2")])
    check_messages(strict, [repeated])
    nulled = record(created(), headers=[("trace_id", b"1"), ("trace_id", None)])
    with pytest.raises(AssertionError, match=r"headers\.trace_id: required header is null"):
        check_messages(strict, [nulled])


def test_check_messages_lists_each_bad_record(email):
    bad = created(total="x")
    bad["event_id"] = "e2"
    with pytest.raises(AssertionError) as failure:
        check_messages(email, [record(created()), record(bad, offset=1), created(total=-5)])
    message = str(failure.value)
    assert message.splitlines()[0] == "contract 'email-service': 2 of 3 record(s) violate it"
    assert "orders[0]@1 key='order_1' order.created event_id=e2" in message
    assert "data.total: 'x' is not of type 'number'" in message
    assert "data.total: -5 is less than the minimum of 0" in message


def test_check_messages_passes_on_good_records(email):
    check_messages(email, [record(created())])
