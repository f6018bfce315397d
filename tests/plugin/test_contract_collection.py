"""``pytest --kafka-contracts PATH``, the ``kafka_contract`` marker and the
``verify_contract`` fixture, as a user meets them (pytester)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psutil
import pytest

from tests.conftest import LOCAL_BACKENDS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contracts"
PLUGIN = "pytest_kafka_patterns.contracts_plugin"


@pytest.fixture
def plugin_args(request) -> list[str]:
    """``-p`` the plugin unless its entry point registered it already."""
    if request.config.pluginmanager.has_plugin("kafka_patterns_contracts"):
        return []
    return ["-p", PLUGIN]


def small_contract(consumer: str, scenarios: list[str], **extra) -> dict:
    return {
        "name": "small",
        "consumer": {"callable": f"examples.contracts.runners:{consumer}"},
        "topics": ["orders"],
        "key": {"required": True, "equals": "data.order_id"},
        "guarantee": {"delivery": "at-least-once", "ordering": "per-key"},
        "faults": {"events": 6, "crash_points": 1, "poison": 1, "seed": 11,
                   "scenarios": scenarios, **extra},
    }


def no_consumers_left() -> bool:
    return not [p for p in psutil.Process().children(recursive=True)
                if "pytest_kafka_patterns.contracts" in " ".join(p.cmdline())]


def test_contract_files_become_one_item_per_scenario(pytester, plugin_args):
    contracts = pytester.mkdir("contracts")
    shutil.copytree(EXAMPLES / "schemas", contracts / "schemas")
    shutil.copy(EXAMPLES / "email_service.contract.yaml", contracts)
    shutil.copy(EXAMPLES / "retry_dlq_consumer.contract.json", contracts)
    (contracts / "broken.contract.json").write_text(json.dumps({"name": "broken"}))
    pytester.makepyfile(test_other="def test_not_collected(): pass")

    result = pytester.runpytest(*plugin_args, "--kafka-contracts", "contracts", "--co", "-q")
    result.stdout.fnmatch_lines([
        "contracts/email_service.contract.yaml::duplicates",
        "contracts/email_service.contract.yaml::crash",
        "contracts/email_service.contract.yaml::poison",
        "contracts/retry_dlq_consumer.contract.json::duplicates",
        "*invalid contract: *broken.contract.json: 3 problem(s)*",
        "*(top level): 'consumer' is a required property*",
    ])
    assert "test_not_collected" not in result.stdout.str()


def test_without_the_option_contract_files_are_ignored(pytester, plugin_args):
    pytester.path.joinpath("x.contract.json").write_text("{}")
    result = pytester.runpytest(*plugin_args, "--co", "-q", "x.contract.json")
    assert "x.contract.json::" not in result.stdout.str()


def test_a_contract_item_runs_its_scenario(pytester, plugin_args):
    path = pytester.path / "small.contract.json"
    path.write_text(json.dumps(small_contract("email_service", ["crash"])))
    result = pytester.runpytest(*plugin_args, *LOCAL_BACKENDS, "--kafka-contracts", str(path),
                                "-q", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "contract 'small', scenario 'crash' passed in * s (seed 11;*",
        "*crash points (after effect #): ?1?",
        "*SIGKILLed itself at effect #*",
    ])
    assert no_consumers_left()


def test_a_failing_scenario_prints_seed_timeline_and_assertion(pytester, plugin_args):
    path = pytester.path / "naive.contract.json"
    path.write_text(json.dumps(small_contract("naive_email_service", ["poison"])))
    result = pytester.runpytest(*plugin_args, *LOCAL_BACKENDS, "--kafka-contracts", str(path))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*contract 'small', scenario 'poison' FAILED in * s (seed 11; reproduce with*",
        "*fault timeline:",
        "*poisoned 1 event(s), failing the first attempt: *",
        "*assertion:",
        "*assert_delivered: 1 of 6 expected event(s) missing*",
    ])
    assert no_consumers_left()


def test_marker_and_fixture(pytester, plugin_args):
    (pytester.path / "email.contract.json").write_text(
        json.dumps(small_contract("email_service", ["poison"])))
    pytester.makepyfile(test_contract="""
        import pytest

        @pytest.mark.kafka_contract("email.contract.json")
        def test_email_contract(verify_contract):
            [result] = verify_contract()
            assert result.passed and result.seed == 11

        def test_naive_fails(verify_contract):
            [result] = verify_contract("email.contract.json", check=False,
                                       consumer="examples.contracts.runners:naive_email_service")
            with pytest.raises(AssertionError, match="expected event"):
                result.check()

        def test_needs_a_contract(verify_contract):
            with pytest.raises(pytest.UsageError, match="kafka_contract"):
                verify_contract()
    """)
    result = pytester.runpytest(*plugin_args, *LOCAL_BACKENDS, "--strict-markers")
    result.assert_outcomes(passed=3)
    assert no_consumers_left()


@pytest.mark.parametrize("one_by_one", [False, True], ids=["side-by-side", "one-by-one"])
def test_each_item_gets_its_own_scenarios_verdict_side_by_side_or_not(
    pytester, plugin_args, one_by_one
):
    """The items of a contract file share one side-by-side run (a thread per scenario)
    unless --kafka-contracts-one-by-one: either way each item passes or fails with its
    own scenario's result and report."""
    path = pytester.path / "naive.contract.json"
    path.write_text(json.dumps(small_contract("naive_email_service", ["poison", "crash"])))
    extra = ["--kafka-contracts-one-by-one"] if one_by_one else []
    result = pytester.runpytest(*plugin_args, *LOCAL_BACKENDS, "--kafka-contracts", str(path),
                                "-rA", *extra)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*contract 'small', scenario 'poison' FAILED in * s (seed 11; reproduce with*",
        "*assert_delivered: 1 of 6 expected event(s) missing*",
    ])
    result.stdout.fnmatch_lines(["PASSED *naive.contract.json::crash*"])
    result.stdout.fnmatch_lines(["FAILED *naive.contract.json::poison*"])
    assert no_consumers_left()


@pytest.mark.parametrize("where", ["empty", "misnamed", "missing"])
def test_a_path_without_contract_files_is_a_usage_error(pytester, plugin_args, where):
    if where != "missing":
        pytester.mkdir(where)
    if where == "misnamed":
        (pytester.path / where / "orders.yaml").write_text("name: x\n")
    result = pytester.runpytest(*plugin_args, "--kafka-contracts", where)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    reason = "no such file or directory" if where == "missing" else (
        "no contract file there (contract files are named *.contract.json, "
        "*.contract.yaml, *.contract.yml)")
    result.stderr.fnmatch_lines([f"*--kafka-contracts {where}: {reason}*"])


def test_a_consumer_that_cannot_be_imported_fails_as_such_before_any_scenario(
    pytester, plugin_args
):
    path = pytester.path / "typo.contract.json"
    path.write_text(json.dumps(small_contract("email_servic", ["duplicates", "crash"])))
    result = pytester.runpytest(*plugin_args, *LOCAL_BACKENDS, "--kafka-contracts", str(path))
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*contract 'small': its consumer 'examples.contracts.runners:email_servic' cannot be "
        "loaded: AttributeError: *email_servic*. The callable must be importable from the "
        "directory pytest runs in*",
    ])
    output = result.stdout.str()
    assert "without an effect" not in output and "expected event(s) missing" not in output
    assert "kafka-patterns services" not in output, "no broker was started for it"


def test_a_bad_events_source_fails_in_one_line_without_a_traceback(pytester, plugin_args):
    shutil.copytree(EXAMPLES / "schemas", pytester.path / "schemas")
    (pytester.path / "events.jsonl").write_text('{"event_id": "1"}\n{"event_id": \n')
    path = pytester.path / "file.contract.json"
    path.write_text(json.dumps({**small_contract("email_service", ["duplicates"]),
                                "events": {"file": "events.jsonl"}}))
    result = pytester.runpytest(*plugin_args, *LOCAL_BACKENDS, "--kafka-contracts", str(path))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*invalid contract: *events.jsonl:2:*not valid JSON Lines*"])
    output = result.stdout.str()
    assert "Traceback" not in output and "During handling" not in output
    assert len(output.splitlines()) < 40, output


def test_an_avro_contract_is_one_collection_error_before_any_service_starts(
    pytester, plugin_args
) -> None:
    """The fault scenarios produce JSON: an Avro contract cannot run under them, and says
    so once, at collection, not once per scenario after the broker and Redis started."""
    pytest.importorskip("avro.compatibility")
    from pytest_kafka_patterns.avro import event_schema

    pytester.path.joinpath("order_created.avsc").write_text(event_schema("order.created"))
    pytester.path.joinpath("avro.contract.json").write_text(json.dumps(
        small_contract("email_service", ["crash", "duplicates"]) | {
            "avro": {"schemas": {"order.created": "order_created.avsc"}}}))
    result = pytester.runpytest_subprocess("--kafka-contracts", ".", *plugin_args,
                                           *LOCAL_BACKENDS, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*contract 'small' reads Avro, and the fault scenarios "
                                 "produce JSON events*"])
    assert "kafka-patterns services" not in result.stdout.str()
