"""Topic configs are checked as Apache Kafka checks them (issue 10, case 13)."""

from __future__ import annotations

import pytest

from pytest_kafka_patterns.topic_config import InvalidTopicConfig, validate_topic_configs
from pytest_kafka_patterns.topics import topic_configs


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cleanup_policy": "bogus"},
         "Invalid value bogus for configuration cleanup.policy: "
         "String must be one of: compact, delete"),
        ({"cleanup_policy": "compact,bogus"},
         "Invalid value bogus for configuration cleanup.policy"),
        ({"retention_ms": "soon"},
         "Invalid value soon for configuration retention.ms: Not a number of type LONG"),
        ({"retention_ms": -5},
         "Invalid value -5 for configuration retention.ms: Value must be at least -1"),
        ({"segment_bytes": 1000},
         "Invalid value 1000 for configuration segment.bytes: Value must be at least 1048576"),
        ({"segment_bytes": 2**31},
         "for configuration segment.bytes: Not a number of type INT"),
        ({"min_cleanable_dirty_ratio": 2},
         "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: "
         "Value must be no more than 1"),
        ({"compression_type": "brotli"},
         "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"),
        ({"message_timestamp_type": "createtime"},
         "String must be one of: CreateTime, LogAppendTime"),
        ({"preallocate": "yes"},
         "Invalid value yes for configuration preallocate: "
         "Expected value to be either true or false"),
        ({"retention.msec": 1}, "Unknown topic config name: retention.msec"),
        ({"cleanuppolicy": "delete"},
         "Unknown topic config name: cleanuppolicy (did you mean 'cleanup.policy'?)"),
        ({"min_compaction_lag_ms": 10, "max_compaction_lag_ms": 5},
         "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)"),
    ],
)
def test_configs_kafka_refuses_are_refused_in_its_words(options, message) -> None:
    with pytest.raises(InvalidTopicConfig) as info:
        validate_topic_configs(topic_configs(options), "orders")
    assert message in str(info.value)
    assert str(info.value).startswith(
        "could not create topic 'orders': InvalidConfigurationException: ")


@pytest.mark.parametrize(
    "options",
    [
        {"cleanup_policy": "compact"},
        {"cleanup_policy": "compact,delete"},
        {"cleanup_policy": ["delete", "compact"]},
        {"cleanup_policy": ""},
        {"retention_ms": -1, "retention_bytes": -1},
        {"retention_ms": 1000, "segment_ms": 100, "segment_bytes": 1048576},
        {"min_insync_replicas": 1, "max_message_bytes": 2_000_000},
        {"compression_type": "zstd", "compression_zstd_level": 3},
        {"compression_gzip_level": -1},
        {"min_cleanable_dirty_ratio": 0.01, "delete_retention_ms": 0},
        {"unclean_leader_election_enable": True, "preallocate": False},
        {"message_timestamp_type": "LogAppendTime"},
        {"min_compaction_lag_ms": 0, "max_compaction_lag_ms": 100},
        {"redpanda.remote.read": "true", "confluent.value.schema.validation": "true"},
    ],
)
def test_configs_kafka_accepts_pass(options) -> None:
    validate_topic_configs(topic_configs(options), "orders")


def test_a_refused_config_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"cleanup\.policy"):
        validate_topic_configs({"cleanup.policy": "bogus"})
