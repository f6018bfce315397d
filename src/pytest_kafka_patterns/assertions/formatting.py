"""The one failure formatter every assertion uses: headline, sections, locations, near misses.

A message reads (headline, then ``heading (n):`` sections, then notes)::

    assert_delivered: 1 of 4 expected event(s) missing, 1 delivered more than once
      missing (1):
        - b6770b11-...  order.created order_id=order_e54a6235 user_id=user_027 status=pending
            near miss: orders[2]@2 has the same event_type and data, id 0d5c6f3e-...
      duplicated (1):
        - 0ef8e010-... x2 at orders[2]@0, orders[2]@1  order.created order_id=order_bde34aca
      read: 5 record(s) from orders (p0: offset 0, p1: offset 0, p2: offsets 0-2)
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .ids import IdOf, is_record, norm_id

#: Entries shown per section before "... and N more".
MAX_ITEMS = 20
#: Characters of a value shown before it is cut.
MAX_VALUE = 160
#: Near misses listed per missing item.
MAX_NEAR = 3
#: Envelope fields that differ between two copies of "the same" event.
VOLATILE = frozenset({"event_id", "timestamp"})

Section = tuple[str, Sequence[str]]

#: Control characters (C0 but newline, DEL, C1) as escapes: data shown in a message (ids,
#: raw values, error headers) must never drive the user's terminal.
_ESCAPES = {
    code: f"\\x{code:02x}"
    for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))
    if code != 0x0A
}
_ESCAPES_WITH_NEWLINE = {**_ESCAPES, 0x0A: "\\n"}


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with control characters escaped (``\\x00``, ``\\x1b``...); with
    ``newlines=False`` a newline is escaped too (for one-line values such as ids)."""
    return text.translate(_ESCAPES if newlines else _ESCAPES_WITH_NEWLINE)


def failure(headline: str, *sections: Section, notes: Iterable[str] = ()) -> str:
    """Headline, then ``heading (n):`` sections of ``- item`` lines (capped), then notes.

    Control characters anywhere in it are escaped (see :func:`printable`)."""
    lines = [headline]
    for heading, items in sections:
        if not items:
            continue
        lines.append(f"  {heading} ({len(items)}):")
        for item in items[:MAX_ITEMS]:
            first, *rest = item.split("\n")
            lines.append(f"    - {first}")
            lines.extend(f"        {line}" for line in rest)
        if len(items) > MAX_ITEMS:
            lines.append(f"    ... and {len(items) - MAX_ITEMS} more")
    lines.extend(f"  {note}" for note in notes)
    return printable("\n".join(lines))


def show_id(value: Any) -> str:
    """An id as one printable line."""
    return printable(str(value), newlines=False)


def clip(text: str, limit: int = MAX_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show(value: Any) -> str:
    """A short, one-line rendering of a value (JSON where possible)."""
    if isinstance(value, bytes | bytearray):
        return clip(repr(bytes(value)))
    try:
        return clip(json.dumps(value, default=str, sort_keys=False))
    except (TypeError, ValueError):
        return clip(repr(value))


def where(item: Any) -> str:
    """``topic[partition]@offset`` of a record; empty for anything else."""
    return f"{item.topic}[{item.partition}]@{item.offset}" if is_record(item) else ""


def summary(event: Any) -> str:
    """``order.created order_id=... user_id=...`` for envelopes; a short value otherwise."""
    value = item_value(event)
    if not isinstance(value, Mapping):
        return show(value)
    parts = [str(value["event_type"])] if "event_type" in value else []
    data = value.get("data")
    source = data if isinstance(data, Mapping) else value
    parts += [
        f"{name}={source[name]}"
        for name in ("order_id", "user_id", "status")
        if name in source and not isinstance(source[name], Mapping | list)
    ]
    return printable(" ".join(parts), newlines=False) if parts else show(value)


def item_value(item: Any) -> Any:
    return item.value if is_record(item) else item


def describe(item: Any, ident: str | None = None) -> str:
    """``<id>  <summary>  at <where>`` for a record, event dict or id."""
    if isinstance(item, str | bytes | int) and not is_record(item):
        return show_id(ident if ident is not None else item)
    raw = is_record(item) and isinstance(item.value, bytes | bytearray)  # its id is its value
    text = f"{show_id(ident)}  {summary(item)}" if ident is not None and not raw else summary(item)
    location = where(item)
    return f"{text}  at {location}" if location else text


def describe_record(record: Any) -> str:
    """``topic[p]@o key=... <summary>`` for a record (event_id included for envelopes)."""
    value = record.value
    if isinstance(value, Mapping) and "event_type" in value:
        text = summary(value)
        if value.get("event_id") is not None:
            first, _, rest = text.partition(" ")
            text = " ".join(part for part in (first, f"event_id={value['event_id']}", rest) if part)
        return f"{where(record)} key={record.key!r} {text}"
    return f"{where(record)} key={record.key!r} {show(value)}"


def locations(items: Iterable[Any]) -> str:
    """Comma-separated locations of the records among ``items`` (others have none)."""
    return ", ".join(place for place in map(where, items) if place)


def at(items: Iterable[Any]) -> str:
    """`` at topic[p]@o, ...`` for the records among ``items``; empty when there are none."""
    places = locations(items)
    return f" at {places}" if places else ""


def offsets(mapping: Mapping[int, int]) -> str:
    """``{0: 3, 1: 0}`` as ``p0=3 p1=0``."""
    return " ".join(f"p{partition}={offset}" for partition, offset in sorted(mapping.items()))


def _ranges(numbers: Sequence[int]) -> str:
    if not numbers:
        return "none"
    lo, hi = min(numbers), max(numbers)
    return f"offset {lo}" if lo == hi else f"offsets {lo}-{hi}"


def source(items: Sequence[Any], noun: str = "record") -> str:
    """Where the checked items came from: ``4 record(s) from orders (p0: offsets 0-1, ...)``."""
    records = [item for item in items if is_record(item)]
    if not records:
        return f"{len(items)} {noun}(s)"
    by_place: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        by_place[record.topic][record.partition].append(record.offset)
    parts = []
    for topic, partitions in by_place.items():
        spans = ", ".join(f"p{p}: {_ranges(o)}" for p, o in sorted(partitions.items()))
        parts.append(f"{topic} ({spans})")
    return f"{len(items)} {noun}(s) from " + "; ".join(parts)


def _stripped(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    return {k: v for k, v in value.items() if k not in VOLATILE and not str(k).startswith("_")}


def _diff_keys(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    keys = sorted(set(a) | set(b), key=str)
    return [str(key) for key in keys if a.get(key) != b.get(key)]


def _fingerprint(value: Any) -> str | None:
    try:
        return json.dumps(_stripped(value), sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None


def _order_key(value: Any) -> tuple[Any, Any] | None:
    data = value.get("data") if isinstance(value, Mapping) else None
    if isinstance(data, Mapping) and data.get("order_id") is not None:
        return (value.get("event_type"), str(data["order_id"]))
    return None


class NearMisses:
    """Finds candidates that look like a wanted event but did not match its id: the same
    payload under another id, the same event_type for the same order, or an id a few
    characters off. Indexed once, so looking up many missing events stays cheap."""

    #: Candidates compared by id similarity (difflib) at most; beyond, only exact lookups.
    MAX_FUZZY = 500

    def __init__(self, candidates: Sequence[Any], id_of: IdOf) -> None:
        self._by_payload: dict[str, list[tuple[str | None, Any]]] = defaultdict(list)
        self._by_order: dict[tuple[Any, Any], list[tuple[str | None, Any]]] = defaultdict(list)
        self._ids: list[tuple[str, Any]] = []
        for candidate in candidates:
            ident = id_or_none(id_of, candidate)
            value = item_value(candidate)
            if isinstance(value, Mapping):
                fingerprint = _fingerprint(value)
                if fingerprint is not None:
                    self._by_payload[fingerprint].append((ident, candidate))
                order = _order_key(value)
                if order is not None:
                    self._by_order[order].append((ident, candidate))
            if ident is not None and len(self._ids) < self.MAX_FUZZY:
                self._ids.append((ident, candidate))

    def find(self, wanted: Any, wanted_id: str | None) -> list[str]:
        """Up to :data:`MAX_NEAR` ``near miss: ...`` lines for ``wanted``."""
        found: list[str] = []
        seen: set[int] = set()

        def add(candidate: Any, text: str) -> None:
            if len(found) < MAX_NEAR and id(candidate) not in seen:
                seen.add(id(candidate))
                found.append(f"near miss: {where(candidate) or 'an item'} {text}")

        value = item_value(wanted)
        if isinstance(value, Mapping):
            fingerprint = _fingerprint(value)
            for ident, candidate in self._by_payload.get(fingerprint or "", ()):
                add(candidate, f"has the same event_type and data, id {show_id(ident)}")
            order = _order_key(value)
            for ident, candidate in self._by_order.get(order, ()) if order else ():
                other = item_value(candidate)["data"]
                differ = ", ".join(f"data.{key}" for key in _diff_keys(value["data"], other))
                add(
                    candidate,
                    f"is {value.get('event_type')} for the same order, id {show_id(ident)}, "
                    f"differs in {differ or 'envelope fields'}",
                )
        if wanted_id:
            for ident, candidate in self._ids:
                if ident != wanted_id and (
                    difflib.SequenceMatcher(None, wanted_id, ident).ratio() >= 0.85
                ):
                    add(candidate, f"has a similar id {show_id(ident)}")
        return found


def with_near_misses(
    items: Sequence[tuple[str, Any]], candidates: Sequence[Any], id_of: IdOf
) -> list[str]:
    """``describe`` lines for (id, item) pairs, the first :data:`MAX_ITEMS` with their
    near misses among ``candidates`` (only those are shown)."""
    index = NearMisses(candidates, id_of) if candidates else None
    lines = []
    for position, (ident, item) in enumerate(items):
        text = describe(item, ident)
        if index is not None and position < MAX_ITEMS:
            text = "\n".join([text, *index.find(item, ident)])
        lines.append(text)
    return lines


def paths_to(needle: str, haystack: Any, prefix: str = "", depth: int = 2) -> list[str]:
    """Dotted paths under which ``needle`` appears in a (record's) dict, up to ``depth``."""
    value = item_value(haystack)
    if not isinstance(value, Mapping) or depth < 0:
        return []
    paths = []
    for key, inner in value.items():
        path = f"{prefix}{key}"
        if isinstance(inner, str) and inner == needle:
            paths.append(path)
        elif isinstance(inner, Mapping):
            paths.extend(paths_to(needle, inner, path + ".", depth - 1))
    return paths


# --- a user's callback that raised (id_of, key_of, seq_of, effect_id_of) ---


#: What an id extractor raises for an item of another shape: the item has no id.
NO_ID_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)


def callback_name(fn: Any) -> str:
    return str(getattr(fn, "__name__", None) or repr(fn))


def callback_failed(role: str, fn: Any, item: Any, exc: BaseException) -> AssertionError:
    """The ``AssertionError`` for a user's callback (``id_of``, ``key_of``, ``seq_of``,
    ``effect_id_of``) that raised: it names the callback, the item (``topic[p]@offset``
    for a record) and the exception (also chained as its cause)."""
    place = where(item) or show(item_value(item))
    return AssertionError(
        printable(
            f"{role}={callback_name(fn)} raised {type(exc).__name__}: {exc} on {place}"
        )
    )


def call(role: str, fn: Callable[[Any], Any], item: Any, arg: Any = None) -> Any:
    """``fn(arg if given else item)``; an exception becomes an ``AssertionError``."""
    __tracebackhide__ = True
    try:
        return fn(item if arg is None else arg)
    except Exception as exc:
        raise callback_failed(role, fn, item, exc) from exc


def id_or_none(id_of: IdOf, item: Any, role: str = "id_of") -> str | None:
    """``id_of(item)`` normalised. An extractor that fails to look something up
    (``KeyError``, ``TypeError``...) means "no id"; any other exception is an
    ``AssertionError`` naming the item and the exception."""
    __tracebackhide__ = True
    try:
        return norm_id(id_of(item))
    except NO_ID_ERRORS:
        return None
    except Exception as exc:
        raise callback_failed(role, id_of, item, exc) from exc
