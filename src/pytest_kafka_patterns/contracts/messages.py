"""Message contracts: do a producer's records match what a consumer's contract expects?

Each record is checked for the key rule (present; equal to a value field), the required
headers, and its value against the JSON Schema of its event type (the field the contract
names in ``event_type_field``, ``event_type`` by default). Problems are
reported field by field: where (``data.total``), what is wrong, and the value found.

A contract with an ``avro`` section expects values in the Confluent wire format: each is
decoded through the registry with its writer schema, the contract's reader schema for its
event type must be able to read that writer schema (field by field, see
:mod:`.avro_values`), and the value the consumer would get (resolved to the reader
schema) is what the key rule and JSON Schemas then check. An already decoded value (a
dict) is checked against the reader schema directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import jsonschema

from ..assertions import formatting
from ..paths import MISSING, field_at
from ..records import last_header
from .model import Contract

if TYPE_CHECKING:
    from ..avro import SchemaRegistry


@dataclass(frozen=True)
class Violation:
    """One problem with one record: ``path`` in the record, the ``problem``, the ``value``."""

    path: str
    problem: str
    value: Any = MISSING

    def __str__(self) -> str:
        shown = "" if self.value is MISSING else f" (value: {formatting.show(self.value)})"
        return f"{self.path}: {self.problem}{shown}"


def _text(raw: Any) -> Any:
    if isinstance(raw, bytes | bytearray):
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(raw)
    return raw


def violations(
    contract: Contract,
    value: Any,
    *,
    key: Any = None,
    headers: Iterable[tuple[str, Any]] | Mapping[str, Any] | None = None,
    registry: SchemaRegistry | None = None,
) -> list[Violation]:
    """Every way one record (its key, value and headers) breaks ``contract``.

    ``headers`` are ``(key, value)`` pairs as Kafka gives them (a mapping also works); a
    required header counts by its last value, and a null one is reported as such.
    ``registry`` (the ``schema_registry`` fixture) decodes wire-format values when the
    contract has Avro schemas; ``ValueError`` if such a value comes without one."""
    __tracebackhide__ = True
    return _read_and_check(contract, value, key, headers, registry, record=False)[1]


def _read_and_check(
    contract: Contract,
    value: Any,
    key: Any,
    headers: Iterable[tuple[str, Any]] | Mapping[str, Any] | None,
    registry: SchemaRegistry | None,
    *,
    record: bool,
) -> tuple[Any, list[Violation]]:
    """``(the value as the consumer reads it, every violation)``: for a wire-format Avro
    value, the decoded one (the raw bytes when it does not decode). ``record``: the value
    is a record's as read from Kafka, so an Avro contract needs it in the wire format."""
    __tracebackhide__ = True
    found: list[Violation] = []
    if contract.avro_schemas and record and not isinstance(value, bytes | bytearray):
        return value, [Violation(
            "value", "is not in the Confluent wire format: it is already decoded (a JSON "
            "value, or read with a value_deserializer), so its writer schema cannot be "
            "checked; read the records undecoded (read_topic without value_deserializer)",
            value)]
    if contract.avro_schemas:
        decoded, found, go_on = _avro_violations(contract, value, registry)
        value = value if decoded is MISSING else decoded
        if not go_on:
            return value, found
    key = _text(key)
    if contract.key_required and key is None:
        found.append(Violation("key", "missing (the contract requires a key)"))
    if contract.key_equals and key is not None:
        expected = field_at(value, contract.key_equals)
        if expected is MISSING:
            found.append(Violation("key", f"cannot be checked: value has no {contract.key_equals}",
                                   key))
        elif str(expected) != key:
            found.append(Violation("key", f"is not {contract.key_equals} ({expected!r})", key))
    for name in contract.required_headers:
        header = last_header(headers, name, MISSING)
        if header is MISSING:
            found.append(Violation(f"headers.{name}", "required header missing"))
        elif header is None:
            found.append(Violation(f"headers.{name}", "required header is null"))
    if not isinstance(value, Mapping):
        found.append(Violation("value", "is not a JSON object", value))
        return value, found
    event_type = field_at(value, contract.event_type_field)
    if not contract.schemas:
        return value, found
    schema = contract.schemas.get(event_type) if isinstance(event_type, str) else None
    if schema is None:
        found.append(_unknown_type(contract, event_type, contract.schemas))
        return value, found
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path) or "value"
        if error.validator == "required":
            # "'order_id' is a required property": name the missing field itself.
            missing = error.message.split("'")[1] if "'" in error.message else ""
            target = f"{path}.{missing}" if path != "value" else missing
            found.append(Violation(target or path, "required field missing"))
        else:
            found.append(Violation(path, error.message, error.instance))
    return value, found


def _avro_violations(
    contract: Contract, value: Any, registry: SchemaRegistry | None
) -> tuple[Any, list[Violation], bool]:
    """``(the value as the consumer reads it (as written when it cannot), or MISSING when
    it does not decode; the Avro violations; whether the other checks may go on)``."""
    from . import avro_values

    if isinstance(value, bytes | bytearray):
        if registry is None:
            raise ValueError(
                f"contract {contract.name!r} has Avro schemas and a value is bytes: pass "
                "the registry that decodes it, check_messages(contract, records, "
                "registry=schema_registry)"
            )
        decoded, found = _wire_violations(contract, bytes(value), registry)
        return decoded, found, not found
    if not isinstance(value, Mapping):
        return value, [], True  # the JSON checks report what it is
    found_reader = _reader_schema(contract, value)
    if isinstance(found_reader, Violation):
        return value, [found_reader], False
    event_type, reader = found_reader
    found = [Violation(path, f"{problem} (Avro reader schema of {event_type})", wrong)
             for path, problem, wrong in avro_values.value_problems(reader, value)]
    return value, found, True


def _wire_violations(
    contract: Contract, data: bytes, registry: SchemaRegistry
) -> tuple[Any, list[Violation]]:
    from ..avro import AvroDecodeError
    from . import avro_values

    try:
        written = registry.decode(data)
    except AvroDecodeError as exc:
        return MISSING, [Violation("value", f"cannot be decoded: {exc}")]
    found_reader = _reader_schema(contract, written)
    if isinstance(found_reader, Violation):
        return written, [found_reader]
    event_type, reader = found_reader
    writer = avro_values.writer_schema(registry, data)
    schema_id = int.from_bytes(data[1:5], "big")
    mode = contract.avro_compatibility
    found = []
    if mode != "NONE":
        found += [Violation(path, f"the consumer's {event_type} schema cannot read the "
                                  f"producer's (schema id {schema_id}): {problem}")
                  for path, problem in avro_values.resolution_problems(reader, writer)]
    if mode == "FULL":
        found += [Violation(path, f"FULL compatibility: the producer's schema (id "
                                  f"{schema_id}) cannot read the consumer's {event_type} "
                                  f"schema: {problem}")
                  for path, problem in avro_values.resolution_problems(writer, reader)]
    if found or mode == "NONE":
        return written, found
    return avro_values.decode_resolved(data, writer, reader), []


def _reader_schema(contract: Contract, value: Any) -> tuple[Any, str] | Violation:
    """``(value's event type, the contract's Avro reader schema for it)``, or the
    violation to report when the contract has no schema for that type."""
    event_type = contract.event_type_of(value)
    reader = contract.avro_schemas.get(event_type) if isinstance(event_type, str) else None
    if reader is None:
        return _unknown_type(contract, event_type, contract.avro_schemas)
    return event_type, reader


def _unknown_type(contract: Contract, event_type: Any, schemas: Mapping[str, Any]) -> Violation:
    known = ", ".join(sorted(schemas))
    return Violation(contract.event_type_field, f"no schema in the contract (known: {known})",
                     event_type)


class _AsRead:
    """A record shown with its value as the consumer reads it (Avro decoded)."""

    def __init__(self, record: Any, value: Any) -> None:
        self.topic, self.partition, self.offset = record.topic, record.partition, record.offset
        self.key, self.value = record.key, value


def check_messages(
    contract: Contract, records: Iterable[Any], *, registry: SchemaRegistry | None = None
) -> None:
    """Raise ``AssertionError`` listing, per record, each field that breaks ``contract``.

    ``records`` are :class:`~pytest_kafka_patterns.Record` objects (or look-alikes with
    ``key``, ``value``, ``headers``), or bare event dicts (no key or header check then).
    A contract with Avro schemas needs ``registry`` (the ``schema_registry`` fixture) for
    values in the Confluent wire format, read undecoded (``read_topic`` leaves a value
    that is not JSON as bytes); ``ValueError`` when such a value comes without a registry.
    """
    __tracebackhide__ = True
    records = list(records)
    bad: list[str] = []
    for item in records:
        if isinstance(item, Mapping):
            unkeyed = replace(contract, key_required=False, key_equals=None, required_headers=())
            problems = violations(unkeyed, item, registry=registry)
            head = formatting.summary(item)
        else:
            headers = getattr(item, "headers", None)
            value, problems = _read_and_check(contract, item.value, item.key, headers, registry,
                                              record=True)
            head = formatting.describe_record(
                item if value is item.value else _AsRead(item, value))
        if problems:
            bad.append("\n".join([head, *(str(p) for p in problems)]))
    if bad:
        raise AssertionError(formatting.failure(
            f"contract {contract.name!r}: {len(bad)} of {len(records)} record(s) violate it",
            ("violations", bad),
        ))
