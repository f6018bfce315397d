"""Ordering by key: one partition per key, and per-key order as produced."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from ..records import EventLike, RecordLike
from . import formatting
from .delivery import wanted_ids
from .formatting import call, callback_name, id_or_none
from .ids import IdOf, event_id_of, is_record


def record_key(record: Any) -> Any:
    """The record's (decoded) key."""
    return record.key


def _spread(key: Any, records: list[Any]) -> str:
    by_partition: dict[int, list[int]] = defaultdict(list)
    for record in records:
        by_partition[record.partition].append(record.offset)
    parts = [
        f"p{partition} (offset{'s' if len(found) > 1 else ''} {', '.join(map(str, found))})"
        for partition, found in sorted(by_partition.items())
    ]
    return f"key {key!r} spread over {len(by_partition)} partitions: {', '.join(parts)}"


def _inversion_by_expected(
    key: Any, records: list[Any], rank: dict[str, int], ids: dict[int, str | None]
) -> str | None:
    previous: tuple[int, Any] | None = None
    for record in records:
        ident = ids[id(record)]
        if ident is None or ident not in rank:
            continue
        if previous is not None and rank[ident] <= previous[0]:
            before = previous[1]
            verb = "repeats" if rank[ident] == previous[0] else "came after"
            return (
                f"key {key!r}: {formatting.where(record)} {formatting.summary(record)} "
                f"(produced #{rank[ident] + 1}) {verb} {formatting.where(before)} "
                f"{formatting.summary(before)} (produced #{previous[0] + 1})"
            )
        previous = (rank[ident], record)
    return None


def _inversion_by_seq(
    key: Any, records: list[Any], seq_of: Callable[[Any], Any], broken: list[str]
) -> str | None:
    previous: tuple[Any, Any] | None = None
    name = callback_name(seq_of)
    for record in records:
        try:
            seq = seq_of(record.value)
        except Exception as exc:  # a poison value must show up as a finding, not a crash
            broken.append(f"{formatting.describe_record(record)}: seq_of={name} raised "
                          f"{type(exc).__name__}: {exc}")
            continue
        if seq is None:
            broken.append(f"{formatting.describe_record(record)}: seq_of={name} returned None")
            continue
        if previous is not None:
            try:
                later = bool(seq > previous[0])
            except Exception as exc:  # e.g. '>' not supported between 'str' and 'int'
                broken.append(
                    f"{formatting.describe_record(record)}: seq {seq!r} cannot be compared "
                    f"with seq {previous[0]!r} at {formatting.where(previous[1])}: "
                    f"{type(exc).__name__}: {exc}"
                )
                continue
            if not later:
                return (
                    f"key {key!r}: seq {seq!r} at {formatting.where(record)} is not greater "
                    f"than seq {previous[0]!r} at {formatting.where(previous[1])}"
                )
        previous = (seq, record)
    return None


def assert_ordered_by_key(
    records: Iterable[RecordLike],
    expected: Iterable[EventLike] | None = None,
    *,
    key_of: Callable[[Any], Any] = record_key,
    seq_of: Callable[[Any], Any] | None = None,
    id_of: IdOf = event_id_of,
) -> None:
    """Every key lives in one partition, and its records (by offset) are in order.

    "In order" means: following ``expected`` (the events in produce order, matched by
    ``id_of``; records of other events are ignored), or, without it, a strictly
    increasing ``seq_of(record.value)``. With neither, only the partition rule is
    checked. Records whose ``key_of`` is ``None`` have no ordering guarantee and are
    skipped, and so are tombstones (records whose value is ``None``: deletions on a
    compacted topic, not events) in every mode. Missing events are
    :func:`assert_delivered`'s business.

    A ``key_of``, ``seq_of`` or ``id_of`` that raises (or a ``seq_of`` that returns
    ``None`` or values that cannot be compared) fails the assertion, naming the record
    (``topic[p]@offset``) and the exception; it never crashes.
    """
    __tracebackhide__ = True
    if expected is not None and seq_of is not None:
        raise ValueError("give expected or seq_of, not both")
    given = list(records)
    records = [record for record in given if not (is_record(record) and record.value is None)]
    tombstones = len(given) - len(records)
    by_key: dict[Any, list[Any]] = defaultdict(list)
    for record in records:
        key = call("key_of", key_of, record)
        if key is not None:
            try:
                by_key[key].append(record)
            except TypeError as exc:  # an unhashable key, e.g. a list
                raise AssertionError(formatting.printable(
                    f"key_of={callback_name(key_of)} returned an unhashable key "
                    f"{formatting.clip(repr(key))} ({exc}) for {formatting.where(record)}"
                )) from exc

    rank: dict[str, int] = {}
    ids: dict[int, str | None] = {}
    if expected is not None:
        rank = {ident: index for index, ident in enumerate(wanted_ids(expected, id_of, "expected"))}
        ids = {id(record): id_or_none(id_of, record) for record in records}
        matched = sum(1 for ident in ids.values() if ident in rank)
        if rank and not matched:
            raise AssertionError(
                formatting.failure(
                    f"assert_ordered_by_key: nothing to check, none of the {len(records)} "
                    f"record(s) is one of the {len(rank)} expected event(s)",
                    notes=["read: " + formatting.source(records)],
                )
            )

    spread: list[str] = []
    inversions: list[str] = []
    broken: list[str] = []
    for key, keyed in by_key.items():
        if len({record.partition for record in keyed}) > 1:
            spread.append(_spread(key, keyed))
            continue
        keyed.sort(key=lambda record: record.offset)
        found = None
        if expected is not None:
            found = _inversion_by_expected(key, keyed, rank, ids)
        elif seq_of is not None:
            found = _inversion_by_seq(key, keyed, seq_of, broken)
        if found:
            inversions.append(found)
    if not (spread or inversions or broken):
        return
    problems = []
    if spread:
        problems.append(f"{len(spread)} key(s) spread over several partitions")
    if inversions:
        problems.append(f"{len(inversions)} key(s) out of order")
    if broken:
        problems.append(f"seq_of failed on {len(broken)} record(s)")
    raise AssertionError(
        formatting.failure(
            "assert_ordered_by_key: " + ", ".join(problems),
            ("spread", spread),
            ("out of order (first inversion per key)", inversions),
            ("seq_of failed", broken),
            notes=[
                f"read: {formatting.source(records)}, {len(by_key)} key(s)"
                + (f"; {tombstones} tombstone(s) skipped" if tombstones else "")
            ],
        )
    )
