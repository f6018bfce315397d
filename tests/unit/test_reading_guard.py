"""read_committed never degrades silently to read_uncommitted."""

from __future__ import annotations

import pytest

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
