"""The probe runner and the README table, without a broker."""

from __future__ import annotations

import time

import pytest

from pytest_kafka_patterns import parity
from pytest_kafka_patterns.capabilities import CAPABILITIES


def test_a_probe_that_hangs_fails_as_timed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(parity.PROBES, "compaction", lambda servers, timeout: time.sleep(60))
    started = time.monotonic()
    result = parity.run_probe("compaction", "127.0.0.1:1", timeout=0.2)
    assert time.monotonic() - started < 30  # gave up at its timeout, not the probe's 60 s
    assert not result.passed
    assert result.detail == "timed out after 0.2 s"


def test_a_probe_that_raises_fails_with_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(servers: str, timeout: float) -> parity.Outcome:
        raise ConnectionError("no broker")

    monkeypatch.setitem(parity.PROBES, "compaction", broken)
    result = parity.run_probe("compaction", "127.0.0.1:1", timeout=1)
    assert (result.passed, result.detail) == (False, "ConnectionError: no broker")


def test_an_error_reads_as_one_short_cell_with_floats_rounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kafka-python's timeout message carries the raw float; the README table, regenerated
    with every release, would change in every cell that quotes it."""

    def times_out(servers: str, timeout: float) -> parity.Outcome:
        raise TimeoutError("TimeoutError: Timeout after waiting for 9.970274265999251 secs.")

    monkeypatch.setitem(parity.PROBES, "compaction", times_out)
    result = parity.run_probe("compaction", "127.0.0.1:1", timeout=1)
    assert result.detail == "TimeoutError: Timeout after waiting for 9.97 secs."


def test_results_are_cached_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def counting(servers: str, timeout: float) -> parity.Outcome:
        calls.append(servers)
        return True, "ok"

    monkeypatch.setitem(parity.PROBES, "compaction", counting)
    address = "cache-test:9092"
    try:
        for _ in range(2):
            parity.probe_all(address, ["compaction"])
        parity.probe_all("other:9092", ["compaction"])
        assert calls == [address, "other:9092"]
        parity.forget(address)
        parity.probe_all(address, ["compaction"])
        assert calls == [address, "other:9092", address]
    finally:
        parity.forget(address)
        parity.forget("other:9092")


def test_table_round_trips() -> None:
    def results(passing: set[str]) -> dict[str, parity.ProbeResult]:
        return {
            name: parity.ProbeResult(name, name in passing, f"saw {name} | x", 0.1)
            for name in parity.PROBES
        }

    table = parity.markdown_table(
        [("a (v1, kafka-python 3)", results({"compaction"})), ("b", results(set(parity.PROBES)))]
    )
    other = parity.markdown_table([("c", results(set()))])
    parsed = parity.parse_table(f"intro\n\n{table}\n\n| not | ours |\n\n{other}\n| `x` | y |\n")
    assert set(parsed) == {"a (v1, kafka-python 3)", "b", "c"}
    assert parsed["c"] == {name: False if name in parity.PROBES else None for name in CAPABILITIES}
    assert parsed["b"] == {name: name not in parity.UNPROBED or None for name in CAPABILITIES}
    assert parsed["a (v1, kafka-python 3)"]["compaction"] is True
    assert parsed["a (v1, kafka-python 3)"]["idempotence"] is False
    assert parsed["a (v1, kafka-python 3)"]["persistence"] is None


@pytest.mark.parametrize(
    "reply",
    [
        # kafka-python 3: {type: {name: {key: {"value": ...}}}}
        {"topic": {"t": {"retention.ms": {"value": "42", "config_source": "DEFAULT_CONFIG"}}}},
        # kafka-python 2: response objects whose resources hold (key, value, ...) tuples
        [type("R", (), {"resources": [(0, None, 2, "t", [("retention.ms", "42", 0, 5)])]})()],
    ],
    ids=["kafka-python-3", "kafka-python-2"],
)
def test_config_value_reads_both_client_shapes(reply: object) -> None:
    assert parity._config_entry(reply, "retention.ms") == ("42", "DEFAULT_CONFIG")
    assert parity._config_entry(reply, "cleanup.policy") is None


def test_replace_table_rewrites_only_the_installed_clients_table() -> None:
    marker = parity.readme_marker()
    other = marker.replace("kafka-python ", "kafka-python 9")  # another major
    readme = f"intro\n\n{marker}old -->\n| old |\n| old |\n\n{other}x -->\n| keep |\n\nend\n"
    updated = parity.replace_table(readme, "| new |\n", "kafka-patterns parity --backend b")
    assert updated == (
        f"intro\n\n{marker}kafka-patterns parity --backend b -->\n| new |\n\n"
        f"{other}x -->\n| keep |\n\nend\n"
    )
    with pytest.raises(ValueError, match="no line starting"):
        parity.replace_table("no marker here", "| new |", "cmd")
