"""assert_routed_to_dlq: each fault it claims to catch, and the guide's DLQ shape passing."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_kafka_patterns import Record, assert_routed_to_dlq
from pytest_kafka_patterns.assertions.dlq import error_of
from pytest_kafka_patterns.factories import dlq_entry


def ev(n: int) -> dict[str, Any]:
    return {"event_type": "order.created", "event_id": f"e{n}", "data": {"order_id": f"o{n}"}}


def dlq(*values: Any, headers: list[tuple[str, bytes | None]] | None = None) -> list[Record]:
    return [Record("orders.dlq", 0, i, None, v, list(headers or [])) for i, v in enumerate(values)]


def test_guide_shaped_dlq_passes() -> None:
    poison = [ev(1), ev(2)]
    entries = dlq(*(dlq_entry(p, retry_count=3) for p in poison))
    assert_routed_to_dlq(entries, poison, processed=[ev(3), "e4"], max_retries=3)


def test_error_and_retry_count_may_come_from_headers() -> None:
    entries = dlq(ev(1), headers=[("error", b"KeyError: items"), ("retry_count", b"2")])
    assert_routed_to_dlq(entries, ["e1"], max_retries=2)


def test_repeated_headers_count_by_their_last_value() -> None:
    """A retry topic appends one ``error``/``retry_count`` header per attempt."""
    attempts = [("error", b"KeyError: a"), ("retry_count", b"1"),
                ("error", b"KeyError: b"), ("retry_count", b"2")]
    assert error_of(dlq(ev(1), headers=attempts)[0]) == "KeyError: b"
    assert_routed_to_dlq(dlq(ev(1), headers=attempts), ["e1"], max_retries=2)
    nulled = dlq(ev(1), headers=[("error", b"KeyError: a"), ("error", None)])
    assert error_of(nulled[0]) is None  # the last error header is null: no error info


def test_missing_poison_points_at_processed() -> None:
    with pytest.raises(AssertionError) as info:
        assert_routed_to_dlq(dlq(), [ev(1)], processed=[Record("orders", 1, 7, None, ev(1))])
    message = str(info.value)
    assert message.startswith("assert_routed_to_dlq: 1 poison event(s) not in the DLQ, "
                              "1 poison event(s) also processed")
    assert "found in processed instead at orders[1]@7" in message
    assert "e1 processed at orders[1]@7" in message


def test_twice_in_dlq() -> None:
    entry = dlq_entry(ev(1))
    with pytest.raises(AssertionError, match=r"e1 x2 at orders.dlq\[0\]@0, orders.dlq\[0\]@1"):
        assert_routed_to_dlq(dlq(entry, entry), [ev(1)])


def test_entry_without_error_info() -> None:
    with pytest.raises(AssertionError, match=r"without error info \(no _error field, no error "
                       r"header\) \(1\):\n    - e1  order.created order_id=o1  at orders.dlq"):
        assert_routed_to_dlq(dlq(ev(1)), [ev(1)])


def test_wrong_retry_count() -> None:
    with pytest.raises(AssertionError) as info:
        assert_routed_to_dlq(dlq(dlq_entry(ev(1), retry_count=1)), [ev(1)], max_retries=3)
    message = str(info.value)
    assert "1 with a retry count other than 3" in message
    assert "retry count 1" in message
    with pytest.raises(AssertionError, match="retry count None"):
        assert_routed_to_dlq(dlq({**ev(1), "_error": "x"}), [ev(1)], max_retries=3)


def test_good_event_in_dlq() -> None:
    entries = dlq(dlq_entry(ev(1)), dlq_entry(ev(2), error="timeout"), b"\x00raw")
    with pytest.raises(AssertionError) as info:
        assert_routed_to_dlq(entries, [ev(1)])
    message = str(info.value)
    assert "2 non-poison record(s) in the DLQ" in message
    assert "e2  order.created order_id=o2  at orders.dlq[0]@1  error: timeout" in message
    assert "\n    - b'\\x00raw'  at orders.dlq[0]@2" in message  # a raw value is its own id


def test_poison_also_processed() -> None:
    with pytest.raises(AssertionError, match="1 poison event"):
        assert_routed_to_dlq(dlq(dlq_entry(ev(1))), [ev(1)], processed=[b"e1"])


def test_raw_bytes_poison_is_matched_by_value() -> None:
    """Issue 10 (5): non-JSON poison was both "not in the DLQ" and "not poison but in it"."""
    entries = dlq(b"\x00not-json", headers=[("error", b"JSONDecodeError")])
    assert_routed_to_dlq(entries, [b"\x00not-json"])
    original = Record("orders", 2, 9, "k", b"\x00not-json")  # the poison as it was read
    assert_routed_to_dlq(entries, [original])
    with pytest.raises(AssertionError) as info:
        assert_routed_to_dlq(entries, [b"\x00other"])
    message = str(info.value)
    assert "1 poison event(s) not in the DLQ, 1 non-poison record(s) in the DLQ" in message
    assert "b'\\x00not-json'  at orders.dlq[0]@0  error: JSONDecodeError" in message


def test_control_bytes_are_escaped_in_messages() -> None:
    entries = dlq(b"\x1b[31mred", headers=[("error", "line 1\nline 2\x1b[0m\x9b".encode())])
    with pytest.raises(AssertionError) as info:
        assert_routed_to_dlq(entries, ["id-\x1b[2J\x00\nnext", ev(5)])
    message = str(info.value)
    assert not [c for c in message if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0]
    assert "id-\\x1b[2J\\x00\\nnext" in message
    assert "error: line 1\\nline 2\\x1b[0m\\x9b" in message


def test_summary_fields_with_newlines_stay_on_one_line() -> None:
    bad = {"event_type": "order.created\n- fake line", "event_id": "e9",
           "data": {"order_id": "o\x1b[2J"}}
    with pytest.raises(AssertionError) as info:
        assert_routed_to_dlq(dlq(bad, headers=[("error", b"x")]), [ev(1)])
    assert "e9  order.created\\n- fake line order_id=o\\x1b[2J  at orders.dlq[0]@0" in str(
        info.value)
