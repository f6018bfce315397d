"""Avro values against a contract's reader schemas (a contract's ``avro`` section).

A consumer built on Avro keeps a *reader* schema per event type; a producer writes with
its own *writer* schema, whose id travels in each record (the Confluent wire format: magic
byte 0, 4-byte schema id, Avro body). Whether the consumer can read what was written is
Avro schema resolution (Avro 1.11 specification, "Schema Resolution"): every reader field
the writer does not write needs a default, every field both have must have types the
reader can promote from the writer's (``int`` -> ``long``/``float``/``double``, ``string``
<-> ``bytes``...), enum symbols the writer may write must be the reader's, record names
must match (or be aliased).

That judgement is Apache Avro's own ``avro.compatibility.ReaderWriterCompatibilityChecker``
(the port of the Java ``SchemaCompatibility`` the Confluent Schema Registry checks with),
asked one record field at a time so that each problem names its field (``data.total``);
the decoding is fastavro's, with the writer schema resolved to the reader's. Nothing here
encodes or decodes Avro itself.

``compatibility`` (the contract's ``avro.compatibility``) says which way to check:

* ``BACKWARD`` (the default) and ``FORWARD``: the contract's schema, as reader, can read
  every writer schema found on the wire. Between one consumer and one producer the two
  registry modes ask the same question (the consumer's schema reads the producer's);
  they differ only in which side is the newer version, that is, in which side deploys
  first (Confluent docs, "Schema Evolution and Compatibility").
* ``FULL``: also the other way (the writer schema, as reader, can read data written with
  the contract's), so either side may deploy first or roll back.
* ``NONE``: a value only has to decode with its own writer schema.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..paths import MISSING

if TYPE_CHECKING:
    from ..avro import SchemaRegistry


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@lru_cache(maxsize=256)
def _avro_schema(schema: str) -> Any:
    import avro.schema

    return avro.schema.parse(schema)


@lru_cache(maxsize=256)
def _fastavro_schema(schema: str) -> Any:
    import fastavro

    return fastavro.parse_schema(json.loads(schema))


def resolution_problems(reader: str, writer: str) -> list[tuple[str, str]]:
    """Why data written with ``writer`` cannot be read with ``reader`` (both Avro schemas
    as JSON strings): ``(field path, problem)`` pairs, ``[]`` when it can. The path is
    dotted through nested records (``data.total``; ``value`` for the whole value)."""
    return _walk(_avro_schema(reader), _avro_schema(writer), "")


def _walk(reader: Any, writer: Any, path: str) -> list[tuple[str, str]]:
    from avro.compatibility import (
        ReaderWriterCompatibilityChecker,
        SchemaCompatibilityType,
        lookup_writer_field,
        schema_name_equals,
    )

    if reader.type == "record" and writer.type == "record":
        if not schema_name_equals(reader, writer):
            return [(path or "value",
                     f"record {reader.fullname} cannot read record {writer.fullname} "
                     "(the names differ; give the reader an alias)")]
        problems: list[tuple[str, str]] = []
        for reader_field in reader.fields:
            where = _join(path, reader_field.name)
            writer_field = lookup_writer_field(writer_schema=writer, reader_field=reader_field)
            if writer_field is None:
                if not reader_field.has_default:
                    problems.append((where, "not written, and the reader's field has no "
                                            "default"))
                continue
            problems += _walk(reader_field.type, writer_field.type, where)
        return problems
    if reader.type == "enum" and writer.type == "enum" and schema_name_equals(reader, writer):
        extra = [symbol for symbol in writer.symbols if symbol not in reader.symbols]
        if extra and reader.props.get("default") not in reader.symbols:
            return [(path or "value",
                     f"the producer's enum {writer.name} has symbol(s) the consumer's "
                     f"lacks: {', '.join(extra)} (add them to the consumer's enum, or give "
                     "it a default)")]
        return []
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    return [(path or "value", "; ".join(sorted(result.messages)))]


def value_problems(schema: str, value: Any) -> list[tuple[str, str, Any]]:
    """Why ``value`` (a decoded dict) is not a valid datum of the Avro ``schema`` (a JSON
    string): ``(field path, problem, value found)`` triples, every field checked (fastavro
    validates each leaf; nested records are walked here so that each problem names its
    field). ``value found`` is :data:`~pytest_kafka_patterns.paths.MISSING` for a
    missing field."""
    from fastavro.schema import expand_schema

    return _check(expand_schema(json.loads(schema)), value, "")


def _check(schema: Any, value: Any, path: str) -> list[tuple[str, str, Any]]:
    import fastavro
    from fastavro.validation import validate

    if isinstance(schema, Mapping) and schema.get("type") == "record":
        if not isinstance(value, Mapping):
            name = str(schema["name"]).rsplit(".", 1)[-1]
            return [(path or "value", f"is not a {name} record", value)]
        problems: list[tuple[str, str, Any]] = []
        for field in schema["fields"]:
            where = _join(path, field["name"])
            if field["name"] not in value:
                if "default" not in field:
                    problems.append((where, "required field missing", MISSING))
                continue
            problems += _check(field["type"], value[field["name"]], where)
        return problems
    if validate(value, fastavro.parse_schema(schema), raise_errors=False):
        return []
    return [(path or "value", f"is not {_describe(schema)}", value)]


def _describe(schema: Any) -> str:
    """``schema`` (expanded JSON) in a few words: ``an Avro double``, ``one of the symbols
    pending, shipped``..."""
    if isinstance(schema, str):
        return f"an Avro {schema}"
    if isinstance(schema, list):
        return "one of " + " | ".join(_describe(branch) for branch in schema)
    kind = schema.get("type")
    name = str(schema.get("name", "")).rsplit(".", 1)[-1]  # expanded names are full names
    if kind == "enum":
        return f"one of the {name} symbols ({', '.join(schema['symbols'])})"
    if kind == "array":
        return f"an array of {_describe(schema['items'])}"
    if kind == "map":
        return f"a map of {_describe(schema['values'])}"
    if kind in ("record", "fixed"):
        return f"a {name} {kind}"
    return _describe(kind) if isinstance(kind, str | list) else f"an Avro {kind}"


def decode_resolved(data: bytes, writer: str, reader: str) -> Any:
    """The body of the wire-format ``data`` read with ``writer`` resolved to ``reader``
    (fastavro's ``schemaless_reader``): what a consumer holding ``reader`` gets."""
    import fastavro

    return fastavro.schemaless_reader(
        io.BytesIO(data[5:]), _fastavro_schema(writer), _fastavro_schema(reader)
    )


def writer_schema(registry: SchemaRegistry, data: bytes) -> str:
    """The writer schema (JSON string) of the wire-format ``data``, by the id in its
    framing; call after ``registry.decode(data)`` succeeded (so the id is known)."""
    schema_id = int.from_bytes(data[1:5], "big")
    return str(registry.client.get_schema(schema_id).schema_str)
