"""pytest entry point for consumer contracts: ``--kafka-contracts``, the
``kafka_contract`` marker and the ``verify_contract`` fixture (see
:mod:`pytest_kafka_patterns.contracts.pytest_items`).

The contracts package (kafka-python, redis, jsonschema, the harness) is imported only by a
run that collects contract files or uses ``verify_contract``: this part is registered in
every run, and most runs do neither (issue 14).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import extras, parts
from ._kafka_quiet import import_kafka

if TYPE_CHECKING:
    from .config import Settings
    from .contracts.pytest_items import Verify

OPTION = "--kafka-contracts"
MARKER = "kafka_contract"


def _items() -> Any:
    import_kafka()  # first, quietly (see ._kafka_quiet)
    from .contracts import pytest_items

    return pytest_items


@pytest.hookimpl(trylast=True)  # after the core has resolved the settings
def pytest_configure(config: pytest.Config) -> None:
    parts.require_core(config, "kafka_patterns_contracts")
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path): the consumer contract the verify_contract fixture checks",
    )
    _register_report(config)
    paths = list(_settings(config).contracts)
    if paths:
        try:
            extras.require("contracts", OPTION)
        except extras.MissingExtra as exc:
            raise pytest.UsageError(f"pytest-kafka-patterns: {exc}") from None
        _check_paths(config, paths)
    if paths and config.args_source != pytest.Config.ArgsSource.ARGS:
        # `pytest --kafka-contracts PATH` alone: collect the contracts, not the test suite.
        config.args[:] = list(paths)


def _check_paths(config: pytest.Config, paths: list[str]) -> None:
    """Each ``--kafka-contracts`` path exists and holds a contract file: an empty or
    misnamed directory is a usage error, not a silent "no tests ran"."""
    from .contracts.model import CONTRACT_SUFFIXES, is_contract_file

    for raw in paths:
        path = Path(raw) if Path(raw).is_absolute() else config.invocation_params.dir / raw
        if not path.exists():
            raise pytest.UsageError(f"pytest-kafka-patterns: {OPTION} {raw}: no such file or "
                                    "directory")
        found = [path] if path.is_file() else path.rglob("*.contract.*")
        if not any(is_contract_file(candidate) for candidate in found):
            raise pytest.UsageError(
                f"pytest-kafka-patterns: {OPTION} {raw}: no contract file there (contract "
                f"files are named *{', *'.join(CONTRACT_SUFFIXES)})")


def _settings(config: pytest.Config) -> Settings:
    """The run's resolved settings (the core part resolves them before this part's
    ``pytest_configure``, which is ``trylast``)."""
    from .fixtures import SETTINGS_KEY

    return config.stash[SETTINGS_KEY]


def _register_report(config: pytest.Config) -> None:
    """With ``--kafka-contracts-report DIR``, register the writer of the contract reports
    on the process that reports: the controller under xdist (its hooks get every
    worker's reports, user properties included), else the only one."""
    from .fixtures import SETTINGS_KEY

    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or settings.contracts_report is None or hasattr(config, "workerinput"):
        return
    from .contracts.report import ReportWriter

    config.pluginmanager.register(ReportWriter(settings.contracts_report), REPORT_PLUGIN)


REPORT_PLUGIN = "kafka_patterns_contracts_report"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _settings(parent.config).contracts:
        return None
    collector: pytest.Collector | None = _items().pytest_collect_file(file_path, parent)
    return collector


@pytest.fixture
def verify_contract(request: pytest.FixtureRequest) -> Iterator[Verify]:
    """Run a contract's fault scenarios; see :func:`pytest_items.verify_contract_fixture`."""
    from .fixtures import require_extra

    require_extra(request, "contracts")
    yield from _items().verify_contract_fixture(request)
