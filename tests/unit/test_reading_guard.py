"""read_committed never degrades silently to read_uncommitted."""

from __future__ import annotations

import importlib.util
import sys

import pytest

import pytest_kafka_patterns
from pytest_kafka_patterns.errors import KafkaPatternsError
from pytest_kafka_patterns.reading import Transactions, _track_transactions


class _UnknownFetcher:
    class PartitionRecords:
        def __init__(self, completed_fetch: object) -> None:  # another client's shape
            self.completed_fetch = completed_fetch


class _Consumer:
    _fetcher = _UnknownFetcher()


def test_an_unknown_fetch_parser_is_an_error_not_a_silent_uncommitted_read() -> None:
    with pytest.raises(KafkaPatternsError, match="read_uncommitted"):
        _track_transactions(_Consumer())


def test_records_without_a_buffer_are_an_error() -> None:
    with pytest.raises(KafkaPatternsError, match="aborted transactions"):
        Transactions().scan(0, object())


def test_read_topic_client_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """``auto`` is confluent-kafka when it imports, else kafka-python; asking for a missing
    confluent-kafka, or for an unknown client, is an error saying what to do."""
    from pytest_kafka_patterns import reading

    assert reading._pick_client("kafka-python") is None
    with pytest.raises(ValueError, match="client must be one of auto, confluent-kafka"):
        reading._pick_client("confluent")
    if importlib.util.find_spec("confluent_kafka") is not None:
        assert reading._pick_client("auto") is reading._confluent_reader() is not None
    # confluent-kafka missing: what pip install without the extra leaves
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)
    monkeypatch.delitem(sys.modules, "pytest_kafka_patterns.reading_confluent", raising=False)
    monkeypatch.delattr(pytest_kafka_patterns, "reading_confluent", raising=False)
    assert reading._pick_client("auto") is None
    with pytest.raises(KafkaPatternsError,
                       match=r"pip install 'pytest-kafka-patterns\[confluent\]'"):
        reading._pick_client("confluent-kafka")
