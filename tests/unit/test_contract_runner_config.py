"""What the harness tells a runner survives the environment: ids of any shape (generated
ones hold commas), and the contract's id field."""

from __future__ import annotations

from pytest_kafka_patterns.contracts.runner import RunnerConfig


def test_env_round_trip_keeps_poison_ids_and_the_id_field():
    config = RunnerConfig("b:1", "t", "g", "redis://x", "fx", poison=frozenset({"a,b", "é\n"}),
                          id_field="meta.message_id")
    back = RunnerConfig.from_env(config.to_env())
    assert back.poison == {"a,b", "é\n"}
    assert back.id_field == "meta.message_id"
    assert back.id_of({"meta": {"message_id": 42}}) == "42"
    assert back.id_of({"event_id": "e1"}) == ""  # not this contract's id field
    back.check_poison({"meta": {"message_id": "not poisoned"}})  # returns, no Redis needed


def test_the_guide_shape_is_the_default():
    back = RunnerConfig.from_env(RunnerConfig("b:1", "t", "g", "redis://x", "fx").to_env())
    assert back.id_field == "event_id" and back.poison == frozenset()
    assert back.id_of({"event_id": "e1"}) == "e1"
