"""A service that cannot start, or a directory we cannot write: one clear error, once.

* Issue 15 (3): under xdist a failed start was tried again by every worker in turn.
* Issue 15 (11): every fixture error was printed twice ("During handling of the above
  exception, another exception occurred").
* Issue 15 (8): an unwritable state directory or base temp gave a pathlib traceback, and
  the broker just started kept running untracked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pytest_kafka_patterns import fixtures
from pytest_kafka_patterns.backends import KafkaBroker, Running
from pytest_kafka_patterns.liveness import ProcessId
from pytest_kafka_patterns.statedirs import StateDirError
from tests.reliability.runs import LOCAL_BACKENDS

pytest.importorskip("xdist")

TESTS = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_needs_a_broker(n, kafka_broker):
    pass
"""


def _counting_broker(tmp_path: Path) -> tuple[Path, Path]:
    """A "broker" binary that records each start and exits 1."""
    count = tmp_path / "starts.txt"
    binary = tmp_path / "broken-tansu"
    binary.write_text(f"#!/bin/sh\necho start >> {count}\nexit 1\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary, count


def test_a_failed_start_is_tried_once_per_run_under_xdist(pytester: pytest.Pytester) -> None:
    binary, count = _counting_broker(pytester.path)
    pytester.makepyfile(TESTS.format(count=8))
    result = pytester.runpytest_subprocess(
        "-n", "4", f"--tansu-bin={binary}", *LOCAL_BACKENDS, "-rN", "-W", "ignore"
    )
    result.assert_outcomes(errors=8)
    assert count.read_text().splitlines() == ["start"], "one start for the whole run"
    errors = [line for line in result.outlines if "exited with code 1 before it was ready" in line]
    assert len(errors) == 8, "each test shows the same message"


def test_a_fixture_error_is_printed_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS.format(count=1))
    result = pytester.runpytest_subprocess(
        "--tansu-bin=/bin/false", *LOCAL_BACKENDS, "-rN", "-W", "ignore"
    )
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "During handling of the above exception" not in output
    assert output.count("exited with code 1 before it was ready") == 1, output


def _bad_dirs(tmp_path: Path) -> dict[str, tuple[dict[str, str], list[str], str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    return {
        "state dir under a file": (
            {"PYTEST_KAFKA_PATTERNS_STATE": str(a_file / "state")}, [],
            "PYTEST_KAFKA_PATTERNS_STATE",
        ),
        "read-only state dir": (
            {"PYTEST_KAFKA_PATTERNS_STATE": "/proc/kafka-patterns-state"}, [],
            "PYTEST_KAFKA_PATTERNS_STATE",
        ),
        "basetemp under a file": ({}, [f"--basetemp={a_file / 'basetemp'}"], "--basetemp"),
    }


@pytest.mark.parametrize(
    "case", ["state dir under a file", "read-only state dir", "basetemp under a file"]
)
def test_an_unwritable_directory_is_named_with_the_option_that_moves_it(
    pytester: pytest.Pytester, process_mark, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    env, args, option = _bad_dirs(pytester.path)[case]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(TESTS.format(count=1))
    result = pytester.runpytest_subprocess(*LOCAL_BACKENDS, "-rN", "-W", "ignore", *args)
    output = result.stdout.str()
    errors = output.split("= ERRORS =")[-1].split("kafka-patterns: factories")[0]
    assert "kafka_broker: cannot write" in errors, output
    assert option in errors
    assert "Traceback" not in errors and "pathlib" not in errors, errors
    assert len(errors.strip().splitlines()) <= 5, errors
    assert process_mark.alive() == [], "nothing we started is left running"


def test_a_failed_write_after_the_start_stops_what_was_started(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch
) -> None:
    monkeypatch.setenv("PYTEST_KAFKA_PATTERNS_STATE", str(tmp_path / "registry"))
    root = tmp_path / "root"
    root.mkdir()
    stopped: list[int] = []

    def start(workdir: Path) -> Running[KafkaBroker]:
        (root / "services").write_text("a file where the directory should be")
        return Running(KafkaBroker("127.0.0.1:1", "fake"), lambda: stopped.append(1))

    controller = ProcessId.of(os.getpid())
    with pytest.raises(StateDirError, match=r"--basetemp=DIR"):
        fixtures._start_and_record("kafka_broker", tmp_path_factory, root, controller, start)
    assert stopped == [1]
