"""Turning records, event dicts and raw ids into comparable ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..reading import Record

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
    if value is item and isinstance(value, str | bytes | bytearray | int):
        return norm_id(value)
    if isinstance(value, str):  # a record whose value is a JSON string
        return value
    return None


def order_id_of(item: Any) -> str | None:
    """``data.order_id`` of an event (or ``order_id`` of an order dict); ids pass through."""
    value = _payload(item)
    if isinstance(value, Mapping):
        data = value.get("data")
        if isinstance(data, Mapping) and "order_id" in data:
            return norm_id(data["order_id"])
        return norm_id(value.get("order_id"))
    if value is item and isinstance(value, str | bytes | bytearray | int):
        return norm_id(value)
    if isinstance(value, str):
        return value
    return None


def id_or_none(id_of: IdOf, item: Any) -> str | None:
    """``id_of(item)`` normalised; an id extractor that raises means "no id"."""
    try:
        return norm_id(id_of(item))
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        return None


def is_record(item: Any) -> bool:
    """True for :class:`~pytest_kafka_patterns.reading.Record` and look-alikes (anything
    with ``topic``, ``partition``, ``offset`` and ``value``, e.g. a ConsumerRecord)."""
    if type(item) is Record:
        return True
    if isinstance(item, str | bytes | int | Mapping):
        return False
    return all(hasattr(item, name) for name in ("topic", "partition", "offset", "value"))
