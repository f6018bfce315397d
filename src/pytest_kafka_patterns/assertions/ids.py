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
    if isinstance(value, str | bytes | bytearray) or (value is item and isinstance(value, int)):
        # an id itself; or a record whose value is a JSON string, or raw bytes that are not
        # JSON (poison): such a record is identified by its value
        return norm_id(value)
    return None


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


#: What an id extractor raises for an item of another shape: the item has no id.
NO_ID_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)


def callback_name(fn: Any) -> str:
    return str(getattr(fn, "__name__", None) or repr(fn))


def callback_failed(role: str, fn: Any, item: Any, exc: BaseException) -> AssertionError:
    """The ``AssertionError`` for a user's callback (``id_of``, ``key_of``, ``seq_of``,
    ``effect_id_of``) that raised: it names the callback, the item (``topic[p]@offset``
    for a record) and the exception (also chained as its cause)."""
    from . import formatting

    place = formatting.where(item) or formatting.show(formatting.item_value(item))
    return AssertionError(
        formatting.printable(
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


def is_record(item: Any) -> bool:
    """True for :class:`~pytest_kafka_patterns.reading.Record` and look-alikes (anything
    with ``topic``, ``partition``, ``offset`` and ``value``, e.g. a ConsumerRecord)."""
    if type(item) is Record:
        return True
    if isinstance(item, str | bytes | int | Mapping):
        return False
    return all(hasattr(item, name) for name in ("topic", "partition", "offset", "value"))
