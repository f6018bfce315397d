"""Property-based: clean event streams always pass; any injected fault is always caught."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_kafka_patterns import (
    Record,
    assert_delivered,
    assert_exactly_once_effect,
    assert_ordered_by_key,
    assert_routed_to_dlq,
)
from pytest_kafka_patterns.factories import dlq_entry

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def make_events(keys: list[int]) -> list[dict[str, Any]]:
    return [
        {"event_type": "order.status_changed", "event_id": f"evt-{i}",
         "data": {"order_id": f"order_{i:08x}", "seq": i}, "key": f"user_{k}"}
        for i, k in enumerate(keys)
    ]


def publish(events: list[dict[str, Any]], partitions: int) -> list[Record]:
    """What a correct producer + broker yield: key-hashed partitions, produce order."""
    next_offset = [0] * partitions
    out = []
    for event in events:
        p = int(event["key"].split("_")[1]) % partitions
        out.append(Record("t", p, next_offset[p], event["key"], event))
        next_offset[p] += 1
    return sorted(out, key=lambda r: (r.partition, r.offset))


streams = st.tuples(
    st.lists(st.integers(0, 6), min_size=1, max_size=40),  # key of each event
    st.integers(1, 4),  # partitions
)


@SETTINGS
@given(streams)
def test_clean_streams_pass_everything(stream: tuple[list[int], int]) -> None:
    keys, partitions = stream
    events = make_events(keys)
    records = publish(events, partitions)
    assert_delivered(records, events, allow_extra=False)
    assert_ordered_by_key(records, expected=events)
    assert_ordered_by_key(records, seq_of=lambda v: v["data"]["seq"])
    assert_exactly_once_effect([r.value["event_id"].encode() for r in records], events)


@SETTINGS
@given(streams, st.data())
def test_dropped_record_is_caught(stream: tuple[list[int], int], data: st.DataObject) -> None:
    events = make_events(stream[0])
    records = publish(events, stream[1])
    lost = records.pop(data.draw(st.integers(0, len(records) - 1)))
    with pytest.raises(AssertionError, match=lost.value["event_id"]):
        assert_delivered(records, events)
    with pytest.raises(AssertionError, match="without an effect"):
        assert_exactly_once_effect([r.value["event_id"] for r in records], events)


@SETTINGS
@given(streams, st.data())
def test_duplicated_record_is_caught(stream: tuple[list[int], int], data: st.DataObject) -> None:
    events = make_events(stream[0])
    records = publish(events, stream[1])
    copy = records[data.draw(st.integers(0, len(records) - 1))]
    again = Record(copy.topic, copy.partition, 10_000, copy.key, copy.value)
    with pytest.raises(AssertionError, match="more than once"):
        assert_delivered([*records, again], events)
    with pytest.raises(AssertionError, match="more than one"):
        assert_exactly_once_effect([r.value["event_id"] for r in [*records, again]], events)
    with pytest.raises(AssertionError, match="out of order"):
        assert_ordered_by_key([*records, again], expected=events)


@SETTINGS
@given(st.lists(st.integers(0, 3), min_size=2, max_size=30), st.data())
def test_swapped_records_of_one_key_are_caught(keys: list[int], data: st.DataObject) -> None:
    events = make_events(keys)
    records = publish(events, 2)
    by_key: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_key.setdefault(str(record.key), []).append(index)
    candidates = [idx for idx in by_key.values() if len(idx) >= 2]
    if not candidates:
        return
    chosen = data.draw(st.sampled_from(candidates))
    i, j = sorted(data.draw(st.lists(st.sampled_from(chosen), min_size=2, max_size=2,
                                     unique=True)))
    a, b = records[i], records[j]
    records[i] = Record(a.topic, a.partition, a.offset, a.key, b.value)
    records[j] = Record(b.topic, b.partition, b.offset, b.key, a.value)
    with pytest.raises(AssertionError, match="out of order"):
        assert_ordered_by_key(records, expected=events)
    with pytest.raises(AssertionError, match="not greater"):
        assert_ordered_by_key(records, seq_of=lambda v: v["data"]["seq"])


@SETTINGS
@given(streams, st.data())
def test_key_moved_to_another_partition_is_caught(
    stream: tuple[list[int], int], data: st.DataObject
) -> None:
    keys, partitions = stream
    events = make_events(keys)
    records = publish(events, partitions)
    moved = data.draw(st.integers(0, len(records) - 1))
    target = records[moved]
    same_key = [r for r in records if r.key == target.key]
    if len(same_key) < 2:
        return
    records[moved] = Record("t", target.partition + 1, 0, target.key, target.value)
    with pytest.raises(AssertionError, match=f"key '{target.key}' spread over 2 partitions"):
        assert_ordered_by_key(records)


@SETTINGS
@given(st.lists(st.booleans(), min_size=1, max_size=30), st.integers(0, 5), st.data())
def test_dlq_faults_are_caught(
    is_poison: list[bool], retries: int, data: st.DataObject
) -> None:
    events = make_events(list(range(len(is_poison))))
    poison = [e for e, bad in zip(events, is_poison, strict=True) if bad]
    good = [e for e, bad in zip(events, is_poison, strict=True) if not bad]
    dlq = [Record("t.dlq", 0, i, None, dlq_entry(e, retry_count=retries))
           for i, e in enumerate(poison)]
    assert_routed_to_dlq(dlq, poison, processed=good, max_retries=retries)
    fault = data.draw(st.sampled_from(["drop", "good", "retries", "processed", "no_error"]))
    if fault == "drop" and dlq:
        dlq.pop(data.draw(st.integers(0, len(dlq) - 1)))
    elif fault == "good" and good:
        dlq.append(Record("t.dlq", 0, 99, None, dlq_entry(good[0], retry_count=retries)))
    elif fault == "retries" and dlq:
        dlq[0] = Record("t.dlq", 0, 0, None, {**dlq[0].value, "_retry_count": retries + 1})
    elif fault == "processed" and poison:
        good = [*good, poison[-1]]
    elif fault == "no_error" and dlq:
        dlq[-1] = Record("t.dlq", 0, dlq[-1].offset, None,
                         {k: v for k, v in dlq[-1].value.items() if k != "_error"})
    else:
        return
    with pytest.raises(AssertionError, match="assert_routed_to_dlq: "):
        assert_routed_to_dlq(dlq, poison, processed=good, max_retries=retries)


transaction_ops = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(["send", "send", "commit", "abort", "plain"])),
    max_size=40,
)


@SETTINGS
@given(transaction_ops)
def test_read_committed_from_the_log_matches_kip_98(ops: list[tuple[int, str]]) -> None:
    """Issue 10 (2): interleaved transactions of several producers, plain records between:
    only committed and plain records below the first open transaction are read."""
    from pytest_kafka_patterns.reading import Transactions

    log = Transactions()
    records: list[Record] = []
    open_txn: dict[int, list[int]] = {}
    visible: set[int] = set()
    offset = 0
    for producer, op in ops:
        if op in ("send", "plain"):
            records.append(Record("t", 0, offset, None, {"n": offset}))
            if op == "plain":
                visible.add(offset)
            else:
                log.batches[0][offset] = (offset, producer)
                open_txn.setdefault(producer, []).append(offset)
        elif producer in open_txn:
            log.markers[0][offset] = (producer, op == "abort")
            sent = open_txn.pop(producer)
            if op == "commit":
                visible.update(sent)
        else:
            continue
        offset += 1
    stable = min((sent[0] for sent in open_txn.values()), default=offset)
    expected = sorted(o for o in visible if o < stable)
    assert [r.offset for r in log.committed_only(0, records)] == expected
    assert log.markers_in(0, 0, offset) == len(log.markers[0])
