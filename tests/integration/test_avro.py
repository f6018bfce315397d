"""Avro records on a real broker: produced with confluent-kafka in the Confluent wire
format, read back with ``read_topic(value_deserializer=...)`` and checked with the
assertions as they are (issue 11). The registry is the ``schema_registry`` fixture's
(the in-process mock unless the run names an external one)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pytest_kafka_patterns import assert_delivered, assert_ordered_by_key, read_topic
from pytest_kafka_patterns.avro import SchemaRegistry, event_schema
from pytest_kafka_patterns.factories import order_history
from pytest_kafka_patterns.reading import ReadClient

pytest.importorskip("confluent_kafka.schema_registry.avro")


def produce_histories(
    producer: Any, registry: SchemaRegistry, topic: str, users: int = 3
) -> list[dict[str, Any]]:
    """Each user's order history (created, confirmed, shipped), keyed by user, interleaved."""
    encoders = {
        "order.created": registry.serializer(event_schema("order.created")),
        "order.status_changed": registry.serializer(event_schema("order.status_changed")),
    }
    histories = [order_history(user_id=f"user_{n}") for n in range(users)]
    events = [event for step in zip(*histories, strict=True) for event in step]
    for event in events:
        user = next(h[0]["data"]["user_id"] for h in histories if event in h)
        producer.produce(topic, key=user.encode(),
                         value=encoders[event["event_type"]](event, topic))
    assert producer.flush(10) == 0
    return events


def test_avro_records_decode_and_pass_the_assertions(
    kafka_bootstrap_servers: str, kafka_topic_factory: Callable[..., str],
    confluent_producer: Any, schema_registry: SchemaRegistry,
) -> None:
    topic = kafka_topic_factory("avro-orders", partitions=3)
    events = produce_histories(confluent_producer, schema_registry, topic)
    records = read_topic(kafka_bootstrap_servers, topic, min_records=len(events),
                         value_deserializer=schema_registry.deserializer())
    assert sorted((r.value for r in records), key=lambda v: v["event_id"]) == sorted(
        events, key=lambda v: v["event_id"])
    assert_delivered(records, events, allow_extra=False)
    assert_ordered_by_key(records, expected=events)


def test_the_assertions_still_fail_on_decoded_avro_values(
    kafka_bootstrap_servers: str, kafka_topic_factory: Callable[..., str],
    confluent_producer: Any, schema_registry: SchemaRegistry,
) -> None:
    """Decoded values are plain dicts: a missing event is reported by its event_id."""
    topic = kafka_topic_factory("avro-missing", partitions=1)
    events = produce_histories(confluent_producer, schema_registry, topic, users=1)
    records = read_topic(kafka_bootstrap_servers, topic, min_records=len(events),
                         value_deserializer=schema_registry.deserializer())
    lost = order_history(user_id="user_9")[0]
    with pytest.raises(AssertionError, match=lost["event_id"]):
        assert_delivered(records, [*events, lost])


@pytest.mark.parametrize("client", ["kafka-python", "confluent-kafka"])
def test_a_record_not_in_the_wire_format_is_named(
    kafka_bootstrap_servers: str, kafka_topic_factory: Callable[..., str],
    confluent_producer: Any, schema_registry: SchemaRegistry, client: ReadClient,
) -> None:
    topic = kafka_topic_factory("avro-mixed", partitions=1)
    produce_histories(confluent_producer, schema_registry, topic, users=1)
    confluent_producer.produce(topic, key=b"user_0", value=b'{"event_type": "order.created"}')
    confluent_producer.produce(topic, key=b"user_0", value=None)  # a tombstone decodes as None
    assert confluent_producer.flush(10) == 0
    with pytest.raises(AssertionError) as info:
        read_topic(kafka_bootstrap_servers, topic, min_records=5,
                   value_deserializer=schema_registry.deserializer(), client=client)
    assert str(info.value).startswith(f"{topic}[0]@3: cannot decode the value with ")
    assert "first byte 0x7b, not the wire format's magic byte 0x00" in str(info.value)


def test_a_record_whose_schema_id_the_registry_does_not_know_is_named(
    kafka_bootstrap_servers: str, kafka_topic_factory: Callable[..., str],
    confluent_producer: Any, schema_registry: SchemaRegistry,
) -> None:
    topic = kafka_topic_factory("avro-unknown-id", partitions=1)
    produce_histories(confluent_producer, schema_registry, topic, users=1)
    schema_registry.delete_registered()  # the ids of the records are gone with them
    with pytest.raises(AssertionError, match=rf"^{topic}\[0\]@0: .*schema id \d+ is unknown"):
        read_topic(kafka_bootstrap_servers, topic, min_records=3,
                   value_deserializer=schema_registry.deserializer())


@pytest.mark.parametrize("client", ["kafka-python", "confluent-kafka"])
def test_tombstones_stay_none(
    kafka_bootstrap_servers: str, kafka_topic: str, confluent_producer: Any,
    schema_registry: SchemaRegistry, client: ReadClient,
) -> None:
    confluent_producer.produce(kafka_topic, key=b"user_0", value=None)
    assert confluent_producer.flush(10) == 0
    [record] = read_topic(kafka_bootstrap_servers, kafka_topic, min_records=1,
                          value_deserializer=schema_registry.deserializer(), client=client)
    assert record.value is None


def test_a_contract_names_the_field_a_producers_new_schema_breaks(
    kafka_bootstrap_servers: str, kafka_topic_factory: Callable[..., str],
    confluent_producer: Any, schema_registry: SchemaRegistry,
) -> None:
    """The consumer's contract keeps the shipped order.created schema as its reader; the
    producer's next version writes ``total`` as a string. Its records, read back from the
    broker undecoded, fail ``check_messages`` naming ``data.total``; the records of the
    version before pass."""
    pytest.importorskip("jsonschema", reason="contracts need the [contracts] extra")
    from pytest_kafka_patterns.contracts import check_messages, parse_contract

    kafka_topic = kafka_topic_factory("avro-contract", partitions=1)
    reader = json.loads(event_schema("order.created"))
    contract = parse_contract({
        "name": "email", "consumer": {"callable": "x:y"}, "topics": [kafka_topic],
        "guarantee": {"delivery": "at-least-once"}, "key": {"required": True},
        "avro": {"schemas": {"order.created": reader}},
    })
    writer = json.loads(json.dumps(reader).replace(
        '{"name": "total", "type": "double"', '{"name": "total", "type": "string"'))
    assert writer != reader
    before = order_history(user_id="user_1")[0]
    after = order_history(user_id="user_2")[0]
    after["data"]["total"] = str(after["data"]["total"])
    for event, schema in ((before, reader), (after, writer)):
        confluent_producer.produce(kafka_topic, key=event["data"]["order_id"].encode(),
                                   value=schema_registry.encode(kafka_topic, event,
                                                                json.dumps(schema)))
    assert confluent_producer.flush(10) == 0
    records = read_topic(kafka_bootstrap_servers, kafka_topic, min_records=2)
    assert all(isinstance(record.value, bytes) for record in records)
    check_messages(contract, records[:1], registry=schema_registry)
    with pytest.raises(AssertionError) as caught:
        check_messages(contract, records, registry=schema_registry)
    assert "1 of 2 record(s) violate it" in str(caught.value)
    assert f"{kafka_topic}[0]@1 key='{after['data']['order_id']}' order.created" in str(
        caught.value), "the record is shown decoded (with its writer schema)"
    assert ("data.total: the consumer's order.created schema cannot read the producer's "
            "(schema id 2): reader type: double not compatible with writer type: string"
            ) in str(caught.value)
