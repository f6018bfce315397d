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
      "headers": {"required": []},
      "schemas": {"order.created": "schemas/order.created.json"},
      "guarantee": {"delivery": "at-least-once", "ordering": "per-key",
                    "acts_on": ["order.created", "order.status_changed"]},
      "faults": {"events": 20, "crash_points": 5, "poison": 2, "supervised": false}
    }
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema

CONTRACT_SUFFIXES = (".contract.json", ".contract.yaml", ".contract.yml")

DELIVERY = ("at-least-once", "effectively-once")

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
        "headers": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"required": {"type": "array", "items": {"type": "string"}}},
        },
        "schemas": {
            "type": "object",
            "additionalProperties": {"type": ["string", "object"]},
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
        """Whether ``event`` must have an effect (its ``event_type`` is in ``acts_on``)."""
        return self.acts_on is None or event.get("event_type") in self.acts_on


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
        schemas={
            event_type: _schema_of(entry, base, event_type)
            for event_type, entry in document.get("schemas", {}).items()
        },
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
    )


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
