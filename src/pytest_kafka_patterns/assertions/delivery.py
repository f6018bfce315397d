"""Delivery: every expected event arrived, none twice, and (optionally) nothing else."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from ..records import EventLike
from . import formatting
from .formatting import id_or_none
from .ids import IdOf, event_id_of


def index_by_id(
    items: Iterable[Any], id_of: IdOf, role: str = "id_of"
) -> tuple[dict[str, list[Any]], list[Any]]:
    """Items grouped by id (in order), and the items that have no id."""
    __tracebackhide__ = True
    by_id: dict[str, list[Any]] = defaultdict(list)
    no_id: list[Any] = []
    for item in items:
        ident = id_or_none(id_of, item, role)
        if ident is None:
            no_id.append(item)
        else:
            by_id[ident].append(item)
    return dict(by_id), no_id


def wanted_ids(items: Iterable[Any], id_of: IdOf, what: str) -> dict[str, Any]:
    """``{id: item}`` for the events a test expects; an item without an id is a usage error."""
    __tracebackhide__ = True
    wanted: dict[str, Any] = {}
    for index, item in enumerate(items):
        ident = id_or_none(id_of, item)
        if ident is None:
            raise ValueError(
                f"{what}[{index}] has no id under id_of={getattr(id_of, '__name__', id_of)}: "
                f"{formatting.show(formatting.item_value(item))}"
            )
        wanted.setdefault(ident, item)
    return wanted


def no_id_note(records: list[Any], no_id: list[Any], id_of: IdOf) -> list[str]:
    """A hint when no record had an id at all: the extractor is probably wrong."""
    if not records or len(no_id) != len(records):
        return []
    return [
        f"note: none of the {len(records)} record(s) has an id under "
        f"id_of={getattr(id_of, '__name__', id_of)}; first value: "
        f"{formatting.show(formatting.item_value(records[0]))}"
    ]


def assert_delivered(
    records: Iterable[EventLike],
    expected: Iterable[EventLike],
    *,
    id_of: IdOf = event_id_of,
    exactly_once: bool = True,
    allow_extra: bool = True,
) -> None:
    """Every expected event (dicts, records or ids) is among ``records``.

    With ``exactly_once`` none of them arrived twice; without ``allow_extra`` nothing
    else arrived either. The failure lists missing ids (with near misses), duplicated
    ids with their offsets and unexpected records.
    """
    __tracebackhide__ = True
    records = list(records)
    wanted = wanted_ids(expected, id_of, "expected")
    seen, no_id = index_by_id(records, id_of)

    missing = [ident for ident in wanted if ident not in seen]
    duplicated = (
        [ident for ident in wanted if len(seen.get(ident, ())) > 1] if exactly_once else []
    )
    unexpected = [] if allow_extra else [
        *((ident, item) for ident, items in seen.items() if ident not in wanted for item in items),
        *((None, item) for item in no_id),
    ]
    if not (missing or duplicated or unexpected):
        return

    strangers = [item for ident, items in seen.items() if ident not in wanted for item in items]
    strangers += no_id
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(wanted)} expected event(s) missing")
    if duplicated:
        problems.append(f"{len(duplicated)} delivered more than once")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected record(s)")
    raise AssertionError(
        formatting.failure(
            "assert_delivered: " + ", ".join(problems),
            ("missing", formatting.with_near_misses(
                [(ident, wanted[ident]) for ident in missing], strangers, id_of
            )),
            ("duplicated", [
                f"{formatting.show_id(ident)} x{len(seen[ident])}{formatting.at(seen[ident])}  "
                f"{formatting.summary(seen[ident][0])}"
                for ident in duplicated
            ]),
            ("unexpected", [
                formatting.describe(item, ident if ident is not None else "(no id)")
                for ident, item in unexpected
            ]),
            notes=[
                "read: " + formatting.source(records),
                *no_id_note(records, no_id, id_of),
            ],
        )
    )
