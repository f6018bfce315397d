"""The events plugin as a user meets it: the seed option's precedence, the header, per-test
reproducibility (also under xdist), and the fixtures it provides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RECORD_EVENTS = """
import json, os

def _dump(name, order_event_factory, order_history):
    events = [order_event_factory.build()["event_id"],
              [e["event_id"] for e in order_history()]]
    with open(os.path.join({out!r}, name + ".json"), "w") as f:
        json.dump(events, f)

def test_one(order_event_factory, order_history):
    _dump("one", order_event_factory, order_history)

def test_two(order_event_factory, order_history):
    _dump("two", order_event_factory, order_history)
"""


def header_seed(lines: list[str]) -> tuple[int, str]:
    for line in lines:
        found = re.match(r"kafka-patterns: factory seed=(\d+) \(from (.+)\); reproduce with", line)
        if found:
            return int(found.group(1)), found.group(2)
    raise AssertionError("no seed in the header:\n" + "\n".join(lines))


def dumped(out: Path) -> dict[str, object]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(out.glob("*.json"))}


def test_header_shows_seed_from_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("--kafka-patterns-seed=42")
    result.stdout.fnmatch_lines([
        "kafka-patterns: factory seed=42 (from --kafka-patterns-seed); "
        "reproduce with --kafka-patterns-seed=42"
    ])
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("cli", "env", "ini", "expected"),
    [
        ("5", "7", "9", (5, "--kafka-patterns-seed")),
        (None, "7", "9", (7, "$PYTEST_KAFKA_PATTERNS_SEED")),
        (None, None, "9", (9, "ini kafka_patterns_seed")),
        (None, None, None, (None, "random")),
    ],
)
def test_seed_precedence_cli_env_ini_random(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    cli: str | None, env: str | None, ini: str | None, expected: tuple[int | None, str],
) -> None:
    monkeypatch.delenv("PYTEST_KAFKA_PATTERNS_SEED", raising=False)
    if env is not None:
        monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_SEED", env)
    if ini is not None:
        pytester.makeini(f"[pytest]\nkafka_patterns_seed = {ini}\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess(*([f"--kafka-patterns-seed={cli}"] if cli else []))
    value, source = header_seed(result.outlines)
    assert source == expected[1]
    if expected[0] is not None:
        assert value == expected[0]


def test_bad_seed_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_SEED", "soon")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*$PYTEST_KAFKA_PATTERNS_SEED='soon' is not an integer.*"])


def test_same_seed_same_events_and_each_test_reproduces_alone(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    runs = []
    for name, args in [("a", []), ("alone", ["-k", "test_two"]),
                       ("other", ["--kafka-patterns-seed=8"])]:
        out = tmp_path / name
        out.mkdir()
        pytester.makepyfile(test_events=RECORD_EVENTS.format(out=str(out)))
        flags = ["--kafka-patterns-seed=7", *args] if name != "other" else args
        pytester.runpytest_inprocess(*flags).assert_outcomes(passed=1 if args[:1] == ["-k"]
                                                             else 2)
        runs.append(dumped(out))
    a, alone, other = runs
    assert a["one"] != a["two"]  # each test gets its own stream, derived from its node id
    assert alone == {"two": a["two"]}
    assert other["one"] != a["one"]


def test_workers_share_the_controllers_random_seed(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytest.importorskip("xdist")
    distributed, serial = tmp_path / "xdist", tmp_path / "serial"
    distributed.mkdir()
    serial.mkdir()
    pytester.makepyfile(test_events=RECORD_EVENTS.format(out=str(distributed)))
    result = pytester.runpytest_subprocess("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=2)
    seed, source = header_seed(result.outlines)
    assert source == "random"
    pytester.makepyfile(test_events=RECORD_EVENTS.format(out=str(serial)))
    pytester.runpytest_inprocess(f"--kafka-patterns-seed={seed}").assert_outcomes(passed=2)
    assert dumped(distributed) == dumped(serial)


def test_failure_summary_tells_how_to_reproduce(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_bad(order_event_factory):\n    assert 0\n")
    result = pytester.runpytest_inprocess("--kafka-patterns-seed=11")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "kafka-patterns: factories were seeded with 11 (from --kafka-patterns-seed); "
        "rerun with --kafka-patterns-seed=11 to get the same events"
    ])


def test_fixtures_are_provided(pytester: pytest.Pytester, local_backends: tuple[str, ...]) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_kafka_patterns import assert_delivered, assert_ordered_by_key

        def test_factories(order_event_factory, order_status_event_factory, order_factory,
                           order_item_factory, inventory_event_factory, order_history,
                           kafka_patterns_seed):
            assert order_event_factory.build()["event_type"] == "order.created"
            assert order_status_event_factory.build()["event_type"] == "order.status_changed"
            assert set(order_factory.build()) >= {"order_id", "items", "total"}
            assert set(order_item_factory.build()) == {"product_id", "name", "price", "quantity"}
            assert inventory_event_factory.build(success=False)["event_type"] == "inventory.failed"
            assert len(order_history(statuses=("confirmed",))) == 2
            assert isinstance(kafka_patterns_seed, int)

        def test_read_and_no_more(kafka_topic, kafka_producer, kafka_read, kafka_expect_no_more,
                                  order_history):
            events = order_history(user_id="user_1")
            for event in events:
                kafka_producer.send(kafka_topic, key="user_1", value=event)
            kafka_producer.flush()
            records = kafka_read(kafka_topic, min_records=3)
            assert_delivered(records, events, allow_extra=False)
            assert_ordered_by_key(records, expected=events)
            kafka_expect_no_more(kafka_topic, after=records, within=0.2)
        """
    )
    result = pytester.runpytest_inprocess(*local_backends, "--kafka-patterns-seed=3")
    result.assert_outcomes(passed=2)
