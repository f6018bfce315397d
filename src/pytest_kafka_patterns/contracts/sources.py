"""Where a contract's events come from: the guide's order events (the default), events
generated from the contract's own JSON Schemas, a user's factory, or a file.

:func:`contract_events` builds a scenario's events from its seeded ``random.Random`` (same
seed, same events) and checks every one against the contract before the run: a JSON
object, an id at ``id_field`` that no other event has, a value at the key path, and valid
for the schema of its type. A bad source raises :class:`~.model.ContractError` naming the
source (file, callable) and the event's index.

Generation uses hypothesis-jsonschema (the ``contracts`` extra): valid instances of each
schema, drawn by Hypothesis from a seed taken from the scenario's ``rng``.
"""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from pkgutil import resolve_name
from typing import Any

from ..paths import MISSING, field_at, with_field
from .messages import violations
from .model import Contract, ContractError

#: How to install what ``events: {generate: ...}`` needs.
CONTRACTS_EXTRA = "pip install 'pytest-kafka-patterns[contracts]'"
#: Problems listed per bad source before "... and N more".
MAX_PROBLEMS = 10
#: Hypothesis examples tried per wanted event (draws without a new id are skipped).
TRIES_PER_EVENT = 10


class _Enough(Exception):
    """Ends a Hypothesis run once every event is made."""


def make_events(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """``count`` order events from ``rng``: per order an ``order.created``, then an
    ``order.status_changed`` (so each key has a history whose order matters)."""
    orders = max(1, count // 2)
    ids = [f"order_{rng.getrandbits(32):08x}" for _ in range(orders)]
    events: list[dict[str, Any]] = []
    stamp = "2026-01-01T00:00:00"
    for index in range(count):
        order_id = ids[index % orders]
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if index < orders:
            quantity = rng.randint(1, 3)
            price = round(rng.uniform(1, 100), 2)
            data: dict[str, Any] = {
                "order_id": order_id,
                "user_id": f"user_{rng.randint(1, 50)}",
                "items": [{"product_id": f"prod_{rng.randint(1, 9)}", "name": "Widget",
                           "price": price, "quantity": quantity}],
                "total": round(price * quantity, 2),
                "status": "pending",
                "created_at": stamp,
            }
            events.append({"event_type": "order.created", "event_id": event_id,
                           "timestamp": stamp, "data": data})
        else:
            data = {"order_id": order_id, "status": rng.choice(["confirmed", "shipped"]),
                    "updated_at": stamp}
            events.append({"event_type": "order.status_changed", "event_id": event_id,
                           "timestamp": stamp, "data": data})
    return events


def contract_events(contract: Contract, rng: random.Random,
                    count: int | None = None) -> list[dict[str, Any]]:
    """The events of one scenario run: ``count`` (default ``faults.events``) from the
    contract's ``events`` source, drawn with ``rng``; every one checked (see the module
    docstring). Raises :class:`ContractError` for a source that cannot be read or made,
    or an event that breaks the contract."""
    count = contract.faults.events if count is None else count
    source = contract.events
    if source.kind == "generate":
        events = generate_events(contract, rng, count)
    elif source.kind == "factory":
        events = factory_events(str(source.target), rng, count)
    elif source.kind == "file":
        events = file_events(Path(str(source.target)))
    else:
        events = make_events(rng, count)
    check_events(contract, events)
    return events


def _origin(contract: Contract) -> str:
    where = str(contract.path) if contract.path else f"contract {contract.name!r}"
    return f"{where}: events from {contract.events.describe()}"


def check_events(contract: Contract, events: Iterable[Any]) -> None:
    """Raise :class:`ContractError` listing each event (by index) that is not a JSON
    object, has no id or a repeated one, has no value at the key path, or is invalid for
    its type's schema."""
    unkeyed = replace(contract, key_required=False, key_equals=None, required_headers=())
    problems: list[str] = []
    seen: dict[str, int] = {}
    events = list(events)
    for index, event in enumerate(events):
        where = f"event #{index}"
        if not isinstance(event, Mapping):
            problems.append(f"{where}: not a JSON object ({type(event).__name__})")
            continue
        try:
            json.dumps(event)
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: not JSON-serializable: {exc}")
            continue
        ident = contract.id_of(event)
        if ident is None:
            problems.append(f"{where}: no id at {contract.id_field} (id_field)")
        elif ident in seen:
            problems.append(f"{where}: id {ident!r} repeats event #{seen[ident]}'s "
                            "(ids must be unique)")
        else:
            seen[ident] = index
        path = contract.key_path
        if path and contract.key_required and field_at(event, path) is MISSING:
            problems.append(f"{where}: no value at {path} (the key rule)")
        problems += [f"{where}: {violation}" for violation in violations(unkeyed, event)]
    if not events:
        problems.append("no events")
    if problems:
        more = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS] + ([f"... and {more} more"] if more > 0 else [])
        raise ContractError(f"{_origin(contract)}: {len(problems)} problem(s)\n"
                            + "\n".join(f"  {line}" for line in shown))


def factory_events(spec: str, rng: random.Random, count: int) -> list[Any]:
    """``count`` events from ``module:callable`` (``callable(rng, count)``) or from a
    factory_boy ``Factory`` class (``build_batch(count)`` after seeding factory_boy and
    Faker from ``rng``)."""
    try:
        target = resolve_name(spec)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ContractError(f"events/factory: cannot import {spec}: {exc}") from None
    if isinstance(target, type) and hasattr(target, "build_batch"):
        from factory.random import reseed_random

        reseed_random(rng.randrange(2**32))  # type: ignore[no-untyped-call]
        made: Any = target.build_batch(count)
    elif callable(target):
        made = target(rng, count)
    else:
        raise ContractError(f"events/factory: {spec} is a {type(target).__name__}, not a "
                            "callable (rng, count) -> list[dict] or a factory_boy Factory")
    if not isinstance(made, list | tuple):
        raise ContractError(f"events/factory: {spec} returned a {type(made).__name__}, "
                            "not a list of events")
    return list(made)


def file_events(path: Path) -> list[Any]:
    """The events of a JSON array file, or of a JSON Lines file (one event a line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"events/file: cannot read {path}: {exc}") from None
    if text.lstrip().startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: "
                                f"{exc.msg}") from None
        return list(loaded)
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ContractError(f"{path}:{number}:{exc.colno}: not valid JSON Lines: "
                                f"{exc.msg} (one JSON event a line)") from None
    return events


def generate_events(contract: Contract, rng: random.Random, count: int) -> list[dict[str, Any]]:
    """``count`` events valid for the contract's schemas, drawn by Hypothesis (through
    hypothesis-jsonschema) from a seed taken from ``rng``: the types follow
    ``events.generate.types`` (weights), the type field is set to the schema's name, each
    id is new, and the key field takes one of ``events.generate.keys`` values so that
    several events share each key. Same ``rng`` state, same events."""
    try:
        from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
        from hypothesis import strategies as st
        from hypothesis_jsonschema import from_schema
    except ImportError as exc:
        raise ContractError(f"{_origin(contract)}: generating events needs "
                            f"hypothesis-jsonschema ({exc}); {CONTRACTS_EXTRA}") from None
    weights = dict(contract.events.types or dict.fromkeys(contract.schemas, 1.0))
    least = min(weights.values())
    weighted = [kind for kind, weight in weights.items()
                for _ in range(max(1, round(weight / least)))]
    kinds = list(weights)
    strategies = {kind: from_schema(dict(contract.schemas[kind])) for kind in kinds}
    events: list[dict[str, Any]] = []
    ids: set[str] = set()
    unkeyed = replace(contract, key_required=False, key_equals=None, required_headers=())
    id_rng = random.Random(rng.randrange(2**32))

    @settings(max_examples=TRIES_PER_EVENT * count, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              verbosity=Verbosity.quiet, report_multiple_bugs=False)
    @seed(rng.randrange(2**32))
    @given(st.data())
    def draw(data: Any) -> None:
        # What is drawn may depend on the draws only (Hypothesis replays them): the type
        # too is drawn, and a full list stops the run after the draws, by raising.
        kind = data.draw(st.sampled_from(weighted))
        event = data.draw(strategies[kind])
        if len(events) == count:
            raise _Enough
        if not isinstance(event, dict):
            return
        if contract.event_type_of(event) != kind:
            event = with_field(event, contract.event_type_field, kind)
        event = _new_id(contract, unkeyed, event, id_rng)
        ident = contract.id_of(event)
        if ident is None or ident in ids:
            return
        ids.add(ident)
        events.append(event)

    with contextlib.suppress(_Enough):
        draw()
    if len(events) < count:
        raise ContractError(
            f"{_origin(contract)}: made only {len(events)} of {count} events with a unique "
            f"id at {contract.id_field} in {TRIES_PER_EVENT * count} tries: does each "
            f"schema require {contract.id_field} and allow many values for it?")
    return _share_keys(contract, rng, events)


def _new_id(contract: Contract, unkeyed: Contract, event: dict[str, Any],
            rng: random.Random) -> dict[str, Any]:
    """``event`` with a seeded UUID at the id field where its schema allows one (ids must
    be unique; Hypothesis's draws repeat small values), else as drawn."""
    candidate = with_field(event, contract.id_field,
                           str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    return event if violations(unkeyed, candidate) else candidate


def _share_keys(contract: Contract, rng: random.Random,
                events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write one of a few key values at the key path of each event (where that event
    stays valid), so that keys repeat and ordering per key has histories to check."""
    path = contract.key_path
    if not path:
        return events
    found = [value for event in events if (value := field_at(event, path)) is not MISSING]
    distinct = list(dict.fromkeys(json.dumps(value, sort_keys=True) for value in found))
    wanted = contract.events.keys or max(1, len(events) // 4)
    pool = [json.loads(text) for text in distinct[:wanted]]
    if not pool:
        return events
    unkeyed = replace(contract, key_required=False, key_equals=None, required_headers=())
    shared = []
    for event in events:
        candidate = with_field(event, path, pool[rng.randrange(len(pool))])
        shared.append(candidate if not violations(unkeyed, candidate) else event)
    return shared
