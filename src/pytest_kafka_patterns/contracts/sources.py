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
import importlib.util
import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from pkgutil import resolve_name
from typing import Any

from .. import extras
from ..paths import MISSING, field_at, with_field
from .messages import violations
from .model import Contract, ContractError, EventSource

#: How to install what ``events: {generate: ...}`` needs.
CONTRACTS_EXTRA = extras.pip_line("contracts")
#: Problems listed per bad source before "... and N more".
MAX_PROBLEMS = 10
#: Hypothesis examples tried per wanted event (draws without a new id are skipped).
TRIES_PER_EVENT = 10
#: Seconds the generating process may take.
GENERATE_TIMEOUT = 300.0


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
    several events share each key. Same ``rng`` state, same events, in any process.

    Drawn in a fresh interpreter (``python -m pytest_kafka_patterns.contracts.sources``,
    about a second): Hypothesis mixes constants found in the modules loaded in its process
    into what it draws, so the same seed gave other events inside a test run than outside
    it; a fresh process always loads the same modules. It also keeps Hypothesis out of a
    test that may itself be a Hypothesis test."""
    if importlib.util.find_spec("hypothesis_jsonschema") is None:
        raise ContractError(f"{_origin(contract)}: generating events needs "
                            f"hypothesis-jsonschema: {CONTRACTS_EXTRA}")
    request = {
        "schemas": {kind: dict(schema) for kind, schema in contract.schemas.items()},
        "types": dict(contract.events.types) if contract.events.types else None,
        "keys": contract.events.keys, "key_path": contract.key_path,
        "event_type_field": contract.event_type_field, "id_field": contract.id_field,
        "count": count, "seed": rng.randrange(2**32),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__], input=json.dumps(request), text=True,
            capture_output=True, timeout=GENERATE_TIMEOUT,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    except subprocess.TimeoutExpired:
        raise ContractError(f"{_origin(contract)}: generating {count} events took over "
                            f"{GENERATE_TIMEOUT:g} s") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise ContractError(f"{_origin(contract)}: generating events failed:\n{tail}")
    events: list[dict[str, Any]] = json.loads(done.stdout)
    return events


def _generate_here(contract: Contract, rng: random.Random,
                   count: int) -> list[dict[str, Any]]:
    """:func:`generate_events` in this process (the fresh one it starts)."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

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


def main() -> None:
    """``python -m pytest_kafka_patterns.contracts.sources``: read a generation request
    (JSON, from :func:`generate_events`) on stdin, print the events as JSON."""
    request = json.load(sys.stdin)
    contract = Contract(
        name="generate", topics=("generate",), delivery="at-least-once",
        schemas=request["schemas"], key_equals=request["key_path"],
        event_type_field=request["event_type_field"], id_field=request["id_field"],
        events=EventSource("generate", types=request["types"], keys=request["keys"]),
    )
    try:
        events = _generate_here(contract, random.Random(request["seed"]), request["count"])
    except ContractError as exc:
        raise SystemExit(str(exc)) from None
    json.dump(events, sys.stdout)


if __name__ == "__main__":
    main()
