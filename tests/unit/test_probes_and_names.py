"""Pure helpers: address parsing, topic names and topic configs."""

from __future__ import annotations

import re

import pytest

from pytest_kafka_patterns.backends.external import parse_bootstrap_servers
from pytest_kafka_patterns.errors import ConfigError, log_tail
from pytest_kafka_patterns.probes import split_host_port, wait_until
from pytest_kafka_patterns.topics import topic_configs, unique_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost:9092", ("localhost", 9092)),
        ("broker", ("broker", 9092)),
        ("[::1]:19092", ("::1", 19092)),
    ],
)
def test_split_host_port(text: str, expected: tuple[str, int]) -> None:
    assert split_host_port(text, 9092) == expected


@pytest.mark.parametrize("text", [":9092", "host:0", "host:99999", "host:abc"])
def test_split_host_port_rejects_bad_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        split_host_port(text, 9092)


def test_bootstrap_servers_list_and_errors() -> None:
    assert parse_bootstrap_servers("a:1, b:2,") == [("a", 1), ("b", 2)]
    with pytest.raises(ConfigError, match="expected host:port"):
        parse_bootstrap_servers("a:1,b:nope")
    with pytest.raises(ConfigError, match="empty"):
        parse_bootstrap_servers(" , ")


def test_unique_names_are_legal_distinct_and_bounded() -> None:
    names = {unique_name("orders", "test_x[param/ü]", "gw3") for _ in range(200)}
    assert len(names) == 200
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name), name
        assert "gw3" in name
    long = unique_name("p", "x" * 500)
    assert len(long) <= 200


def test_topic_configs_translate_underscores_and_values() -> None:
    assert topic_configs({"retention_ms": 1000, "cleanup.policy": "compact",
                          "preallocate": True}) == {
        "retention.ms": "1000", "cleanup.policy": "compact", "preallocate": "true"}


def test_wait_until_reports_time_or_none() -> None:
    calls = iter([False, False, True])
    assert wait_until(lambda: next(calls), timeout=1.0, interval=0.001) is not None
    assert wait_until(lambda: False, timeout=0.05, interval=0.01) is None


def test_log_tail_strips_colours_and_keeps_the_end() -> None:
    text = "\n".join(f"\x1b[31mline {i}\x1b[0m" for i in range(50))
    tail = log_tail(text, lines=3)
    assert tail.splitlines() == ["    line 47", "    line 48", "    line 49"]
    assert "empty" in log_tail("")
