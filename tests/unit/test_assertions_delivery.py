"""assert_delivered on hand-made records: passes on correct data, names each fault."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_kafka_patterns import Record, assert_delivered, order_id_of


def event(n: int, **data: Any) -> dict[str, Any]:
    return {
        "event_type": "order.created",
        "event_id": f"evt-{n:04d}",
        "timestamp": "2025-01-01T00:00:00",
        "data": {"order_id": f"order_{n:08x}", "user_id": "user_001", **data},
    }


def records(*values: Any, partition: int = 0) -> list[Record]:
    return [Record("orders", partition, offset, "user_001", v) for offset, v in enumerate(values)]


def test_passes_with_dicts_ids_and_records_as_expected() -> None:
    sent = [event(1), event(2)]
    got = records(*sent)
    assert_delivered(got, sent)
    assert_delivered(got, ["evt-0001", "evt-0002"])
    assert_delivered(got, got, allow_extra=False)


def test_missing_event_is_named_with_near_miss() -> None:
    sent = [event(1), event(2)]
    replayed = dict(sent[1], event_id="evt-9999")  # same payload, new id
    with pytest.raises(AssertionError) as info:
        assert_delivered(records(sent[0], replayed), sent)
    message = str(info.value)
    assert message.startswith("assert_delivered: 1 of 2 expected event(s) missing\n")
    assert "  missing (1):\n    - evt-0002  order.created order_id=order_00000002" in message
    assert "near miss: orders[0]@1 has the same event_type and data, id evt-9999" in message
    assert "read: 2 record(s) from orders (p0: offsets 0-1)" in message


def test_near_miss_same_order_different_data() -> None:
    sent = event(1, total=10.0)
    changed = dict(sent, event_id="zzz", data={**sent["data"], "total": 11.0})
    with pytest.raises(AssertionError, match=r"is order.created for the same order, id zzz, "
                       r"differs in data.total"):
        assert_delivered(records(changed), [sent])


def test_duplicate_is_reported_with_offsets() -> None:
    sent = [event(1), event(2)]
    with pytest.raises(AssertionError) as info:
        assert_delivered(records(sent[0], sent[1], sent[1]), sent)
    message = str(info.value)
    assert "1 delivered more than once" in message
    assert "evt-0002 x2 at orders[0]@1, orders[0]@2" in message


def test_duplicates_allowed_without_exactly_once() -> None:
    sent = [event(1)]
    assert_delivered(records(sent[0], sent[0]), sent, exactly_once=False)


def test_unexpected_only_fails_without_allow_extra() -> None:
    sent = [event(1)]
    got = records(sent[0], event(7), b"\xffpoison")
    assert_delivered(got, sent)
    with pytest.raises(AssertionError) as info:
        assert_delivered(got, sent, allow_extra=False)
    message = str(info.value)
    assert "2 unexpected record(s)" in message
    assert "evt-0007  order.created order_id=order_00000007 user_id=user_001  at orders[0]@1" \
        in message
    assert "\n    - b'\\xffpoison'  at orders[0]@2" in message  # a raw value is its own id


def test_custom_id_of() -> None:
    sent = [event(1), event(2)]
    assert_delivered(records(*sent), ["order_00000001"], id_of=order_id_of)
    with pytest.raises(AssertionError, match="order_00000003"):
        assert_delivered(records(*sent), ["order_00000003"], id_of=order_id_of)


def test_wrong_id_of_gets_a_hint() -> None:
    with pytest.raises(AssertionError, match=r"note: none of the 1 record\(s\) has an id"):
        assert_delivered(records({"id": 1}), ["x"])


def test_expected_item_without_id_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match=r"expected\[0\] has no id"):
        assert_delivered(records(event(1)), [{"no": "id"}])


def test_empty_read_reports_everything_missing() -> None:
    with pytest.raises(AssertionError, match=r"2 of 2 expected event\(s\) missing"):
        assert_delivered([], [event(1), event(2)])


def test_long_lists_are_capped() -> None:
    sent = [event(n) for n in range(30)]
    with pytest.raises(AssertionError) as info:
        assert_delivered([], sent)
    assert "... and 10 more" in str(info.value)
