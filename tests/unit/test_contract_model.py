"""Loading and validating contract files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_kafka_patterns.contracts import ContractError, load_contract, parse_contract
from pytest_kafka_patterns.contracts.model import is_contract_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"

MINIMAL = {
    "name": "email",
    "consumer": {"callable": "pkg.mod:run"},
    "topics": ["orders"],
    "guarantee": {"delivery": "at-least-once"},
}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.contract.*")), ids=lambda p: p.name)
def test_example_contracts_load(path):
    contract = load_contract(path)
    assert contract.path == path
    if contract.events.kind == "orders":
        assert set(contract.schemas) == {"order.created", "order.status_changed"}
    else:  # the payments ledger: its own event types
        assert set(contract.schemas) == {"payment.authorized", "payment.captured",
                                         "payment.refunded"}
    assert contract.faults.crash_points == 5 and contract.faults.events == 20


def test_retry_contract_has_a_dlq_policy():
    contract = load_contract(EXAMPLES / "retry_dlq_consumer.contract.json")
    assert contract.dlq is not None and contract.dlq.max_retries == 2
    assert contract.dlq.dlq_topic == "orders.dlq" and not contract.ordering


def test_defaults():
    contract = parse_contract(MINIMAL)
    assert contract.callable == "pkg.mod:run" and contract.command is None
    assert contract.delivery == "at-least-once" and contract.dlq is None
    assert contract.faults.crash_points == 5 and contract.faults.seed is None
    assert not contract.key_required and contract.required_headers == ()
    assert contract.acts_on is None and contract.produces == ()
    assert not contract.faults.supervised


def test_acts_on_produces_and_supervised():
    contract = parse_contract({
        **MINIMAL, "produces": ["inventory"],
        "guarantee": {"delivery": "effectively-once", "acts_on": ["order.created"]},
        "faults": {"supervised": True},
    })
    assert contract.produces == ("inventory",) and contract.faults.supervised
    assert contract.acts_on_event({"event_type": "order.created"})
    assert not contract.acts_on_event({"event_type": "order.status_changed"})
    assert parse_contract(MINIMAL).acts_on_event({"event_type": "anything"})


def test_inventory_contract_acts_on_created_orders_and_produces_results():
    contract = load_contract(EXAMPLES / "inventory_service.contract.yaml")
    assert contract.acts_on == ("order.created",) and contract.produces == ("inventory",)
    assert contract.delivery == "effectively-once"


def test_every_problem_is_listed_with_its_path():
    bad = {**MINIMAL, "topics": [], "guarantee": {"delivery": "exactly-once"},
           "consumer": {"callable": "no colon"}, "extra": 1}
    with pytest.raises(ContractError) as failure:
        parse_contract(bad)
    message = str(failure.value)
    assert message.startswith("contract: 4 problem(s)")
    assert "(top level): Additional properties are not allowed ('extra' was unexpected)" in message
    assert "consumer/callable: 'no colon' does not match" in message
    assert "guarantee/delivery: 'exactly-once' is not one of" in message
    assert "topics: [] should be non-empty" in message


def test_consumer_needs_a_callable_or_a_command():
    with pytest.raises(ContractError, match="consumer"):
        parse_contract({**MINIMAL, "consumer": {}})
    contract = parse_contract({**MINIMAL, "consumer": {"command": ["python", "-m", "svc"]}})
    assert contract.command == ("python", "-m", "svc")


def test_schema_files_resolve_next_to_the_contract(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"type": "object"}))
    path = tmp_path / "x.contract.json"
    path.write_text(json.dumps({**MINIMAL, "schemas": {"order.created": "s.json"}}))
    assert load_contract(path).schemas["order.created"] == {"type": "object"}


def test_bad_schema_and_bad_json_are_reported(tmp_path):
    path = tmp_path / "x.contract.json"
    path.write_text(json.dumps({**MINIMAL, "schemas": {"order.created": "missing.json"}}))
    with pytest.raises(ContractError, match=r"schemas/order\.created: cannot read"):
        load_contract(path)
    path.write_text(json.dumps({**MINIMAL, "schemas": {"order.created": {"type": 5}}}))
    with pytest.raises(ContractError, match=r"schemas/order\.created: not a valid JSON Schema"):
        load_contract(path)
    path.write_text("{not json")
    with pytest.raises(ContractError, match="not valid JSON"):
        load_contract(path)


def test_bad_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "x.contract.json"
    path.write_text('{"name": "x",\n  "topics": [,]}')
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert str(info.value).startswith(f"{path}:2:14: not valid JSON")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: x\ntopics: [orders\nguarantee: {}\n", ":3:10:"),
        ("name: x\n  topics: - a\n", ":2:9:"),
        ("name: 'x\n", ":2:1:"),
        ("- a\nb: c\n", ":2:1:"),
    ],
)
def test_bad_yaml_names_file_line_and_column(tmp_path, text, where):
    """Issue 15 (9): a YAML error was a 60-line traceback that never named the file."""
    path = tmp_path / "x.contract.yaml"
    path.write_text(text)
    with pytest.raises(ContractError) as info:
        load_contract(path)
    message = str(info.value)
    assert message.startswith(f"{path}{where} not valid YAML: "), message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("timeout", [".inf", ".nan", "1e9"])
def test_a_contract_timeout_must_be_finite(tmp_path, timeout):
    path = tmp_path / "x.contract.yaml"
    path.write_text(
        "name: x\nconsumer: {callable: 'a:b'}\ntopics: [t]\n"
        f"guarantee: {{delivery: at-least-once}}\nfaults: {{timeout: {timeout}}}\n"
    )
    with pytest.raises(ContractError, match="faults/timeout"):
        load_contract(path)


def test_with_consumer_and_faults():
    contract = parse_contract(MINIMAL)
    other = contract.with_consumer("pkg.naive:run").with_faults(seed=3, events=4)
    assert other.callable == "pkg.naive:run" and other.faults.seed == 3
    assert contract.faults.seed is None
    with pytest.raises(ValueError):
        contract.with_consumer()


def test_contract_file_names():
    assert is_contract_file(Path("a/email.contract.json"))
    assert is_contract_file(Path("email.contract.yaml"))
    assert not is_contract_file(Path("email.json"))


def test_seeds_reproduce_events_and_crash_points():
    import random

    from pytest_kafka_patterns.contracts.scenarios import make_events, scenario_seed

    assert make_events(random.Random(3), 20) == make_events(random.Random(3), 20)
    assert make_events(random.Random(3), 20) != make_events(random.Random(4), 20)
    contract = parse_contract(MINIMAL)
    assert scenario_seed(contract, "crash", 42) == scenario_seed(contract, "crash", 42)
    assert scenario_seed(contract, "crash", 42) != scenario_seed(contract, "poison", 42)
    assert scenario_seed(contract.with_faults(seed=9), "crash", 42) == 9
