"""Avro schemas, the Confluent wire format and the schema_registry fixture, without a
broker (issue 11). The registry is confluent-kafka's in-process mock, or an address where
nothing listens for the unreachable cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_kafka_patterns import avro
from pytest_kafka_patterns.avro import (
    AvroDecodeError,
    InvalidSchemaFile,
    SchemaRegistry,
    SchemaRegistryUnreachable,
    event_schema,
    load_schema,
    new_client,
)
from pytest_kafka_patterns.config import SchemaRegistrySettings, resolve
from pytest_kafka_patterns.errors import ConfigError
from pytest_kafka_patterns.factories import OrderCreatedEventFactory, order_history
from pytest_kafka_patterns.ports import free_port

pytest.importorskip("confluent_kafka.schema_registry.avro")
pytest.importorskip("fastavro")


@pytest.fixture
def registry() -> SchemaRegistry:
    return SchemaRegistry("mock://unit", "mock", new_client("mock://unit"))


def test_the_shipped_schemas_carry_the_factories_events_through_the_wire_format(
    registry: SchemaRegistry,
) -> None:
    created, *changes = order_history(statuses=("confirmed", "shipped", "delivered"))
    encode_created = registry.serializer(event_schema("order.created"))
    encode_change = registry.serializer(event_schema("order.status_changed"))
    data = encode_created(created, "orders")
    assert data[0] == 0, "magic byte"
    schema_id = int.from_bytes(data[1:5], "big")
    assert registry.client.get_schema(schema_id).schema_type == "AVRO"
    assert registry.decode(data) == created
    assert [registry.decode(encode_change(c, "changes")) for c in changes] == changes
    assert registry.subjects == ["changes-value", "orders-value"]


def test_an_event_that_does_not_match_its_schema_fails_to_encode(
    registry: SchemaRegistry,
) -> None:
    poison = OrderCreatedEventFactory.build(poison=True)  # no items, no total
    with pytest.raises(ValueError, match="no value and no default for items"):
        registry.encode("orders", poison, event_schema("order.created"))


def test_subjects_registered_through_the_helpers_are_deleted(registry: SchemaRegistry) -> None:
    registry.encode("a", OrderCreatedEventFactory.build(), event_schema("order.created"))
    registry.register("b-value", event_schema("order.status_changed"))
    assert sorted(registry.client.get_subjects()) == ["a-value", "b-value"]
    assert registry.delete_registered() == ["a-value", "b-value"]
    assert registry.client.get_subjects() == []
    assert registry.delete_registered() == []


def test_an_unknown_event_type_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"order\.created, order\.status_changed"):
        event_schema("inventory.reserved")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"type": "record", "name": "X", "fields": [}', r"not JSON \(line 1"),
        ('{"type": "record", "name": "X", "fields": [{"name": "a", "type": "strng"}]}',
         "not a valid Avro schema.*strng"),
        ('{"type": "record", "fields": []}', "not a valid Avro schema"),
        ('{"type": "enum", "name": "E", "symbols": ["a", "a"]}', "not a valid Avro schema"),
    ],
    ids=["bad-json", "unknown-type", "record-without-name", "duplicate-symbol"],
)
def test_an_avsc_that_is_not_valid_avro_names_the_file(
    tmp_path: Path, text: str, match: str
) -> None:
    path = tmp_path / "broken.avsc"
    path.write_text(text)
    with pytest.raises(InvalidSchemaFile, match=match) as info:
        load_schema(path)
    assert str(path) in str(info.value)


def test_a_valid_avsc_loads_as_the_json_a_registry_takes(tmp_path: Path) -> None:
    path = tmp_path / "ok.avsc"
    path.write_text('{"type": "record", "name": "X", "fields": [{"name": "a", "type": "int"}]}')
    assert json.loads(load_schema(path))["name"] == "X"


def encoded(registry: SchemaRegistry) -> bytes:
    return registry.encode("t", OrderCreatedEventFactory.build(), event_schema("order.created"))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b'{"order_id": "order_1"}', r"first byte 0x7b, not the wire format's magic byte"),
        (b"\x00\x00\x00", r"3 byte\(s\), but the Confluent wire format needs more than 5"),
        (b"\x00\x00\x00\x30\x39" + b"\x02a", r"schema id 12345 is unknown to the registry"),
    ],
    ids=["json", "too-short", "unknown-id"],
)
def test_a_value_that_cannot_be_decoded_says_why(
    registry: SchemaRegistry, data: bytes, match: str
) -> None:
    encoded(registry)  # the registry knows schema id 1, not 12345
    with pytest.raises(AvroDecodeError, match=match):
        registry.decode(data)


def test_a_body_that_does_not_match_its_writer_schema_says_so(registry: SchemaRegistry) -> None:
    data = encoded(registry)
    with pytest.raises(AvroDecodeError, match="does not match writer schema id 1"):
        registry.decode(data[:12])


def test_an_unreachable_registry_is_named_when_decoding(registry: SchemaRegistry) -> None:
    data = encoded(registry)
    url = f"http://127.0.0.1:{free_port()}"
    gone = SchemaRegistry(url, "external", new_client(url))
    with pytest.raises(AvroDecodeError, match=f"the registry at {url} did not answer"):
        gone.decode(data)


def test_an_unreachable_registry_fails_the_reachability_check() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SchemaRegistryUnreachable, match=f"{url} .from --schema-registry-url."):
        avro.check_reachable(new_client(url), url, "--schema-registry-url")


def test_the_backend_follows_the_options() -> None:
    def settings(**env: str) -> SchemaRegistrySettings:
        return resolve(lambda _: None, lambda _: "", env).schema_registry

    assert settings().chosen == "mock"
    assert settings(PYTEST_SCHEMA_REGISTRY_URL="http://localhost:8081").chosen == "external"
    assert settings(PYTEST_SCHEMA_REGISTRY_BACKEND="mock",
                    PYTEST_SCHEMA_REGISTRY_URL="http://localhost:8081").chosen == "mock"
    with pytest.raises(ConfigError, match="needs --schema-registry-url"):
        avro.registry_url(settings(PYTEST_SCHEMA_REGISTRY_BACKEND="external"))
    with pytest.raises(ConfigError, match="must start with http"):
        avro.registry_url(settings(PYTEST_SCHEMA_REGISTRY_URL="localhost:8081"))
    with pytest.raises(ConfigError, match="choose one of: auto, mock, external"):
        settings(PYTEST_SCHEMA_REGISTRY_BACKEND="apicurio")


CLEANUP = """
import pytest
from pytest_kafka_patterns.avro import event_schema
from pytest_kafka_patterns.factories import OrderCreatedEventFactory

held = []

def test_registers(schema_registry):
    assert schema_registry.backend == "mock"
    assert schema_registry.url.startswith("mock://")
    schema_registry.encode("orders", OrderCreatedEventFactory.build(),
                           event_schema("order.created"))
    assert schema_registry.client.get_subjects() == ["orders-value"]
    held.append(schema_registry)

def test_its_subjects_are_gone(schema_registry):
    assert held[0].client.get_subjects() == []
    assert held[0].client is not schema_registry.client, "a fresh mock per test"
"""


def test_the_fixture_deletes_what_a_test_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CLEANUP)
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:xdist")
    result.assert_outcomes(passed=2)


UNREACHABLE = """
def test_uses_the_registry(schema_registry):
    pass
"""


def test_an_unreachable_external_registry_errors_the_test_naming_the_url(
    pytester: pytest.Pytester,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    pytester.makepyfile(UNREACHABLE)
    result = pytester.runpytest_inprocess(f"--schema-registry-url={url}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*SchemaRegistryUnreachable: the Schema Registry at {url} "
                                 "(from --schema-registry-url) did not answer*"])


def test_the_mock_registry_is_not_shared_even_at_the_same_url(registry: SchemaRegistry) -> None:
    """The documented limit of the mock backend: its schemas live in one client object, so
    another client (a fortiori another process: a consumer subprocess, a contract run)
    cannot decode what this one wrote."""
    data = encoded(registry)
    other = SchemaRegistry(registry.url, "mock", new_client(registry.url))
    with pytest.raises(AvroDecodeError, match="schema id 1 is unknown to the registry"):
        other.decode(data)


def test_encode_with_swapped_arguments_says_the_order(registry: SchemaRegistry) -> None:
    event = OrderCreatedEventFactory()
    with pytest.raises(TypeError, match=r"encode\(topic, value, schema\) takes the topic "
                                        r"name and the schema as strings, got topic=dict"):
        registry.encode(event, "orders", event_schema("order.created"))  # type: ignore[arg-type]
