"""A consumer contract: the file a consumer keeps next to its code, loaded and validated.

A contract is JSON (``*.contract.json``) or, when PyYAML is installed, YAML
(``*.contract.yaml``/``.yml``). The file itself is checked against :data:`CONTRACT_SCHEMA`
and every problem is reported with its path in the file::

    {
      "name": "email-service",
      "consumer": {"callable": "examples.contracts.runners:email_service"},
      "topics": ["orders"],
      "produces": [],
      "key": {"required": true, "equals": "data.order_id"},
      "event_type_field": "event_type",
      "id_field": "event_id",
      "events": {"generate": {"keys": 5}},
      "headers": {"required": []},
      "schemas": {"order.created": "schemas/order.created.json"},
      "avro": {"schemas": {"order.created": "order_created.avsc"},
               "compatibility": "BACKWARD"},
      "guarantee": {"delivery": "at-least-once", "ordering": "per-key",
                    "acts_on": ["order.created", "order.status_changed"]},
      "faults": {"events": 20, "crash_points": 5, "poison": 2, "supervised": false}
    }

The guide's event shape is the default: ``event_type_field`` (dotted path of the field
naming an event's type, default ``event_type``), ``id_field`` (of its unique id, default
``event_id``) and ``key.equals`` (the value field the record key must equal, default
``data.order_id`` for the guide's order events). ``events`` says where the scenarios'
events come from (absent: the guide's order events, see :mod:`.sources`):

* ``{"generate": {"types": {"payment.captured": 3, ...}, "keys": 5}}``: generated from the
  contract's own JSON Schemas with hypothesis-jsonschema, seeded; ``types`` weighs the
  event types (default: every schema, equally), ``keys`` is how many distinct key values
  the events share (default: a quarter of the events);
* ``{"factory": "module:callable"}``: ``callable(rng: random.Random, count: int) ->
  list[dict]``, or a factory_boy ``Factory`` (``build_batch(count)``, seeded);
* ``{"file": "path"}``: a JSON array or JSON Lines file of events (relative to the
  contract file); all of its events are used, whatever ``faults.events`` says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema

from ..paths import MISSING, field_at

CONTRACT_SUFFIXES = (".contract.json", ".contract.yaml", ".contract.yml")

DELIVERY = ("at-least-once", "effectively-once")

#: A dotted path into an event: ``data.order_id``.
DOTTED = r"^[^.]+(\.[^.]+)*$"
#: The guide's order events: their key rule when the contract names none.
ORDER_KEY = "data.order_id"

#: ``avro.compatibility``: which way the reader and writer schemas must resolve (see
#: :mod:`.avro_values`).
AVRO_COMPATIBILITY = ("BACKWARD", "FORWARD", "FULL", "NONE")

#: The JSON Schema every contract file must satisfy.
CONTRACT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "consumer", "topics", "guarantee"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "consumer": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "callable": {"type": "string", "pattern": r"^[\w.]+:[\w.]+$"},
                "command": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            },
            "oneOf": [{"required": ["callable"]}, {"required": ["command"]}],
        },
        "topics": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        "produces": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "key": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "required": {"type": "boolean"},
                "equals": {"type": "string", "minLength": 1},
            },
        },
        "event_type_field": {"type": "string", "pattern": DOTTED},
        "id_field": {"type": "string", "pattern": DOTTED},
        "events": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "generate": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "types": {"type": "object", "minProperties": 1,
                                  "additionalProperties": {"type": "number",
                                                           "exclusiveMinimum": 0}},
                        "keys": {"type": "integer", "minimum": 1},
                    },
                },
                "factory": {"type": "string", "pattern": r"^[\w.]+:[\w.]+$"},
                "file": {"type": "string", "minLength": 1},
            },
        },
        "headers": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"required": {"type": "array", "items": {"type": "string"}}},
        },
        "schemas": {
            "type": "object",
            "additionalProperties": {"type": ["string", "object"]},
        },
        "avro": {
            "type": "object",
            "required": ["schemas"],
            "additionalProperties": False,
            "properties": {
                "schemas": {"type": "object", "minProperties": 1,
                            "additionalProperties": {"type": ["string", "object"]}},
                "compatibility": {"enum": list(AVRO_COMPATIBILITY)},
            },
        },
        "guarantee": {
            "type": "object",
            "required": ["delivery"],
            "additionalProperties": False,
            "properties": {
                "delivery": {"enum": list(DELIVERY)},
                "ordering": {"enum": ["per-key", "none"]},
                "acts_on": {"type": "array", "items": {"type": "string", "minLength": 1},
                            "minItems": 1},
                "dlq": {
                    "type": "object",
                    "required": ["dlq_topic", "max_retries"],
                    "additionalProperties": False,
                    "properties": {
                        "dlq_topic": {"type": "string", "minLength": 1},
                        "max_retries": {"type": "integer", "minimum": 0},
                    },
                },
            },
        },
        "faults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "events": {"type": "integer", "minimum": 2},
                "crash_points": {"type": "integer", "minimum": 0},
                "poison": {"type": "integer", "minimum": 0},
                "seed": {"type": "integer"},
                "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
                "scenarios": {"type": "array", "items": {"type": "string"}},
                "supervised": {"type": "boolean"},
            },
        },
    },
}


class ContractError(ValueError):
    """A contract file that cannot be read or does not satisfy :data:`CONTRACT_SCHEMA`."""


@dataclass(frozen=True)
class Dlq:
    """Dead-letter policy: after ``max_retries`` retries an event goes to ``dlq_topic``."""

    dlq_topic: str
    max_retries: int


@dataclass(frozen=True)
class EventSource:
    """Where a contract's events come from (see the module docstring): ``kind`` is
    ``orders`` (the guide's order events), ``generate``, ``factory`` or ``file``."""

    kind: str = "orders"
    target: str | None = None
    """``factory``: the ``module:callable`` spec; ``file``: the path (resolved against
    the contract file's directory)."""
    types: Mapping[str, float] | None = None
    """``generate``: weight per event type (None: every schema, equally)."""
    keys: int | None = None
    """``generate``: distinct key values (None: a quarter of the events, at least 1)."""

    def describe(self) -> str:
        return self.kind if self.target is None else f"{self.kind} {self.target}"


@dataclass(frozen=True)
class Faults:
    """How hard the scenarios push: event count, crash points, poison events, seed."""

    events: int = 20
    crash_points: int = 5
    poison: int = 2
    seed: int | None = None
    timeout: float = 30.0
    scenarios: tuple[str, ...] | None = None
    supervised: bool = False
    """A supervisor restarts the consumer in production, so exiting on a rebalance or a
    connection cut is allowed (the harness restarts it once); by default it must not exit."""


@dataclass(frozen=True)
class Contract:
    """A loaded, validated contract (see the module docstring for the file format)."""

    name: str
    topics: tuple[str, ...]
    delivery: str
    callable: str | None = None
    command: tuple[str, ...] | None = None
    key_required: bool = False
    key_equals: str | None = None
    required_headers: tuple[str, ...] = ()
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ordering: bool = False
    dlq: Dlq | None = None
    faults: Faults = field(default_factory=Faults)
    acts_on: tuple[str, ...] | None = None
    """The event types that must have an effect; the others must have none. None: all."""
    produces: tuple[str, ...] = ()
    """Topics the consumer writes to (the harness creates them per scenario)."""
    path: Path | None = None
    description: str = ""
    event_type_field: str = "event_type"
    """Dotted path of the field naming an event's type (the key of ``schemas``)."""
    id_field: str = "event_id"
    """Dotted path of an event's unique id (what effects record, what poison names)."""
    events: EventSource = field(default_factory=EventSource)
    avro_schemas: Mapping[str, str] = field(default_factory=dict)
    """Event type -> the consumer's Avro *reader* schema (JSON string): records are in the
    Confluent wire format and :func:`~.messages.check_messages` decodes them (see
    :mod:`.avro_values`). Empty: values are JSON."""
    avro_compatibility: str = "BACKWARD"
    """``BACKWARD``/``FORWARD``: the reader schema reads each writer schema; ``FULL``: and
    the other way; ``NONE``: values only decode (see :mod:`.avro_values`)."""

    @property
    def key_path(self) -> str | None:
        """The value field a record's key is: ``key.equals``, else ``data.order_id`` for
        the guide's order events, else None (records are produced without a key)."""
        if self.key_equals:
            return self.key_equals
        return ORDER_KEY if self.events.kind == "orders" else None

    def event_type_of(self, event: Any) -> Any:
        """The value at ``event_type_field`` (None when absent)."""
        found = field_at(event, self.event_type_field)
        return None if found is MISSING else found

    def id_of(self, event: Any) -> str | None:
        """The id at ``id_field`` as a string (None when absent): an event dict, or a
        record (its value)."""
        value = event if isinstance(event, Mapping) else getattr(event, "value", event)
        found = field_at(value, self.id_field)
        return None if found is MISSING or found is None else str(found)

    def with_consumer(
        self, callable: str | None = None, *, command: Sequence[str] | None = None
    ) -> Contract:
        """The same contract for another consumer (e.g. a naive version, as a control)."""
        if (callable is None) == (command is None):
            raise ValueError("give a callable or a command, not both")
        return replace(self, callable=callable, command=tuple(command) if command else None)

    def with_faults(self, **changes: Any) -> Contract:
        """The same contract with other fault settings (``events``, ``seed``...)."""
        return replace(self, faults=replace(self.faults, **changes))

    def acts_on_event(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` must have an effect (its type is in ``acts_on``)."""
        return self.acts_on is None or self.event_type_of(event) in self.acts_on


def _problems(schema: Mapping[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    lines = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        lines.append(f"{where}: {error.message}")
    return lines


def read_document(path: Path) -> Any:
    """Parse a contract file (JSON; YAML when PyYAML is installed)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise ContractError(f"{path}: YAML contracts need PyYAML (pip install pyyaml)"
                                ) from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ContractError(_yaml_problem(path, exc)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})"
        ) from None


def _yaml_problem(path: Path, exc: Exception) -> str:
    """``file:line:column: problem`` for a YAML error, without PyYAML's traceback."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if mark is None:
        return f"{path}: not valid YAML: {problem}"
    line, column = mark.line + 1, mark.column + 1
    detail = f"{problem} ({context})" if context else problem
    return f"{path}:{line}:{column}: not valid YAML: {detail} (line {line}, column {column})"


def _schema_of(entry: Any, base: Path | None, event_type: str) -> dict[str, Any]:
    if isinstance(entry, Mapping):
        schema = dict(entry)
    else:
        schema_path = Path(entry) if base is None else base / entry
        try:
            schema = json.loads(schema_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ContractError(f"schemas/{event_type}: cannot read {schema_path}: {exc}") from None
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ContractError(
            f"schemas/{event_type}: not a valid JSON Schema: {exc.message}") from None
    return schema


def parse_contract(document: Any, *, path: Path | None = None) -> Contract:
    """Validate a parsed contract document and build a :class:`Contract`.

    Raises :class:`ContractError` listing every problem as ``path/in/file: message``.
    """
    problems = _problems(CONTRACT_SCHEMA, document)
    timeout = document.get("faults", {}).get("timeout") if isinstance(document, dict) else None
    if isinstance(timeout, float) and math.isnan(timeout):
        problems.append("faults/timeout: nan is not a number of seconds")
    if problems:
        origin = str(path) if path else "contract"
        raise ContractError(
            f"{origin}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems)
        )
    base = path.parent if path else None
    events = _event_source(document, base)
    problems = _source_problems(document, events)
    if problems:
        origin = str(path) if path else "contract"
        raise ContractError(
            f"{origin}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems)
        )
    try:
        schemas = {event_type: _schema_of(entry, base, event_type)
                   for event_type, entry in document.get("schemas", {}).items()}
        avro_schemas = {
            event_type: _avro_schema_of(entry, base, event_type)
            for event_type, entry in document.get("avro", {}).get("schemas", {}).items()
        }
    except ContractError as exc:
        raise ContractError(f"{path or 'contract'}: {exc}") from None
    consumer = document["consumer"]
    guarantee = document["guarantee"]
    dlq = guarantee.get("dlq")
    faults = document.get("faults", {})
    scenarios = faults.get("scenarios")
    return Contract(
        name=document["name"],
        description=document.get("description", ""),
        topics=tuple(document["topics"]),
        produces=tuple(document.get("produces", ())),
        acts_on=tuple(guarantee["acts_on"]) if "acts_on" in guarantee else None,
        delivery=guarantee["delivery"],
        callable=consumer.get("callable"),
        command=tuple(consumer["command"]) if "command" in consumer else None,
        key_required=bool(document.get("key", {}).get("required", False)),
        key_equals=document.get("key", {}).get("equals"),
        required_headers=tuple(document.get("headers", {}).get("required", ())),
        schemas=schemas,
        ordering=guarantee.get("ordering") == "per-key",
        dlq=Dlq(dlq["dlq_topic"], dlq["max_retries"]) if dlq else None,
        faults=Faults(
            events=faults.get("events", 20),
            crash_points=faults.get("crash_points", 5),
            poison=faults.get("poison", 2),
            seed=faults.get("seed"),
            timeout=float(faults.get("timeout", 30.0)),
            scenarios=tuple(scenarios) if scenarios is not None else None,
            supervised=bool(faults.get("supervised", False)),
        ),
        path=path,
        event_type_field=document.get("event_type_field", "event_type"),
        id_field=document.get("id_field", "event_id"),
        events=events,
        avro_schemas=avro_schemas,
        avro_compatibility=document.get("avro", {}).get("compatibility", "BACKWARD"),
    )


def _avro_schema_of(entry: Any, base: Path | None, event_type: str) -> str:
    """The Avro schema (JSON string) an ``avro/schemas`` entry names: an ``.avsc`` path
    (relative to the contract file) or the schema inline. :class:`ContractError` naming the
    entry when it is not valid Avro, or the [avro] extra is not installed."""
    from .. import extras
    from ..avro import InvalidSchemaFile, load_schema

    absent = extras.missing("avro")
    if absent:
        raise ContractError(
            f"avro/schemas/{event_type}: Avro schemas need the [avro] extra "
            f"({', '.join(absent)} not installed): {extras.pip_line('avro')}")
    if isinstance(entry, Mapping):
        import fastavro
        from fastavro.schema import SchemaParseException, UnknownType

        try:
            fastavro.parse_schema(dict(entry))
        except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError) as exc:
            raise ContractError(f"avro/schemas/{event_type}: not a valid Avro schema: "
                                f"{type(exc).__name__}: {exc}") from None
        return json.dumps(entry)
    schema_path = Path(entry) if base is None else base / entry
    try:
        return load_schema(schema_path)
    except InvalidSchemaFile as exc:
        raise ContractError(f"avro/schemas/{event_type}: {exc}") from None
    except OSError as exc:
        raise ContractError(f"avro/schemas/{event_type}: cannot read {schema_path}: "
                            f"{exc.strerror or exc}") from None


def _event_source(document: Mapping[str, Any], base: Path | None) -> EventSource:
    entry = document.get("events")
    if not entry:
        return EventSource()
    if "generate" in entry:
        options = entry["generate"]
        types = options.get("types")
        return EventSource("generate", types=dict(types) if types else None,
                           keys=options.get("keys"))
    if "factory" in entry:
        return EventSource("factory", target=entry["factory"])
    target = Path(entry["file"])
    if base is not None and not target.is_absolute():
        target = base / target
    return EventSource("file", target=str(target))


def _source_problems(document: Mapping[str, Any], events: EventSource) -> list[str]:
    """What the events source needs from the rest of the contract."""
    problems = []
    schemas = document.get("schemas", {})
    if events.kind == "generate":
        if not schemas:
            problems.append("events/generate: needs schemas (one JSON Schema per event type "
                            "to generate from)")
        unknown = sorted(set(events.types or ()) - set(schemas))
        if unknown and schemas:
            problems.append(f"events/generate/types: no schema for {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(schemas))})")
    if events.kind == "file" and not Path(str(events.target)).is_file():
        problems.append(f"events/file: no such file {events.target}")
    ordered = document["guarantee"].get("ordering") == "per-key"
    if events.kind != "orders" and ordered and not document.get("key", {}).get("equals"):
        problems.append('key/equals: ordering "per-key" needs the key rule for events that '
                        "are not the guide's order events (e.g. \"equals\": \"account_id\")")
    return problems


def load_contract(path: str | Path) -> Contract:
    """Read and validate a contract file."""
    path = Path(path)
    try:
        document = read_document(path)
    except OSError as exc:
        raise ContractError(f"{path}: cannot read: {exc}") from None
    return parse_contract(document, path=path)


def is_contract_file(path: Path) -> bool:
    """Whether ``path`` is named like a contract file."""
    return path.name.endswith(CONTRACT_SUFFIXES)
