"""pytest integration: contract files as test items, the marker and the fixture.

* ``pytest --kafka-contracts PATH`` collects every ``*.contract.json`` (``.yaml`` with
  PyYAML) under ``PATH`` into one test item per scenario
  (``email_service.contract.json::crash``);
* ``@pytest.mark.kafka_contract("contracts/email.contract.json")`` names the contract of
  a test, and the ``verify_contract`` fixture runs its scenarios (paths are relative to
  the test file, else to the rootdir).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from ..config import KafkaSettings
from ..fixtures import SETTINGS_KEY
from . import parallel
from .harness import HarnessEnv, callable_problem, contract_consumer_settings
from .model import Contract, ContractError, load_contract
from .report import item_property, result_property
from .scenarios import ScenarioResult, run_contract, scenario_names

OPTION = "--kafka-contracts"
MARKER = "kafka_contract"


def run_seed(config: pytest.Config) -> int | None:
    """The run's seed (``--kafka-patterns-seed``) when the events plugin is active."""
    try:
        from ..events_plugin import SEED_KEY
    except ImportError:  # pragma: no cover - factory-boy missing
        return None
    seed = config.stash.get(SEED_KEY, None)
    return seed.value if seed is not None else None


def harness_env(request: pytest.FixtureRequest) -> HarnessEnv:
    """The session broker and Redis, topics from ``kafka_topic_factory``, a tmp dir."""
    broker = request.getfixturevalue("kafka_broker")
    redis_server = request.getfixturevalue("redis_server")
    topic_factory = request.getfixturevalue("kafka_topic_factory")
    tmp_path: Path = request.getfixturevalue("tmp_path")
    settings = request.config.stash.get(SETTINGS_KEY, None)
    return HarnessEnv(
        bootstrap_servers=broker.bootstrap_servers,
        redis_url=redis_server.url,
        create_topic=lambda prefix, partitions: topic_factory(prefix, partitions),
        workdir=tmp_path,
        consumer_defaults=contract_consumer_settings(broker),
        kafka_settings=settings.kafka if settings is not None else KafkaSettings(),
    )


def failures_report(results: Iterable[ScenarioResult]) -> str:
    return "\n\n".join(result.report() for result in results if not result.passed)


class ContractScenarioWarning(pytest.PytestWarning):
    """A contract scenario passed, but its report has notes (far slower than the
    contract's other scenarios, a wait that ran out)."""


def warn_on_notes(results: Iterable[ScenarioResult]) -> None:
    """A passing scenario with notes must not pass in silence: warn (pytest's warnings
    summary shows it) with the notes."""
    for result in results:
        if result.passed and result.notes:
            warnings.warn(ContractScenarioWarning(
                f"contract {result.contract!r}, scenario {result.scenario!r} passed in "
                f"{result.seconds:.1f} s, but: " + "; ".join(result.notes)
            ), stacklevel=3)


class ContractFile(pytest.File):
    """A contract file: one item per scenario it asks for."""

    def _shown_path(self) -> Path:
        """The file relative to the rootdir (as CI shows it), else as it is."""
        try:
            return self.path.relative_to(self.config.rootpath)
        except ValueError:
            return self.path

    def collect(self) -> Iterable[pytest.Item]:
        try:
            contract = load_contract(self.path)
            settings = self.config.stash.get(SETTINGS_KEY, None)
            names = scenario_names(contract, settings.kafka.backend if settings else None)
        except (ContractError, ValueError) as exc:
            raise self.CollectError(f"invalid contract: {exc}") from None
        if contract.avro_schemas:
            raise self.CollectError(
                f"contract {contract.name!r} reads Avro, and the fault "
                "scenarios produce JSON events: running an Avro consumer under faults is "
                "not supported yet. Check producers' records against it with "
                "check_messages(contract, records, registry=schema_registry), and keep "
                "the file out of the --kafka-contracts paths.")
        consumer = contract.callable or " ".join(contract.command or ())
        for name in names:
            item = pytest.Function.from_parent(
                self, name=name, callobj=_scenario_test(contract, name)
            )
            item.user_properties.append(item_property(contract.name, self._shown_path(),
                                                      consumer, name))
            yield item


def _scenario_test(contract: Contract, name: str) -> Callable[[pytest.FixtureRequest], None]:
    def test(request: pytest.FixtureRequest) -> None:
        problem = contract.callable and callable_problem(contract.callable)
        if problem:
            pytest.fail(
                f"contract {contract.name!r}: its consumer {contract.callable!r} cannot be "
                f"loaded: {problem}. The callable must be importable from the directory "
                f"pytest runs in ({Path.cwd()}) or from PYTHONPATH.", pytrace=False)
        invalid = ""
        try:
            if parallel.side_by_side(request.config):  # the file's items share one run
                results = [parallel.shared_result(request, contract, name,
                                                  lambda: harness_env(request),
                                                  run_seed(request.config))]
            else:
                results = run_contract(contract, harness_env(request), names=[name],
                                       run_seed=run_seed(request.config))
        except ContractError as exc:  # e.g. a bad events source: the message says it all
            invalid = str(exc)
        if invalid:
            pytest.fail(f"invalid contract: {invalid}", pytrace=False)
        backend = getattr(request.getfixturevalue("kafka_broker"), "backend", None)
        for result in results:
            request.node.user_properties.append(result_property(result, backend))
            print(result.report())
        warn_on_notes(results)
        if not all(result.passed for result in results):
            pytest.fail(failures_report(results), pytrace=False)

    test.__doc__ = f"contract {contract.name!r}: scenario {name!r}"
    return test


def contract_paths(config: pytest.Config) -> list[str]:
    """``--kafka-contracts`` paths (flag, ``$PYTEST_KAFKA_CONTRACTS`` or ini)."""
    return list(config.stash[SETTINGS_KEY].contracts)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ContractFile | None:
    from .model import is_contract_file

    if contract_paths(parent.config) and is_contract_file(file_path):
        result: ContractFile = ContractFile.from_parent(parent, path=file_path)
        return result
    return None


def resolve_path(request: pytest.FixtureRequest, path: str | Path) -> Path:
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    for base in (request.path.parent, request.config.rootpath):
        if (base / candidate).exists():
            return base / candidate
    return request.path.parent / candidate


Verify = Callable[..., list[ScenarioResult]]


def make_verify(request: pytest.FixtureRequest) -> Verify:
    """The ``verify_contract`` callable (see :func:`verify_contract_fixture`)."""

    def verify(
        contract: Contract | str | Path | None = None,
        *,
        scenarios: Sequence[str] | None = None,
        consumer: str | None = None,
        seed: int | None = None,
        check: bool = True,
    ) -> list[ScenarioResult]:
        __tracebackhide__ = True
        if contract is None:
            marker = request.node.get_closest_marker(MARKER)
            if marker is None or not marker.args:
                raise pytest.UsageError(
                    f"verify_contract() needs a contract or @pytest.mark.{MARKER}(path)")
            contract = marker.args[0]
        if not isinstance(contract, Contract):
            contract = load_contract(resolve_path(request, contract))
        if consumer is not None:
            contract = contract.with_consumer(consumer)
        results = run_contract(contract, harness_env(request), names=scenarios, seed=seed,
                               run_seed=run_seed(request.config))
        warn_on_notes(results)
        if check and not all(result.passed for result in results):
            raise AssertionError(failures_report(results))
        return results

    return verify


def verify_contract_fixture(request: pytest.FixtureRequest) -> Iterator[Verify]:
    """``verify_contract(contract=None, *, scenarios=None, consumer=None, seed=None,
    check=True)``: run a contract's scenarios (default: the ``kafka_contract`` marker's
    file), raising ``AssertionError`` with each failure's seed, timeline and message;
    ``check=False`` returns the results instead."""
    yield make_verify(request)
