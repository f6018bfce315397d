"""A contract's Avro reader schemas against producers' writer schemas (issue 11): values in
the Confluent wire format are decoded through the registry, each problem names its field,
``FULL`` checks both ways, and bad input is named. The registry is confluent-kafka's
in-process mock (the wire format and the schema ids are real; no broker is needed to
judge bytes); tests/integration/test_avro.py does the same through a real broker."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_kafka_patterns import Record
from pytest_kafka_patterns.avro import SchemaRegistry, event_schema, new_client
from pytest_kafka_patterns.contracts import (
    Contract,
    ContractError,
    check_messages,
    load_contract,
    parse_contract,
    violations,
)
from pytest_kafka_patterns.contracts.avro_values import resolution_problems, value_problems
from pytest_kafka_patterns.factories import OrderCreatedEventFactory

pytest.importorskip("confluent_kafka.schema_registry.avro")
pytest.importorskip("avro.compatibility")

READER = json.loads(event_schema("order.created"))


def contract(compatibility: str | None = None, schema: Any = None, **extra: Any) -> Contract:
    avro: dict[str, Any] = {"schemas": {"order.created": schema or READER}}
    if compatibility:
        avro["compatibility"] = compatibility
    return parse_contract({
        "name": "email", "consumer": {"callable": "x:y"}, "topics": ["orders"],
        "guarantee": {"delivery": "at-least-once"}, "avro": avro,
        "key": {"required": True, "equals": "data.order_id"}, **extra,
    })


def evolved(change: Any) -> dict[str, Any]:
    """The shipped order.created schema with ``change(data_fields)`` applied: the
    producer's next version."""
    schema = copy.deepcopy(READER)
    data = next(f for f in schema["fields"] if f["name"] == "data")["type"]
    change(data["fields"])
    return schema


def field_of(fields: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(f for f in fields if f["name"] == name)


@pytest.fixture
def registry(request: pytest.FixtureRequest) -> SchemaRegistry:
    url = "mock://" + re.sub(r"[^\w-]", "-", request.node.name)
    return SchemaRegistry(url, "mock", new_client(url))


def wire(registry: SchemaRegistry, writer: dict[str, Any], event: dict[str, Any]) -> Record:
    """``event`` written with ``writer`` as a producer would: a record of ``orders``."""
    data = registry.encode("orders", event, json.dumps(writer))
    return Record("orders", 0, 0, event["data"]["order_id"], data, [])


def order(**data: Any) -> dict[str, Any]:
    event: dict[str, Any] = OrderCreatedEventFactory()
    event["data"].update(data)
    return event


# ---- the reader/writer judgement, field by field -------------------------------------


def test_the_same_schema_resolves() -> None:
    assert resolution_problems(json.dumps(READER), json.dumps(READER)) == []


def test_a_field_the_writer_dropped_is_named_when_the_reader_has_no_default() -> None:
    writer = evolved(lambda fields: fields.remove(field_of(fields, "total")))
    assert resolution_problems(json.dumps(READER), json.dumps(writer)) == [
        ("data.total", "not written, and the reader's field has no default")]


def test_a_changed_type_is_named_with_both_types() -> None:
    writer = evolved(lambda fields: field_of(fields, "total").update(type="string"))
    assert resolution_problems(json.dumps(READER), json.dumps(writer)) == [
        ("data.total", "reader type: double not compatible with writer type: string")]


def test_promotions_and_added_fields_resolve() -> None:
    """int -> double is an Avro promotion; a field only the writer has is skipped."""
    def change(fields: list[dict[str, Any]]) -> None:
        field_of(fields, "total").update(type="int")
        fields.append({"name": "coupon", "type": "string"})

    assert resolution_problems(json.dumps(READER), json.dumps(evolved(change))) == []


def test_a_reader_field_with_a_default_needs_no_writer_field(registry: SchemaRegistry) -> None:
    reader = evolved(lambda fields: fields.append(
        {"name": "currency", "type": "string", "default": "EUR"}))
    assert resolution_problems(json.dumps(reader), json.dumps(READER)) == []
    check_messages(contract(schema=reader), [wire(registry, READER, order())],
                   registry=registry)


def test_a_new_enum_symbol_is_named_unless_the_reader_has_a_default() -> None:
    writer = evolved(lambda fields: field_of(fields, "status")["type"]["symbols"].append(
        "refunded"))
    assert resolution_problems(json.dumps(READER), json.dumps(writer)) == [
        ("data.status", "the producer's enum OrderStatus has symbol(s) the consumer's lacks: "
                        "refunded (add them to the consumer's enum, or give it a default)")]
    reader = evolved(lambda fields: field_of(fields, "status")["type"].update(
        default="pending"))
    assert resolution_problems(json.dumps(reader), json.dumps(writer)) == []


def test_a_renamed_record_is_named() -> None:
    writer = copy.deepcopy(READER) | {"name": "OrderPlaced"}
    [(path, problem)] = resolution_problems(json.dumps(READER), json.dumps(writer))
    assert path == "value" and "OrderPlaced" in problem and "alias" in problem


def test_a_decoded_value_is_checked_against_the_reader_schema_field_by_field() -> None:
    event = order(total="ten", status="lost")
    del event["data"]["user_id"]
    problems = value_problems(json.dumps(READER), event)
    assert [(path, problem) for path, problem, _ in problems] == [
        ("data.user_id", "required field missing"),
        ("data.total", "is not an Avro double"),
        ("data.status", "is not one of the OrderStatus symbols (pending, confirmed, shipped, "
                        "delivered, cancelled)"),
    ]
    assert value_problems(json.dumps(READER), order()) == []


# ---- check_messages on wire-format records ---------------------------------------------


def test_records_a_compatible_producer_wrote_pass(registry: SchemaRegistry) -> None:
    writer = evolved(lambda fields: fields.append(
        {"name": "coupon", "type": "string", "default": ""}))
    check_messages(contract(), [wire(registry, writer, order() | {}) for _ in range(3)],
                   registry=registry)


def test_a_producer_change_that_breaks_the_reader_fails_with_the_field(
    registry: SchemaRegistry,
) -> None:
    writer = evolved(lambda fields: fields.remove(field_of(fields, "total")))
    event = order()
    del event["data"]["total"]
    with pytest.raises(AssertionError) as caught:
        check_messages(contract(), [wire(registry, writer, event)], registry=registry)
    message = str(caught.value)
    assert "1 of 1 record(s) violate it" in message
    assert ("data.total: the consumer's order.created schema cannot read the producer's "
            "(schema id 1): not written, and the reader's field has no default") in message


def test_full_also_needs_the_producer_to_read_the_consumers_schema(
    registry: SchemaRegistry,
) -> None:
    """A field the producer added without a default: the consumer reads on (BACKWARD),
    but the producer's schema cannot read data written with the consumer's (FULL)."""
    writer = evolved(lambda fields: fields.append({"name": "coupon", "type": "string"}))
    records = [wire(registry, writer, order(coupon="SAVE10"))]
    check_messages(contract("BACKWARD"), records, registry=registry)
    check_messages(contract("FORWARD"), records, registry=registry)
    with pytest.raises(AssertionError, match=r"data\.coupon: FULL compatibility: the "
                       r"producer's schema \(id 1\) cannot read the consumer's"):
        check_messages(contract("FULL"), records, registry=registry)


def test_none_only_needs_the_value_to_decode(registry: SchemaRegistry) -> None:
    writer = evolved(lambda fields: field_of(fields, "total").update(type="string"))
    records = [wire(registry, writer, order(total="ten"))]
    check_messages(contract("NONE"), records, registry=registry)
    with pytest.raises(AssertionError, match=r"data\.total: the consumer's order\.created"):
        check_messages(contract(), records, registry=registry)


def test_the_key_rule_and_json_schemas_check_the_value_the_consumer_reads(
    registry: SchemaRegistry,
) -> None:
    """Resolution turns the writer's int total into the reader's double; the key rule reads
    data.order_id of the decoded value; a JSON Schema beside the Avro one still applies."""
    writer = evolved(lambda fields: field_of(fields, "total").update(type="int"))
    event = order(total=12)
    wrong_key = dataclasses.replace(wire(registry, writer, event), key="someone_else")
    strict = contract(schemas={"order.created": {
        "type": "object", "properties": {"data": {"properties": {
            "total": {"type": "number", "minimum": 100}}}}}})
    found = violations(strict, wrong_key.value, key=wrong_key.key, registry=registry)
    assert [(v.path, v.value) for v in found] == [("key", "someone_else"), ("data.total", 12.0)]
    assert isinstance(found[1].value, float)


def test_a_value_not_in_the_wire_format_is_a_violation_naming_why(
    registry: SchemaRegistry,
) -> None:
    record = Record("orders", 0, 7, "order_1", b'{"event_type": "order.created"}', [])
    with pytest.raises(AssertionError) as caught:
        check_messages(contract(), [record], registry=registry)
    assert "orders[0]@7" in str(caught.value)
    assert "value: cannot be decoded: not in the Confluent wire format: first byte 0x7b" in str(
        caught.value)


def test_an_unknown_schema_id_is_a_violation(registry: SchemaRegistry) -> None:
    data = b"\x00\x00\x00\x00\x63" + b"\x02"
    [found] = violations(contract(), data, key="k", registry=registry)
    assert found.path == "value" and "schema id 99 is unknown to the registry" in found.problem


def test_an_event_type_without_a_reader_schema_is_named(registry: SchemaRegistry) -> None:
    changed = json.loads(event_schema("order.status_changed"))
    event = {"event_type": "order.status_changed", "event_id": "e", "timestamp": "t",
             "data": {"order_id": "o", "status": "shipped", "updated_at": "t"}}
    [found] = violations(contract(), registry.encode("orders", event, json.dumps(changed)),
                         key="o", registry=registry)
    assert (found.path, found.value) == ("event_type", "order.status_changed")
    assert found.problem == "no schema in the contract (known: order.created)"


@pytest.mark.parametrize("registered", [True, False], ids=["with-registry", "without"])
def test_a_decoded_value_in_a_record_is_not_the_wire_format(
    registry: SchemaRegistry, registered: bool,
) -> None:
    """A JSON record among Avro ones (read_topic decodes JSON), or a record read with a
    value_deserializer: its writer schema cannot be checked, so it must not pass."""
    record = Record("orders", 0, 3, "order_1", order(), [])
    with pytest.raises(AssertionError) as caught:
        check_messages(contract(), [record], registry=registry if registered else None)
    assert ("value: is not in the Confluent wire format: it is already decoded (a JSON "
            "value, or read with a value_deserializer)") in str(caught.value)
    check_messages(contract(), [order()])  # a bare event is checked against the schema


def test_wire_format_bytes_without_a_registry_say_what_to_pass(
    registry: SchemaRegistry,
) -> None:
    record = wire(registry, READER, order())
    with pytest.raises(ValueError, match=r"registry=schema_registry"):
        check_messages(contract(), [record])


def test_bare_events_are_checked_against_the_reader_schema() -> None:
    with pytest.raises(AssertionError, match=r"data\.total: is not an Avro double \(Avro "
                       r'reader schema of order.created\) \(value: "ten"\)'):
        check_messages(contract(), [order(), order(total="ten")])


# ---- the contract file -------------------------------------------------------------------


def test_a_contract_file_names_its_avsc_files(tmp_path: Path) -> None:
    (tmp_path / "order_created.avsc").write_text(event_schema("order.created"))
    path = tmp_path / "email.contract.json"
    path.write_text(json.dumps({
        "name": "email", "consumer": {"callable": "x:y"}, "topics": ["orders"],
        "guarantee": {"delivery": "at-least-once"},
        "avro": {"schemas": {"order.created": "order_created.avsc"}, "compatibility": "FULL"},
    }))
    loaded = load_contract(path)
    assert json.loads(loaded.avro_schemas["order.created"])["name"] == "OrderCreated"
    assert loaded.avro_compatibility == "FULL"


@pytest.mark.parametrize(("avsc", "problem"), [
    ('{"type": "record"', "not JSON (line 1"),
    ('{"type": "record", "name": "X", "fields": [{"name": "a", "type": "decimal128"}]}',
     "not a valid Avro schema"),
])
def test_a_bad_avsc_is_a_contract_error_naming_the_entry_and_file(
    tmp_path: Path, avsc: str, problem: str,
) -> None:
    (tmp_path / "bad.avsc").write_text(avsc)
    with pytest.raises(ContractError) as caught:
        parse_contract({
            "name": "email", "consumer": {"callable": "x:y"}, "topics": ["orders"],
            "guarantee": {"delivery": "at-least-once"},
            "avro": {"schemas": {"order.created": "bad.avsc"}},
        }, path=tmp_path / "email.contract.json")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'email.contract.json'}: avro/schemas/order.created: "
                              f"{tmp_path / 'bad.avsc'}: ")
    assert problem in message


def test_an_unknown_compatibility_mode_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match=r"avro/compatibility: 'SIDEWAYS' is not one of"):
        contract("SIDEWAYS")


def test_running_an_avro_contract_under_faults_says_it_is_not_supported() -> None:
    from pytest_kafka_patterns.contracts.scenarios import run_scenario

    with pytest.raises(ContractError, match=r"reads Avro, and the fault scenarios produce "
                       r"JSON"):
        run_scenario(contract(), "happy_path", None)  # type: ignore[arg-type]
