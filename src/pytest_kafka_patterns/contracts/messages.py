"""Message contracts: do a producer's records match what a consumer's contract expects?

Each record is checked for the key rule (present; equal to a value field), the required
headers, and its value against the JSON Schema of its event type (the field the contract
names in ``event_type_field``, ``event_type`` by default). Problems are
reported field by field: where (``data.total``), what is wrong, and the value found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import jsonschema

from ..assertions import formatting
from ..paths import MISSING, field_at
from ..records import last_header
from .model import Contract


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
) -> list[Violation]:
    """Every way one record (its key, value and headers) breaks ``contract``.

    ``headers`` are ``(key, value)`` pairs as Kafka gives them (a mapping also works); a
    required header counts by its last value, and a null one is reported as such."""
    __tracebackhide__ = True
    found: list[Violation] = []
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
        return found
    event_type = field_at(value, contract.event_type_field)
    if not contract.schemas:
        return found
    schema = contract.schemas.get(event_type) if isinstance(event_type, str) else None
    if schema is None:
        known = ", ".join(sorted(contract.schemas))
        found.append(Violation(contract.event_type_field,
                               f"no schema in the contract (known: {known})", event_type))
        return found
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
    return found


def check_messages(contract: Contract, records: Iterable[Any]) -> None:
    """Raise ``AssertionError`` listing, per record, each field that breaks ``contract``.

    ``records`` are :class:`~pytest_kafka_patterns.Record` objects (or look-alikes with
    ``key``, ``value``, ``headers``), or bare event dicts (no key or header check then).
    """
    __tracebackhide__ = True
    records = list(records)
    bad: list[str] = []
    for item in records:
        if isinstance(item, Mapping):
            unkeyed = replace(contract, key_required=False, key_equals=None, required_headers=())
            problems = violations(unkeyed, item)
            head = formatting.summary(item)
        else:
            headers = getattr(item, "headers", None)
            problems = violations(contract, item.value, key=item.key, headers=headers)
            head = formatting.describe_record(item)
        if problems:
            bad.append("\n".join([head, *(str(p) for p in problems)]))
    if bad:
        raise AssertionError(formatting.failure(
            f"contract {contract.name!r}: {len(bad)} of {len(records)} record(s) violate it",
            ("violations", bad),
        ))
