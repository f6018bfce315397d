"""assert_exactly_once_effect with Redis-like bytes ids, dicts and records."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_kafka_patterns import Record, assert_exactly_once_effect, order_id_of


def ev(n: int) -> dict[str, Any]:
    return {"event_type": "order.created", "event_id": f"e{n}", "data": {"order_id": f"o{n}"}}


def test_bytes_ids_from_redis_pass() -> None:
    assert_exactly_once_effect([b"o1", b"o2"], [ev(1), ev(2)], id_of=order_id_of)
    assert_exactly_once_effect(["e1", b"e2"], [ev(1), ev(2)])


def test_dict_and_record_effects() -> None:
    charges = [{"order_id": "o1", "amount": 5}, {"order_id": "o2", "amount": 7}]
    assert_exactly_once_effect(charges, [ev(1), ev(2)], id_of=order_id_of)
    out = [Record("payments", 0, i, None, {"event_id": f"e{i + 1}"}) for i in range(2)]
    assert_exactly_once_effect(out, [ev(1), ev(2)])


def test_double_effect_is_counted() -> None:
    with pytest.raises(AssertionError) as info:
        assert_exactly_once_effect([b"o1", b"o2", b"o1", b"o1"], [ev(1), ev(2)], id_of=order_id_of)
    message = str(info.value)
    assert message.startswith("assert_exactly_once_effect: 1 with more than one")
    assert "    - o1 x3  order.created order_id=o1" in message
    assert "checked: 4 effect(s) for 2 event(s)" in message


def test_double_effect_records_show_locations() -> None:
    out = [Record("payments", 0, i, None, {"event_id": "e1"}) for i in range(2)]
    with pytest.raises(AssertionError, match=r"e1 x2 .* at payments\[0\]@0, payments\[0\]@1"):
        assert_exactly_once_effect(out, [ev(1)])


def test_missing_effect() -> None:
    with pytest.raises(AssertionError, match=r"1 of 2 event\(s\) without an effect"):
        assert_exactly_once_effect([b"o1"], [ev(1), ev(2)], id_of=order_id_of)


def test_extra_effect_fails_only_when_not_allowed_and_id_mix_up_gets_a_hint() -> None:
    assert_exactly_once_effect([b"o1", b"o9"], [ev(1)], id_of=order_id_of)
    with pytest.raises(AssertionError, match=r"1 effect\(s\) of no listed event"):
        assert_exactly_once_effect([b"o1", b"o9"], [ev(1)], id_of=order_id_of, allow_extra=False)
    with pytest.raises(AssertionError, match=r"hint: effect 'o1' equals the data.order_id"):
        assert_exactly_once_effect([b"o1"], [ev(1)])


def test_effect_id_of() -> None:
    rows = [("o1", 5)]
    assert_exactly_once_effect(rows, [ev(1)], id_of=order_id_of, effect_id_of=lambda r: r[0])
