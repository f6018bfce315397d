"""Exactly-once effects: one side effect (a charge, a row, a Redis entry) per event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import EventLike
from . import formatting
from .delivery import index_by_id, wanted_ids
from .ids import IdOf, event_id_of, norm_id


def assert_exactly_once_effect(
    effects: Iterable[EventLike],
    events: Iterable[EventLike],
    *,
    id_of: IdOf = event_id_of,
    effect_id_of: IdOf | None = None,
    allow_extra: bool = True,
) -> None:
    """Every event has exactly one effect.

    ``effects`` are ids (str, or bytes as Redis returns them), dicts or records; each is
    mapped to an event id with ``effect_id_of`` (default: ids as they are, ``id_of`` for
    dicts and records). Without ``allow_extra``, effects of no listed event fail too.
    """
    __tracebackhide__ = True
    effects = list(effects)
    wanted = wanted_ids(events, id_of, "events")

    def default_effect_id(item: Any) -> Any:
        if isinstance(item, str | bytes | bytearray | int):
            return norm_id(item)
        return id_of(item)

    by_id, no_id = index_by_id(
        effects, effect_id_of or default_effect_id, "effect_id_of" if effect_id_of else "id_of"
    )
    missing = [ident for ident in wanted if ident not in by_id]
    duplicated = [ident for ident in wanted if len(by_id.get(ident, ())) > 1]
    extra = [(ident, items) for ident, items in by_id.items() if ident not in wanted]
    if not (missing or duplicated or (not allow_extra and (extra or no_id))):
        return

    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(wanted)} event(s) without an effect")
    if duplicated:
        problems.append(f"{len(duplicated)} with more than one")
    if not allow_extra and (extra or no_id):
        problems.append(f"{len(extra) + len(no_id)} effect(s) of no listed event")
    hints = []
    if missing and extra:
        first = extra[0][0]
        paths = [path for event in wanted.values() for path in formatting.paths_to(first, event)]
        if paths:
            hints.append(
                f"hint: effect {first!r} equals the {paths[0]} of an event; "
                f"choose id_of to match (e.g. id_of=order_id_of)"
            )
    raise AssertionError(
        formatting.failure(
            "assert_exactly_once_effect: " + ", ".join(problems),
            ("missing", [formatting.describe(wanted[ident], ident) for ident in missing]),
            ("duplicated", [
                f"{formatting.show_id(ident)} x{len(by_id[ident])}  "
                f"{formatting.summary(wanted[ident])}"
                + formatting.at(by_id[ident])
                for ident in duplicated
            ]),
            ("effects of no listed event", [
                f"{formatting.show_id(ident)} x{len(items)}" for ident, items in extra
            ] + [f"(no id) {formatting.show(formatting.item_value(item))}" for item in no_id]),
            notes=[f"checked: {len(effects)} effect(s) for {len(wanted)} event(s)", *hints],
        )
    )
