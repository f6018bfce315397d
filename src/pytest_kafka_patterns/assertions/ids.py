"""Turning records, event dicts and raw ids into comparable ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..paths import MISSING, field_at
from ..records import Record

#: Extracts an id from a record, an event dict or an id; ``None`` when there is none.
IdOf = Callable[[Any], Any]


def norm_id(raw: Any) -> str | None:
    """An id as a string: bytes (e.g. from Redis) are UTF-8-decoded, ``None`` stays."""
    if type(raw) is str or raw is None:
        return raw
    if isinstance(raw, bytes | bytearray):
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return repr(bytes(raw))
    return str(raw)


def _payload(item: Any) -> Any:
    """A record's value (also of look-alikes such as kafka-python's ConsumerRecord);
    anything else as it is."""
    kind = type(item)
    if kind is Record:
        return item.value
    if kind is dict or kind is str or kind is bytes:
        return item
    return item.value if is_record(item) else item


def event_id_of(item: Any) -> str | None:
    """``event_id`` of a record's value or of an event dict; a str/bytes/int is the id."""
    value = _payload(item)
    if type(value) is dict:  # the common case, without the cost of an ABC check
        return norm_id(value.get("event_id"))
    if isinstance(value, Mapping):
        return norm_id(value.get("event_id"))
    if isinstance(value, str | bytes | bytearray) or (value is item and isinstance(value, int)):
        # an id itself; or a record whose value is a JSON string, or raw bytes that are not
        # JSON (poison): such a record is identified by its value
        return norm_id(value)
    return None


def id_at(path: str) -> IdOf:
    """An ``id_of`` reading the dotted ``path`` (e.g. ``"payment_id"``, ``"meta.id"``) of a
    record's value or of an event dict; a str/bytes/int is the id itself (as for
    :func:`event_id_of`). ``id_at("event_id")`` behaves as :func:`event_id_of`."""

    def id_of(item: Any) -> str | None:
        value = _payload(item)
        if isinstance(value, Mapping):
            found = field_at(value, path)
            return None if found is MISSING else norm_id(found)
        if isinstance(value, str | bytes | bytearray) or (value is item and isinstance(value, int)):
            return norm_id(value)
        return None

    id_of.__name__ = f"id_at({path!r})"
    return id_of


def order_id_of(item: Any) -> str | None:
    """``data.order_id`` of an event (or ``order_id`` of an order dict); ids pass through."""
    value = _payload(item)
    if isinstance(value, Mapping):
        data = value.get("data")
        if isinstance(data, Mapping) and "order_id" in data:
            return norm_id(data["order_id"])
        return norm_id(value.get("order_id"))
    if isinstance(value, str | bytes | bytearray) or (value is item and isinstance(value, int)):
        return norm_id(value)  # an id; or a record's JSON string or raw bytes (its value)
    return None


def is_record(item: Any) -> bool:
    """True for :class:`~pytest_kafka_patterns.reading.Record` and look-alikes (anything
    with ``topic``, ``partition``, ``offset`` and ``value``, e.g. a ConsumerRecord)."""
    if type(item) is Record:
        return True
    if isinstance(item, str | bytes | int | Mapping):
        return False
    return all(hasattr(item, name) for name in ("topic", "partition", "offset", "value"))
