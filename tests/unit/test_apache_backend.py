"""The apache backend's pure parts: versions, the cache's manifest check, Maven's answers."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from pytest_kafka_patterns.backends import apache, kraft
from pytest_kafka_patterns.config import DEFAULT_APACHE_KAFKA_VERSION, KafkaSettings, resolve
from pytest_kafka_patterns.errors import BackendUnavailable, ConfigError


@pytest.mark.parametrize("version", ["4.4.0", "4.0.0", "4.1.0-rc1", " 4.3.1 "])
def test_versions_that_are_accepted(version: str) -> None:
    assert apache.check_version(version) == version.strip()


@pytest.mark.parametrize("version", ["latest", "4.4", "4.4.0</version>", "", "4.4.0; rm -rf"])
def test_versions_that_are_not_numbers(version: str) -> None:
    with pytest.raises(ConfigError, match=r"is not a Kafka version number such as 4\.1\.1"):
        apache.check_version(version)


def test_kafka_3_is_pointed_elsewhere() -> None:
    with pytest.raises(ConfigError, match=r"runs Apache Kafka 4\.x.*3\.9\.1 is older.*local"):
        apache.check_version("3.9.1")


def test_version_and_cache_options_resolve() -> None:
    settings = resolve(lambda dest: None, lambda name: None, {})
    assert settings.kafka.version == DEFAULT_APACHE_KAFKA_VERSION
    assert settings.kafka.cache_dir is None
    env = {"PYTEST_KAFKA_VERSION": "4.1.1", "PYTEST_KAFKA_CACHE_DIR": "~/kc",
           "PYTEST_KAFKA_BACKEND": "apache"}
    settings = resolve(lambda dest: None, lambda name: None, env)
    assert settings.kafka.backend == "apache"
    assert settings.kafka.version == "4.1.1"
    assert settings.kafka.cache_dir == Path("~/kc").expanduser()
    assert settings.sources["kafka_version"] == "$PYTEST_KAFKA_VERSION"


def test_cache_root_follows_xdg_then_home(tmp_path: Path) -> None:
    xdg = apache.cache_root(KafkaSettings(), {"XDG_CACHE_HOME": str(tmp_path)})
    assert xdg == tmp_path / "pytest-kafka-patterns" / "kafka"
    assert apache.cache_root(KafkaSettings(), {}) == (
        Path.home() / ".cache" / "pytest-kafka-patterns" / "kafka")
    explicit = KafkaSettings(cache_dir=tmp_path / "mine")
    assert apache.cache_root(explicit, {"XDG_CACHE_HOME": "/x"}) == tmp_path / "mine"


def installed(root: Path, version: str = "4.4.0", jars: dict[str, bytes] | None = None) -> Path:
    """A cache directory for ``version`` as a successful fetch leaves it."""
    jars = jars or {f"kafka_2.13-{version}.jar": b"kafka", "kafka-clients.jar": b"clients"}
    directory = root / version
    (directory / "libs").mkdir(parents=True)
    for name, content in jars.items():
        (directory / "libs" / name).write_bytes(content)
    apache._write_manifest(directory, version, sorted(jars))
    return directory


def test_manifest_round_trip_in_classpath_order(tmp_path: Path) -> None:
    directory = installed(tmp_path)
    manifest = json.loads((directory / apache.MANIFEST).read_text())
    names = [jar["name"] for jar in manifest["jars"]]
    assert names == ["kafka-clients.jar", "kafka_2.13-4.4.0.jar"]
    assert manifest["jars"][0]["sha256"] == hashlib.sha256(b"clients").hexdigest()
    found = apache.load_installation(directory, "4.4.0")
    assert found is not None
    assert found.jars == (directory / "libs" / "kafka-clients.jar",
                          directory / "libs" / "kafka_2.13-4.4.0.jar")
    assert found.classpath.split(":")[0].endswith("kafka-clients.jar")


def test_absent_version_is_none(tmp_path: Path) -> None:
    assert apache.load_installation(tmp_path / "4.4.0", "4.4.0") is None


def _corrupt(directory: Path, how: str) -> None:
    jar = directory / "libs" / "kafka-clients.jar"
    if how == "missing jar":
        jar.unlink()
    elif how == "truncated jar":
        jar.write_bytes(b"cli")
    elif how == "same size, other bytes":
        jar.write_bytes(b"CLIENTS")
    elif how == "no manifest":
        (directory / apache.MANIFEST).unlink()
    elif how == "garbled manifest":
        (directory / apache.MANIFEST).write_text("{not json")
    elif how == "other version's manifest":
        text = (directory / apache.MANIFEST).read_text().replace('"4.4.0"', '"4.3.1"')
        (directory / apache.MANIFEST).write_text(text)


@pytest.mark.parametrize("how", ["missing jar", "truncated jar", "same size, other bytes",
                                 "no manifest", "garbled manifest", "other version's manifest"])
def test_damage_is_detected(tmp_path: Path, how: str) -> None:
    directory = installed(tmp_path)
    assert apache.load_installation(directory, "4.4.0") is not None  # verified once
    time.sleep(0.01)  # a rewrite gets a new mtime even on coarse clocks
    _corrupt(directory, how)
    with pytest.raises(apache.CorruptCache):
        apache.load_installation(directory, "4.4.0")


def test_warm_check_hashes_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = installed(tmp_path)
    apache.load_installation(directory, "4.4.0")
    hashed: list[Path] = []
    real = apache._sha256
    monkeypatch.setattr(apache, "_sha256", lambda path: hashed.append(path) or real(path))
    apache.load_installation(directory, "4.4.0")
    assert hashed == []
    (directory / "libs" / "kafka-clients.jar").touch()  # same bytes, new mtime
    apache.load_installation(directory, "4.4.0")
    assert hashed == [directory / "libs" / "kafka-clients.jar"]


def test_filled_cache_needs_no_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    lines: list[str] = []
    found = apache.provision("4.4.0", tmp_path, lines.append)
    assert found.version == "4.4.0" and lines == []  # and nothing printed


def test_no_mvn_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(BackendUnavailable) as caught:
        apache.provision("4.4.0", tmp_path / "cache", lambda line: None)
    message = str(caught.value)
    assert "no `mvn` on PATH" in message and "apt-get install maven" in message
    assert "KAFKA_HOME" in message
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".4.4.0.lock"]


@pytest.mark.parametrize(
    ("jars", "binding"),
    [
        (["log4j-api-2.25.5.jar", "slf4j-api-1.7.36.jar"],
         ("org.apache.logging.log4j", "log4j-slf4j-impl", "2.25.5")),
        (["log4j-api-2.24.3.jar", "slf4j-api-2.0.17.jar"],
         ("org.apache.logging.log4j", "log4j-slf4j2-impl", "2.24.3")),
        (["log4j-api-2.25.5.jar", "slf4j-api-1.7.36.jar", "log4j-slf4j-impl-2.25.5.jar"], None),
        (["slf4j-api-1.7.36.jar"], None),
    ],
)
def test_slf4j_binding_matches_log4j(
    tmp_path: Path, jars: list[str], binding: tuple[str, str, str] | None
) -> None:
    for name in jars:
        (tmp_path / name).touch()
    assert apache._slf4j_binding(tmp_path) == binding


def test_pom_names_only_what_it_is_given(tmp_path: Path) -> None:
    apache._write_pom(tmp_path / "pom.xml", [("org.apache.kafka", "kafka_2.13", "4.4.0")])
    text = (tmp_path / "pom.xml").read_text()
    assert "<artifactId>kafka_2.13</artifactId><version>4.4.0</version>" in text
    assert "<repositor" not in text and "http" not in text.replace(
        "http://maven.apache.org/POM/4.0.0", "")


def test_versions_listed_from_the_local_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "repo" / "org" / "apache" / "kafka" / "kafka_2.13"
    folder.mkdir(parents=True)
    (folder / "maven-metadata-central.xml").write_text(
        "<metadata><versioning><versions><version>3.9.1</version><version>4.10.0</version>"
        "<version>4.2.0</version><version>4.4.0</version></versions></versioning></metadata>")
    (folder / "maven-metadata-mirror.xml").write_text(
        "<metadata><versioning><versions><version>4.0.0</version></versions></versioning>"
        "</metadata>")
    monkeypatch.setenv("MAVEN_OPTS", f"-Xmx1g -Dmaven.repo.local={tmp_path / 'repo'}")
    no_mvn = tmp_path / "mvn-absent"
    assert apache.maven_versions(str(no_mvn), tmp_path) == ["4.0.0", "4.2.0", "4.4.0", "4.10.0"]


def test_java_too_old_names_what_was_found(tmp_path: Path) -> None:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\nexit 0\n")
    (home / "bin" / "java").chmod(0o755)
    (home / "release").write_text('JAVA_VERSION="11.0.2"\n')
    too_old = r"Apache Kafka 4\.4\.0 needs Java 17\+, but .*jdk/bin/java is Java 11"
    with pytest.raises(BackendUnavailable, match=too_old):
        kraft.require_java(17, "Apache Kafka 4.4.0", {"JAVA_HOME": str(home)})


def test_java_version_read_from_java_when_there_is_no_release_file(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").write_text(
        '#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n')
    (bin_dir / "java").chmod(0o755)
    with pytest.raises(BackendUnavailable, match=r"is Java 11 \(openjdk version \"11\.0\.22\""):
        kraft.require_java(17, "Apache Kafka 4.4.0", {"PATH": str(bin_dir)})
    (bin_dir / "java").write_text('#!/bin/sh\necho \'java version "1.8.0_392"\' >&2\n')
    with pytest.raises(BackendUnavailable, match=r"is Java 8 "):
        kraft.require_java(17, "Apache Kafka 4.4.0", {"PATH": str(bin_dir)})
    (bin_dir / "java").write_text('#!/bin/sh\necho \'openjdk version "21.0.1"\' >&2\n')
    assert kraft.require_java(17, "x", {"PATH": str(bin_dir)})[2] == 21


def test_storage_template_copy_gets_fresh_ids(tmp_path: Path) -> None:
    template = tmp_path / "template"
    (template / "__cluster_metadata-0").mkdir(parents=True)
    (template / "__cluster_metadata-0" / "0.checkpoint").write_bytes(b"bootstrap")
    (template / "meta.properties").write_text(
        "#\nnode.id=1\ndirectory.id=AAAAAAAAAAAAAAAAAAAAAA\nversion=1\n"
        "cluster.id=BBBBBBBBBBBBBBBBBBBBBB\n")
    kraft.copy_storage_template(template, tmp_path / "a")
    kraft.copy_storage_template(template, tmp_path / "b")
    a, b = ((tmp_path / d / "meta.properties").read_text() for d in "ab")
    assert a != b and "node.id=1" in a and "version=1" in a
    assert "AAAAAAAAAAAAAAAAAAAAAA" not in a and "BBBBBBBBBBBBBBBBBBBBBB" not in a
    assert (tmp_path / "a" / "__cluster_metadata-0" / "0.checkpoint").read_bytes() == b"bootstrap"


@pytest.mark.parametrize(
    "line",
    [
        "[ERROR] Failed to execute goal on project kafka-runtime: Could not resolve dependencies "
        "for project p:kafka-runtime:pom:0: Could not find artifact "
        "org.apache.kafka:kafka_2.13:jar:4.9.99 in central (https://repo.example/maven2)",
        "[ERROR] Failed to execute goal on project kafka-runtime: Could not resolve dependencies "
        "for project p:kafka-runtime:pom:0: org.apache.kafka:kafka_2.13:jar:4.9.99 was not "
        "found in https://repo.example/maven2 during a previous attempt. This failure was "
        "cached in the local repository",
    ],
)
def test_maven_not_found_both_fresh_and_cached(line: str) -> None:
    match = apache._NOT_FOUND.search(line)
    assert match is not None
    groups = [g for g in match.groups() if g]
    assert groups == ["org.apache.kafka:kafka_2.13", "4.9.99"]


def test_half_written_archives_of_dead_runs_are_removed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".abc-{dead}-deadbeef.jsa").write_bytes(b"half")
    (tmp_path / f".abc-{os.getpid()}-cafe0123.jsa").write_bytes(b"ours, being written")
    (tmp_path / "abc.jsa").write_bytes(b"complete")
    apache._remove_dead_dumps(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f".abc-{os.getpid()}-cafe0123.jsa", "abc.jsa"]


def test_a_killed_fetch_leaves_nothing_that_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / ".tmp-4.4.0-123-abcdef12"
    (stale / "libs").mkdir(parents=True)

    def fetch(cache: Path, version: str, report: object, timeout: float) -> None:
        assert not stale.exists()  # removed under the lock, before fetching
        installed(cache, version)

    monkeypatch.setattr(apache, "_fetch_into", fetch)
    assert apache.provision("4.4.0", tmp_path, lambda line: None).version == "4.4.0"
