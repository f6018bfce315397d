"""Where a contract's events come from: generated from its schemas (seeded, valid, unique
ids, repeating keys), a factory, a file, the guide's order events; bad sources fail
before the run, naming the source and the event."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pytest_kafka_patterns.contracts import ContractError, check_messages, parse_contract
from pytest_kafka_patterns.contracts.model import load_contract
from pytest_kafka_patterns.contracts.sources import contract_events

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "examples" / "contracts" / "payments_ledger.contract.json"


def ledger(tmp_path: Path | None = None, **changes) -> object:
    document = json.loads(LEDGER.read_text())
    document["schemas"] = {kind: str((LEDGER.parent / path).resolve())
                           for kind, path in document["schemas"].items()}
    document.update(changes)
    path = (tmp_path or LEDGER.parent) / "ledger.contract.json"
    return parse_contract(document, path=path)


def test_generated_events_are_valid_unique_keyed_and_typed():
    contract = load_contract(LEDGER)
    events = contract_events(contract, random.Random(1), 40)
    assert len(events) == 40
    check_messages(contract, events)  # each valid for the schema of its type
    ids = [event["meta"]["message_id"] for event in events]
    assert len(set(ids)) == 40
    keys = Counter(event["account_id"] for event in events)
    assert len(keys) <= 4 and max(keys.values()) >= 5  # keys repeat: histories per key
    assert set(Counter(event["type"] for event in events)) == set(contract.schemas)


def test_same_seed_same_events_in_another_process():
    contract = load_contract(LEDGER)
    here = contract_events(contract, random.Random(7))
    assert here == contract_events(contract, random.Random(7))
    assert here != contract_events(contract, random.Random(8))
    code = ("import json, random, sys; "
            "from pytest_kafka_patterns.contracts.model import load_contract; "
            "from pytest_kafka_patterns.contracts.sources import contract_events; "
            f"print(json.dumps(contract_events(load_contract({str(LEDGER)!r}), "
            "random.Random(7))))")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin"},
                           cwd=ROOT)
    assert json.loads(there.stdout) == here


def test_generate_sets_the_type_field_for_schemas_that_do_not_constrain_it():
    schema = {"type": "object", "required": ["id", "user"], "additionalProperties": False,
              "properties": {"id": {"type": "string"}, "kind": {"type": "string"},
                             "user": {"enum": ["u1", "u2", "u3"]}}}
    contract = parse_contract({
        "name": "profiles", "consumer": {"callable": "m:f"}, "topics": ["users"],
        "event_type_field": "kind", "id_field": "id", "key": {"equals": "user"},
        "events": {"generate": {"types": {"user.updated": 3, "user.deleted": 1}, "keys": 2}},
        "schemas": {"user.updated": schema, "user.deleted": schema},
        "guarantee": {"delivery": "at-least-once", "ordering": "per-key"}})
    events = contract_events(contract, random.Random(3), 12)
    assert {event["kind"] for event in events} <= {"user.updated", "user.deleted"}
    assert len({event["user"] for event in events}) <= 2


def test_events_from_a_callable_and_from_a_factory_boy_factory():
    made = ledger(events={"factory": "examples.payments.factories:payment_events"})
    events = contract_events(made, random.Random(2), 8)
    assert events == contract_events(made, random.Random(2), 8)
    assert [event["type"] for event in events[:2]] == ["payment.authorized", "payment.captured"]

    boy = ledger(events={"factory": "examples.payments.factories:PaymentCapturedFactory"},
                 guarantee={"delivery": "at-least-once"})
    first = contract_events(boy, random.Random(2), 5)
    assert first == contract_events(boy, random.Random(2), 5)  # seeded factory_boy + Faker
    assert {event["type"] for event in first} == {"payment.captured"}


def test_events_from_a_json_lines_file_and_a_json_array_relative_to_the_contract(tmp_path):
    lines = (ROOT / "examples" / "payments" / "sample_events.jsonl").read_text()
    (tmp_path / "events.jsonl").write_text(lines)
    from_lines = contract_events(ledger(tmp_path, events={"file": "events.jsonl"}),
                                 random.Random(1))
    assert len(from_lines) == 12  # all of the file, whatever faults.events says
    (tmp_path / "events.json").write_text(json.dumps(from_lines))
    assert contract_events(ledger(tmp_path, events={"file": "events.json"}),
                           random.Random(9)) == from_lines


def test_a_bad_file_names_the_file_and_the_event(tmp_path):
    good = json.loads((ROOT / "examples/payments/sample_events.jsonl").read_text()
                      .splitlines()[1])
    bad = {**good, "amount_cents": "12.50"}
    twin = dict(good)
    (tmp_path / "events.json").write_text(json.dumps([good, bad, twin]))
    with pytest.raises(ContractError) as failure:
        contract_events(ledger(tmp_path, events={"file": "events.json"}), random.Random(1))
    message = str(failure.value)
    assert f"events from file {tmp_path / 'events.json'}: 3 problem(s)" in message
    assert "event #1: amount_cents: '12.50' is not of type 'integer'" in message
    assert "event #1: id " in message and "repeats event #0's" in message
    (tmp_path / "broken.jsonl").write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(ContractError, match=r"broken.jsonl:2:2: not valid JSON Lines"):
        contract_events(ledger(tmp_path, events={"file": "broken.jsonl"}), random.Random(1))
    with pytest.raises(ContractError, match=r"events/file: no such file .*missing.json"):
        ledger(tmp_path, events={"file": "missing.json"})


def test_a_bad_factory_names_the_callable_and_the_event():
    with pytest.raises(ContractError, match=r"events/factory: cannot import "
                       r"examples.payments.factories:nope"):
        contract_events(ledger(events={"factory": "examples.payments.factories:nope"}),
                        random.Random(1))
    orders = ledger(events={"factory": "pytest_kafka_patterns.contracts.sources:make_events"})
    with pytest.raises(ContractError) as failure:
        contract_events(orders, random.Random(1), 4)
    message = str(failure.value)
    assert ("events from factory pytest_kafka_patterns.contracts.sources:make_events"
            in message)
    assert "event #0: no id at meta.message_id (id_field)" in message


def test_generate_without_hypothesis_jsonschema_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis_jsonschema", None)  # import fails
    with pytest.raises(ContractError, match=r"pip install 'pytest-kafka-patterns\[contracts\]'"):
        contract_events(load_contract(LEDGER), random.Random(1))


def test_the_guide_order_events_stay_the_default():
    email = load_contract(ROOT / "examples" / "contracts" / "email_service.contract.yaml")
    assert email.events.kind == "orders" and email.key_path == "data.order_id"
    assert (email.id_field, email.event_type_field) == ("event_id", "event_type")
    events = contract_events(email, random.Random(1), 6)
    assert {event["event_type"] for event in events} == {"order.created",
                                                         "order.status_changed"}


def test_source_rules_are_checked_with_the_contract():
    base = {"name": "x", "consumer": {"callable": "m:f"}, "topics": ["t"],
            "guarantee": {"delivery": "at-least-once", "ordering": "per-key"}}
    with pytest.raises(ContractError) as failure:
        parse_contract({**base, "events": {"generate": {"types": {"a": 1}}}})
    message = str(failure.value)
    assert "events/generate: needs schemas" in message
    assert 'key/equals: ordering "per-key" needs the key rule' in message
    with pytest.raises(ContractError, match=r"events/generate/types: no schema for b"):
        parse_contract({**base, "key": {"equals": "k"}, "schemas": {"a": {}},
                        "events": {"generate": {"types": {"b": 1}}}})
    with pytest.raises(ContractError, match=r"events: .*(should be non-empty|"
                       r"does not have enough properties|is too long|has too many)"):
        parse_contract({**base, "key": {"equals": "k"},
                        "events": {"file": "a", "factory": "m:f"}})


def test_messages_read_the_contracts_own_type_id_and_key_fields():
    contract = parse_contract({
        "name": "profiles", "consumer": {"callable": "m:f"}, "topics": ["users"],
        "event_type_field": "meta.kind", "id_field": "meta.id",
        "key": {"required": True, "equals": "user.id"},
        "schemas": {"user.updated": {"type": "object", "required": ["user"]}},
        "guarantee": {"delivery": "at-least-once"}})
    from pytest_kafka_patterns.contracts import violations

    good = {"meta": {"kind": "user.updated", "id": "m1"}, "user": {"id": "u1"}}
    assert violations(contract, good, key="u1") == []
    assert contract.id_of(good) == "m1" and contract.event_type_of(good) == "user.updated"
    unknown = {"meta": {"kind": "user.deleted", "id": "m2"}, "user": {"id": "u1"}}
    [problem] = violations(contract, unknown, key="u2")[1:]
    assert str(problem).startswith("meta.kind: no schema in the contract (known: "
                                   "user.updated) (value: ")
    assert "key: is not user.id ('u1')" in str(violations(contract, unknown, key="u2")[0])
