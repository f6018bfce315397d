"""assert_ordered_by_key: spread keys and inversions, by expected order or by seq_of."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_kafka_patterns import (
    Record,
    assert_delivered,
    assert_exactly_once_effect,
    assert_ordered_by_key,
    assert_routed_to_dlq,
)


def ev(n: int, seq: int | None = None) -> dict[str, Any]:
    return {"event_type": "order.status_changed", "event_id": f"e{n}", "seq": seq, "data": {}}


def rec(partition: int, offset: int, key: str | None, value: Any) -> Record:
    return Record("orders", partition, offset, key, value)


def test_passes_when_each_key_in_one_partition_and_in_order() -> None:
    sent = [ev(1), ev(2), ev(3), ev(4)]
    got = [rec(0, 0, "a", sent[0]), rec(1, 0, "b", sent[1]), rec(0, 1, "a", sent[2]),
           rec(1, 1, "b", sent[3])]
    assert_ordered_by_key(got, expected=sent)
    assert_ordered_by_key(got)  # partition rule only


def test_spread_key_is_reported_with_partitions_and_offsets() -> None:
    got = [rec(0, 0, "a", ev(1)), rec(2, 0, "a", ev(2)), rec(0, 1, "a", ev(3))]
    with pytest.raises(AssertionError) as info:
        assert_ordered_by_key(got)
    message = str(info.value)
    assert message.startswith("assert_ordered_by_key: 1 key(s) spread over several partitions")
    assert "key 'a' spread over 2 partitions: p0 (offsets 0, 1), p2 (offset 0)" in message


def test_inversion_against_expected() -> None:
    sent = [ev(1), ev(2), ev(3)]
    got = [rec(0, 0, "a", sent[0]), rec(0, 1, "a", sent[2]), rec(0, 2, "a", sent[1])]
    with pytest.raises(AssertionError) as info:
        assert_ordered_by_key(got, expected=sent)
    assert (
        "key 'a': orders[0]@2 order.status_changed (produced #2) came after orders[0]@1 "
        "order.status_changed (produced #3)"
    ) in str(info.value)


def test_records_are_sorted_by_offset_before_checking() -> None:
    sent = [ev(1), ev(2)]
    assert_ordered_by_key([rec(0, 5, "a", sent[1]), rec(0, 4, "a", sent[0])], expected=sent)


def test_repeat_is_an_inversion() -> None:
    sent = [ev(1), ev(2)]
    got = [rec(0, 0, "a", sent[0]), rec(0, 1, "a", sent[0]), rec(0, 2, "a", sent[1])]
    with pytest.raises(AssertionError, match=r"orders\[0\]@1 .* repeats orders\[0\]@0"):
        assert_ordered_by_key(got, expected=sent)


def test_seq_of_inversion() -> None:
    got = [rec(0, 0, "a", ev(1, 1)), rec(0, 1, "a", ev(2, 3)), rec(0, 2, "a", ev(3, 2))]
    with pytest.raises(AssertionError, match=r"key 'a': seq 2 at orders\[0\]@2 is not greater "
                       r"than seq 3 at orders\[0\]@1"):
        assert_ordered_by_key(got, seq_of=lambda v: v["seq"])
    assert_ordered_by_key(got[:2], seq_of=lambda v: v["seq"])


def test_seq_of_must_strictly_increase() -> None:
    got = [rec(0, 0, "a", ev(1, 1)), rec(0, 1, "a", ev(2, 1))]
    with pytest.raises(AssertionError, match="is not greater"):
        assert_ordered_by_key(got, seq_of=lambda v: v["seq"])


def test_seq_of_failure_is_reported_not_raised() -> None:
    got = [rec(0, 0, "a", ev(1, 1)), rec(0, 1, "a", b"poison")]
    with pytest.raises(AssertionError, match=r"seq_of failed on 1 record"):
        assert_ordered_by_key(got, seq_of=lambda v: v["seq"])


def test_null_keys_are_skipped_and_custom_key_of() -> None:
    got = [rec(0, 0, None, ev(1)), rec(1, 0, None, ev(2))]
    assert_ordered_by_key(got)
    with pytest.raises(AssertionError, match=r"key 'order\.status_changed' spread"):
        assert_ordered_by_key(got, key_of=lambda r: r.value["event_type"])


def test_expected_that_matches_nothing_fails_instead_of_passing_vacuously() -> None:
    with pytest.raises(AssertionError, match="nothing to check"):
        assert_ordered_by_key([rec(0, 0, "a", ev(1))], expected=[ev(9)])


def test_expected_and_seq_of_are_exclusive() -> None:
    with pytest.raises(ValueError, match="not both"):
        assert_ordered_by_key([], expected=[], seq_of=lambda v: v)


def seq(value: Any) -> Any:
    return value["seq"]


def test_tombstones_are_skipped_in_every_mode() -> None:
    """Issue 10 (4): a tombstone (null value) is a deletion, not an event."""
    sent = [ev(1, 1), ev(2, 2)]
    got = [rec(0, 0, "a", sent[0]), rec(0, 1, "a", None), rec(0, 2, "a", sent[1]),
           rec(1, 0, "a", None)]  # even a tombstone elsewhere is no spread key
    assert_ordered_by_key(got, seq_of=seq)
    assert_ordered_by_key(got, expected=sent)
    assert_ordered_by_key(got)


def test_seq_of_returning_none_names_the_record() -> None:
    got = [rec(0, 0, "a", ev(1, 1)), rec(0, 1, "a", ev(2, None))]
    with pytest.raises(AssertionError) as info:
        assert_ordered_by_key(got, seq_of=seq)
    assert "orders[0]@1 key='a'" in str(info.value)
    assert "seq_of=seq returned None" in str(info.value)


def test_incomparable_seqs_name_both_records() -> None:
    got = [rec(0, 0, "a", ev(1, 1)), rec(0, 1, "a", ev(2, "2"))]
    with pytest.raises(AssertionError) as info:
        assert_ordered_by_key(got, seq_of=seq)
    message = str(info.value)
    assert "orders[0]@1 key='a'" in message
    assert "seq '2' cannot be compared with seq 1 at orders[0]@0: TypeError" in message


def boom(item: Any) -> Any:
    raise RuntimeError("boom")


@pytest.mark.parametrize("call", [
    lambda got: assert_ordered_by_key(got, key_of=boom),
    lambda got: assert_ordered_by_key(got, key_of=lambda r: [r.key]),
    lambda got: assert_ordered_by_key(got, expected=[ev(1)], id_of=lambda item: (
        boom(item) if isinstance(item, Record) else item["event_id"])),
    lambda got: assert_delivered(got, ["e1"], id_of=lambda item: (
        boom(item) if isinstance(item, Record) else item)),
    lambda got: assert_exactly_once_effect(got, ["e1"], effect_id_of=boom),
    lambda got: assert_routed_to_dlq(got, ["e1"], id_of=lambda item: (
        boom(item) if isinstance(item, Record) else item)),
], ids=["key_of", "unhashable key_of", "ordering id_of", "delivery id_of", "effect_id_of",
        "dlq id_of"])
def test_a_failing_callback_is_an_assertion_naming_the_record(call: Any) -> None:
    """Issue 10 (4): never a raw crash from the user's callback."""
    with pytest.raises(AssertionError) as info:
        call([rec(0, 3, "a", ev(1, 1))])
    message = str(info.value)
    if isinstance(info.value.__cause__, RuntimeError):
        assert "raised RuntimeError: boom on orders[0]@3" in message
    else:
        assert "returned an unhashable key ['a'] (unhashable type: 'list') for orders[0]@3" \
            in message
