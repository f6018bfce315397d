"""Dead-letter routing: poison events end up in the DLQ once, with error info; others don't."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..records import EventLike, last_header
from . import formatting
from .delivery import index_by_id, no_id_note, wanted_ids
from .ids import IdOf, event_id_of

#: Value fields and headers where a DLQ entry may carry its error and retry count.
ERROR_FIELD, ERROR_HEADER = "_error", "error"
RETRY_FIELD, RETRY_HEADER = "_retry_count", "retry_count"


def error_of(item: Any) -> str | None:
    """The error a DLQ entry carries (``_error`` field, else the last ``error`` header: a
    retry topic appends one per attempt), if any."""
    value = formatting.item_value(item)
    if isinstance(value, Mapping) and value.get(ERROR_FIELD):
        return str(value[ERROR_FIELD])
    header = last_header(getattr(item, "headers", None), ERROR_HEADER)
    return header.decode("utf-8", "replace") if header else None


def retry_count_of(item: Any) -> Any:
    """The retry count of a DLQ entry (``_retry_count`` field, else the last
    ``retry_count`` header)."""
    value = formatting.item_value(item)
    if isinstance(value, Mapping) and RETRY_FIELD in value:
        return value[RETRY_FIELD]
    header = last_header(getattr(item, "headers", None), RETRY_HEADER)
    if header is None:
        return None
    text = header.decode("utf-8", "replace")
    try:
        return int(text)
    except ValueError:
        return text


def assert_routed_to_dlq(
    dlq_records: Iterable[EventLike],
    poison: Iterable[EventLike],
    *,
    processed: Iterable[EventLike] = (),
    id_of: IdOf = event_id_of,
    max_retries: int | None = None,
) -> None:
    """Each poison event is in the DLQ exactly once, with error info; nothing else is.

    ``processed`` (ids, dicts or records) must hold none of the poison events. With
    ``max_retries``, each poison entry's retry count must equal it.
    """
    __tracebackhide__ = True
    dlq = list(dlq_records)
    poisoned = wanted_ids(poison, id_of, "poison")
    in_dlq, no_id = index_by_id(dlq, id_of)
    done, _ = index_by_id(processed, id_of)

    missing = [ident for ident in poisoned if ident not in in_dlq]
    duplicated = [ident for ident in poisoned if len(in_dlq.get(ident, ())) > 1]
    entries = [(ident, item) for ident in poisoned for item in in_dlq.get(ident, ())]
    no_error = [(ident, item) for ident, item in entries if error_of(item) is None]
    wrong_retries = [
        (ident, item, retry_count_of(item))
        for ident, item in entries
        if max_retries is not None and retry_count_of(item) != max_retries
    ]
    strangers = [(ident, item) for ident, items in in_dlq.items() if ident not in poisoned
                 for item in items] + [(None, item) for item in no_id]
    also_processed = [ident for ident in poisoned if ident in done]
    if not (missing or duplicated or no_error or wrong_retries or strangers or also_processed):
        return

    def found_elsewhere(ident: str) -> list[str]:
        if ident not in done:
            return []
        return ["found in processed instead" + formatting.at(done[ident])]

    problems = [
        f"{len(found)} {label}"
        for found, label in (
            (missing, "poison event(s) not in the DLQ"),
            (duplicated, "in the DLQ more than once"),
            (no_error, "DLQ entr(y/ies) without error info"),
            (wrong_retries, f"with a retry count other than {max_retries}"),
            (strangers, "non-poison record(s) in the DLQ"),
            (also_processed, "poison event(s) also processed"),
        )
        if found
    ]
    raise AssertionError(
        formatting.failure(
            "assert_routed_to_dlq: " + ", ".join(problems),
            ("poison not in the DLQ", [
                "\n".join([line, *found_elsewhere(ident)])
                for ident, line in zip(
                    missing,
                    formatting.with_near_misses(
                        [(ident, poisoned[ident]) for ident in missing],
                        [item for _, item in strangers],
                        id_of,
                    ),
                    strict=True,
                )
            ]),
            ("in the DLQ more than once", [
                f"{formatting.show_id(ident)} x{len(in_dlq[ident])}{formatting.at(in_dlq[ident])}"
                for ident in duplicated
            ]),
            ("without error info (no _error field, no error header)", [
                formatting.describe(item, ident) for ident, item in no_error
            ]),
            (f"retry count is not {max_retries}", [
                f"{formatting.describe(item, ident)}: retry count {count!r}"
                for ident, item, count in wrong_retries
            ]),
            ("not poison but in the DLQ", [
                formatting.describe(item, ident if ident is not None else "(no id)")
                + (f"  error: {formatting.clip(formatting.printable(error, newlines=False), 80)}"
                   if (error := error_of(item)) else "")
                for ident, item in strangers
            ]),
            ("poison but processed", [
                f"{formatting.show_id(ident)} processed{formatting.at(done[ident])}"
                for ident in also_processed
            ]),
            notes=[
                "DLQ: " + formatting.source(dlq),
                *no_id_note(dlq, no_id, id_of),
            ],
        )
    )

