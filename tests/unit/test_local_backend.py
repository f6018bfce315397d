"""The local backend's pure parts: generated config, cluster ids, and the fast checks."""

from __future__ import annotations

import base64
from pathlib import Path
from unittest import mock

import pytest

from pytest_kafka_patterns.backends import local
from pytest_kafka_patterns.config import KafkaSettings
from pytest_kafka_patterns.errors import BackendUnavailable, ConfigError


def parse(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")
    return {key: value for key, value in pairs}


def fake_distribution(root: Path, *, version: str = "3.9.1") -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "libs").mkdir()
    for script in (local.SERVER_SCRIPT, local.STORAGE_SCRIPT):
        (root / script).write_text("#!/bin/sh\nexit 0\n")
        (root / script).chmod(0o755)
    for jar in (f"kafka_2.13-{version}-sources.jar", f"kafka_2.13-{version}.jar",
                f"kafka-clients-{version}.jar"):
        (root / "libs" / jar).touch()
    return root


def fake_java_home(root: Path, release: str | None = 'JAVA_VERSION="17.0.15"\n') -> Path:
    (root / "bin").mkdir(parents=True)
    java = root / "bin" / "java"
    java.write_text("#!/bin/sh\nexit 0\n")
    java.chmod(0o755)
    if release is not None:
        (root / "release").write_text(release)
    return root


def check(settings: KafkaSettings, environ: dict[str, str] | None) -> local.Distribution:
    """The check, which reads files only: starting any process (a JVM) fails the test.
    (How fast it is: benchmarks/quick_checks.py.)"""
    no_process = AssertionError("check_distribution started a process")
    with mock.patch("subprocess.Popen", side_effect=no_process):
        return local.check_distribution(settings, environ)


def test_server_properties_single_kraft_node() -> None:
    props = parse(local.server_properties(19092, 19093, Path("/tmp/x/data")))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    protocols = dict(item.split(":") for item in props["listener.security.protocol.map"].split(","))
    assert protocols == {"PLAINTEXT": "PLAINTEXT", "CONTROLLER": "PLAINTEXT"}
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["log.dirs"] == "/tmp/x/data"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert int(props["group.initial.rebalance.delay.ms"]) <= 300  # Kafka's default: 3000
    assert props["group.min.session.timeout.ms"] == "1000"
    assert props["num.partitions"] == "1"
    assert props["auto.create.topics.enable"] == "true"


def test_server_properties_has_no_duplicate_keys() -> None:
    lines = [ln for ln in local.server_properties(1, 2, "d").splitlines() if ln[0] != "#"]
    assert len({line.split("=")[0] for line in lines}) == len(lines)


def test_consumer_defaults_fit_the_broker_limits() -> None:
    props = parse(local.server_properties(1, 2, "d"))
    session = local.KAFKA_CONSUMER_DEFAULTS["session_timeout_ms"]
    heartbeat = local.KAFKA_CONSUMER_DEFAULTS["heartbeat_interval_ms"]
    assert session >= int(props["group.min.session.timeout.ms"])
    assert heartbeat * 3 <= session


def test_cluster_id_is_a_kafka_uuid() -> None:
    ids = {local.cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        assert len(text) == 22 and not text.startswith("-")
        assert len(base64.urlsafe_b64decode(text + "==")) == 16


def test_version_comes_from_the_main_jar(tmp_path: Path) -> None:
    assert local.kafka_version(fake_distribution(tmp_path / "k", version="4.0.0")) == "4.0.0"
    assert local.kafka_version(tmp_path / "nowhere") == "unknown"


def test_missing_kafka_home_says_how_to_set_it() -> None:
    with pytest.raises(ConfigError, match="set KAFKA_HOME or pass --kafka-home"):
        check(KafkaSettings(backend="local"), {})


def test_kafka_home_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is not a directory.*kafka.apache.org/downloads"):
        check(KafkaSettings(kafka_home=tmp_path / "absent"), {})


@pytest.mark.parametrize("script", [local.SERVER_SCRIPT, local.STORAGE_SCRIPT])
def test_kafka_home_without_a_script_names_it(tmp_path: Path, script: str) -> None:
    home = fake_distribution(tmp_path / "kafka")
    (home / script).unlink()
    with pytest.raises(ConfigError, match=rf"has no {script}.*KAFKA_HOME"):
        check(KafkaSettings(kafka_home=home), {"JAVA_HOME": str(fake_java_home(tmp_path / "j"))})


def test_kafka_home_with_a_script_that_is_not_executable(tmp_path: Path) -> None:
    home = fake_distribution(tmp_path / "kafka")
    (home / local.SERVER_SCRIPT).chmod(0o644)
    with pytest.raises(ConfigError, match=r"is not executable.*chmod \+x"):
        check(KafkaSettings(kafka_home=home), {"JAVA_HOME": str(fake_java_home(tmp_path / "j"))})


def test_java_missing_from_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = fake_distribution(tmp_path / "kafka")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(BackendUnavailable, match=r"No Java found.*Java 17.*JAVA_HOME"):
        check(KafkaSettings(kafka_home=home), None)  # reads os.environ


def test_java_home_without_java(tmp_path: Path) -> None:
    home = fake_distribution(tmp_path / "kafka")
    (tmp_path / "jdk").mkdir()
    with pytest.raises(BackendUnavailable, match=r"has no bin/java.*Install Java 17"):
        check(KafkaSettings(kafka_home=home), {"JAVA_HOME": str(tmp_path / "jdk"), "PATH": ""})


def test_java_from_java_home_wins_over_path(tmp_path: Path) -> None:
    home = fake_distribution(tmp_path / "kafka")
    java_home = fake_java_home(tmp_path / "jdk")
    dist = check(KafkaSettings(kafka_home=home), {"JAVA_HOME": str(java_home), "PATH": ""})
    assert dist.java == str(java_home / "bin" / "java")
    assert dist.java_home == java_home
    assert dist.version == "3.9.1"


def test_relative_kafka_home_and_java_home_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scripts run in the broker's work dir: a relative path would point nowhere."""
    fake_distribution(tmp_path / "kafka")
    fake_java_home(tmp_path / "jdk")
    monkeypatch.chdir(tmp_path)
    dist = check(KafkaSettings(kafka_home=Path("kafka")), {"JAVA_HOME": "jdk", "PATH": ""})
    assert dist.home == tmp_path / "kafka"
    assert dist.java == str(tmp_path / "jdk" / "bin" / "java")
    assert dist.java_home == tmp_path / "jdk"


def test_java_found_on_path(tmp_path: Path) -> None:
    home = fake_distribution(tmp_path / "kafka")
    java_home = fake_java_home(tmp_path / "jdk")
    dist = check(KafkaSettings(kafka_home=home), {"PATH": str(java_home / "bin")})
    assert dist.java == str(java_home / "bin" / "java")
    assert dist.java_home == java_home


def test_too_old_java_for_kafka_4(tmp_path: Path) -> None:
    home = fake_distribution(tmp_path / "kafka", version="4.0.0")
    java_home = fake_java_home(tmp_path / "jdk", 'JAVA_VERSION="11.0.2"\n')
    with pytest.raises(BackendUnavailable, match=r"needs Java 17\+.*Java 11"):
        check(KafkaSettings(kafka_home=home), {"JAVA_HOME": str(java_home)})


@pytest.mark.parametrize(
    ("release", "major"),
    [('JAVA_VERSION="1.8.0_392"', 8), ('JAVA_VERSION="21"', 21), ("IMPLEMENTOR=x", None)],
)
def test_java_major_from_release_file(tmp_path: Path, release: str, major: int | None) -> None:
    assert local.java_major(fake_java_home(tmp_path / "jdk", release + "\n")) == major
    assert local.java_major(None) is None
