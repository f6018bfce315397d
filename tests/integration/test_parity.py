"""Parity, measured not claimed: every capability the run's backend claims is checked
against its behaviour probe (``pytest_kafka_patterns.parity``) on that very broker.

A claimed capability must pass its probe and a capability the backend does not claim must
FAIL it, so ``capabilities.py`` cannot over- or under-state a broker. Runs on whatever
``--kafka-backend`` the run uses (embedded by default; ``--kafka-backend=apache`` checks
stock Apache Kafka). The README's "Backends compared" table is checked against the same
results, so it cannot drift either.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pytest_kafka_patterns import parity
from pytest_kafka_patterns.backends.base import KafkaBroker
from pytest_kafka_patterns.capabilities import CAPABILITIES

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture(scope="module")
def probe_results(kafka_broker: KafkaBroker) -> dict[str, parity.ProbeResult]:
    return parity.probe_all(kafka_broker.bootstrap_servers)


def test_every_capability_has_a_probe_or_a_reason() -> None:
    assert set(parity.PROBES) | set(parity.UNPROBED) == set(CAPABILITIES)
    assert not set(parity.PROBES) & set(parity.UNPROBED)


@pytest.mark.parametrize("capability", list(parity.PROBES))
def test_claim_matches_probe(
    capability: str, kafka_broker: KafkaBroker, probe_results: dict[str, parity.ProbeResult]
) -> None:
    if capability == "aiokafka_idempotence" and importlib.util.find_spec("aiokafka") is None:
        pytest.skip("aiokafka is not installed, so its probe cannot say anything")
    result = probe_results[capability]
    claimed = capability in kafka_broker.capabilities
    assert result.passed == claimed, (
        f"the {kafka_broker.backend} backend ({kafka_broker.version}) "
        f"{'claims' if claimed else 'does not claim'} {capability!r} "
        f"({CAPABILITIES[capability]}), but its probe {'passed' if result.passed else 'failed'}: "
        f"{result.detail}"
    )


def test_probes_are_bounded(probe_results: dict[str, parity.ProbeResult]) -> None:
    """Each probe ends within its timeout and the second ``run_probe`` allows to close.

    A probe that passes ends in a few seconds; one whose client waits for an answer that
    never comes (kafka-python 2's producer on a broker that refuses InitProducerId) ends
    when its timeout is up, not later.
    """
    slow = {
        name: f"{result.seconds:.1f} s"
        for name, result in probe_results.items()
        if result.seconds > parity.DEFAULT_TIMEOUT + 1.0
        or (result.passed and result.seconds > parity.FAST_JOIN_SECONDS + 3)
    }
    assert not slow


def test_readme_table_matches_the_probes(
    kafka_broker: KafkaBroker, probe_results: dict[str, parity.ProbeResult]
) -> None:
    table = parity.parse_table(README.read_text())
    assert table, "README has no 'Backends compared' table"
    title = parity.column_title(kafka_broker.backend, kafka_broker.version)
    if title not in table:
        pytest.skip(f"the README's table has no column {title!r} (it has {sorted(table)})")
    measured = {name: result.passed for name, result in probe_results.items()}
    measured.update({name: None for name in parity.UNPROBED})
    if importlib.util.find_spec("aiokafka") is None:
        del measured["aiokafka_idempotence"], table[title]["aiokafka_idempotence"]
    assert table[title] == measured, (
        "the README's table is stale: regenerate it with `python -m pytest_kafka_patterns "
        "parity --backend embedded --backend apache --update-readme README.md`"
    )


def test_cli_prints_the_probes_as_a_table(
    kafka_broker: KafkaBroker,
    probe_results: dict[str, parity.ProbeResult],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pytest_kafka_patterns.cli import main

    assert main(["parity", "--bootstrap-servers", kafka_broker.bootstrap_servers]) == 0
    table = parity.parse_table(capsys.readouterr().out)
    (column,) = table.values()
    assert column == {
        name: probe_results[name].passed if name in probe_results else None
        for name in CAPABILITIES
    }


def test_cli_parity_needs_a_broker(capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_kafka_patterns.cli import EXIT_USAGE, main

    assert main(["parity"]) == EXIT_USAGE
    assert "--backend NAME or --bootstrap-servers" in capsys.readouterr().err
