"""A record as a test sees it, and how raw keys, values and headers are decoded.

A leaf: it imports nothing else of the plugin but the client (de)serializers, so
:mod:`.reading` and :mod:`.assertions` both build on it and neither imports the other
for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .clients import json_deserializer, key_deserializer

#: One record header as Kafka clients give it: ``(key, value)``, the value ``None`` when null.
Header = tuple[str, bytes | None]
#: What :func:`last_header` accepts: a record (or look-alike with ``headers``), a list of
#: ``(key, value)`` pairs, or a mapping (records built by hand in older tests).
HeaderSource = Any
_D = TypeVar("_D")


def last_header(source: HeaderSource, name: str, default: _D | None = None) -> bytes | _D | None:
    """The value of the last header called ``name`` (Kafka keeps repeats, in order), which
    may be ``None`` (a null header); ``default`` when there is no such header.

    ``source`` is a :class:`Record` or anything with ``headers`` (e.g. kafka-python's
    ``ConsumerRecord``), a list of ``(key, value)`` pairs, or a mapping.
    """
    headers = getattr(source, "headers", source)
    if not headers:
        return default
    if isinstance(headers, Mapping):
        return headers.get(name, default)  # type: ignore[no-any-return]
    found: Any = default
    for key, value in headers:
        if key == name:
            found = value
    return found  # type: ignore[no-any-return]


class RecordLike(Protocol):
    """What the assertions read of a record: :class:`Record`, kafka-python's and
    aiokafka's ``ConsumerRecord`` fit, and so does any object with these attributes.

    ``headers`` is read where present (the DLQ assertion's ``error`` and ``retry_count``
    headers), so it is not required here.
    """

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> Any: ...
    @property
    def value(self) -> Any: ...


#: What the assertions take as an event: a record, an event dict, or its id (str, or
#: bytes as Redis returns it).
EventLike = RecordLike | Mapping[str, Any] | str | bytes


@dataclass(frozen=True)
class Record:
    """One record as a test sees it: decoded key and value, headers as Kafka gives them."""

    topic: str
    partition: int
    offset: int
    key: str | bytes | None
    """UTF-8-decoded key, the raw bytes when they are not UTF-8, or ``None``."""
    value: Any
    """JSON-decoded value, the raw bytes when they are not JSON, or ``None`` (tombstone)."""
    headers: list[Header] = field(default_factory=list)
    """``(key, value)`` pairs in produce order: repeated keys kept, a null value is ``None``.
    :meth:`header` gives the last value of one."""
    timestamp: int = -1
    """Record timestamp in milliseconds since the epoch (-1 when the broker has none)."""

    def header(self, name: str, default: _D | None = None) -> bytes | _D | None:
        """The last value of header ``name`` (``None`` when null), else ``default``."""
        return last_header(self.headers, name, default)

    @property
    def where(self) -> str:
        """``topic[partition]@offset``, as failure messages print it."""
        return f"{self.topic}[{self.partition}]@{self.offset}"


#: Keys and values decode exactly as the consumer fixtures decode them.
decode_key = key_deserializer
decode_value = json_deserializer


#: Decodes a record's value bytes (never called for a null value: a tombstone stays
#: ``None``), e.g. :meth:`pytest_kafka_patterns.avro.SchemaRegistry.deserializer`.
ValueDeserializer = Callable[[bytes], Any]


def record_from(
    raw: Any, _new: Any = object.__new__, value_deserializer: ValueDeserializer | None = None
) -> Record:
    """A Record from a kafka-python ConsumerRecord (with undecoded key and value).

    The value is decoded by :data:`decode_value` (JSON, else the bytes), or by
    ``value_deserializer`` when given: anything it raises becomes an ``AssertionError``
    naming the record (``topic[partition]@offset``) and the deserializer's error.

    Fills the instance dict directly: a frozen dataclass's ``__init__`` pays one
    ``object.__setattr__`` per field, which is a measurable share of a 100k-record read.
    """
    record: Record = _new(Record)
    fields = record.__dict__
    fields["topic"] = raw.topic
    fields["partition"] = raw.partition
    fields["offset"] = raw.offset
    fields["key"] = decode_key(raw.key)
    if value_deserializer is None or raw.value is None:
        fields["value"] = decode_value(raw.value)
    else:
        fields["value"] = deserialized(
            raw.value, raw.topic, raw.partition, raw.offset, value_deserializer)
    fields["headers"] = list(raw.headers) if raw.headers else []
    fields["timestamp"] = raw.timestamp if raw.timestamp is not None else -1
    return record


def deserialized(
    value: bytes, topic: str, partition: int, offset: int, value_deserializer: ValueDeserializer
) -> Any:
    """``value_deserializer(value)``; anything it raises becomes an ``AssertionError``
    naming the record (``topic[partition]@offset``) and the deserializer's error."""
    __tracebackhide__ = True
    try:
        return value_deserializer(value)
    except Exception as exc:
        name = getattr(value_deserializer, "__qualname__", repr(value_deserializer))
        raise AssertionError(
            f"{topic}[{partition}]@{offset}: cannot decode the value with "
            f"{name}: {type(exc).__name__}: {exc}"
        ) from exc
