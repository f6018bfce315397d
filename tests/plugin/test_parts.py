"""One entry point registers the plugin's parts; ``-p no:PART`` disables one (issue 10, 11)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: part -> a fixture only that part provides.
PART_FIXTURES = {
    "kafka_patterns_events": "kafka_read",
    "kafka_patterns_faults": "kafka_proxied_broker",
    "kafka_patterns_contracts": "verify_contract",
    "kafka_patterns_aio": "aiokafka_producer",
    "kafka_patterns_confluent_aio": "confluent_aio_producer",
}
CORE_FIXTURES = ("kafka_broker", "kafka_topic_factory", "redis_client")


@pytest.fixture(autouse=True)
def _asyncio_loop_scope_set(pytester: pytest.Pytester) -> None:
    """With the aio part (or the whole plugin) disabled, pytest-asyncio warns that its
    default loop scope is unset, as it would in any project that does not set it."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def fixtures_listed(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("--fixtures", *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    return result.stdout.str()


def test_every_part_is_active_by_default(pytester: pytest.Pytester) -> None:
    listed = fixtures_listed(pytester)
    for fixture in (*CORE_FIXTURES, *PART_FIXTURES.values()):
        assert f"{fixture} " in listed or f"{fixture}\n" in listed, fixture


def test_disabling_the_whole_plugin_works(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): assert True\n"
                        "def test_wants_kafka(kafka_broker): pass\n")
    result = pytester.runpytest_inprocess("-p", "no:kafka_patterns")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'kafka_broker' not found*"])
    assert "kafka-patterns:" not in output  # no header line, no seed


@pytest.mark.parametrize("part", PART_FIXTURES)
def test_disabling_one_part_leaves_the_others(pytester: pytest.Pytester, part: str) -> None:
    listed = fixtures_listed(pytester, "-p", f"no:{part}")
    assert f"{PART_FIXTURES[part]} " not in listed and f"{PART_FIXTURES[part]}\n" not in listed
    for fixture in CORE_FIXTURES:
        assert fixture in listed
    for other, fixture in PART_FIXTURES.items():
        if other != part:
            assert fixture in listed, (part, fixture)


def test_without_the_contracts_part_its_option_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess("-p", "no:kafka_patterns_contracts",
                                          "--kafka-contracts", "x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--kafka-contracts needs the contracts part, which is "
                                 "disabled (-p no:kafka_patterns_contracts)*"])


@pytest.mark.parametrize("part", ["events", "faults", "contracts"])
def test_a_part_without_the_core_is_refused_clearly(pytester: pytest.Pytester, part: str) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess(
        "-p", "no:kafka_patterns", "-p", f"pytest_kafka_patterns.{part}_plugin")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        f"*the kafka_patterns_{part} part needs the plugin's core, which is disabled "
        "(-p no:kafka_patterns)*"])
