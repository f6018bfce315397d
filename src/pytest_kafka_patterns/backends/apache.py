"""Stock Apache Kafka without Docker or a download page: the broker's jars through Maven.

``--kafka-backend=apache`` resolves ``org.apache.kafka:kafka_2.13:<version>`` and its
runtime dependencies with the user's own ``mvn`` (so ``settings.xml`` mirrors, proxies
and credentials apply; no repository address is written here) into a per-user cache,
once per version, then runs ``java -cp <jars> kafka.Kafka server.properties``: one
combined broker+controller KRaft node, configured, formatted and supervised exactly like
the ``local`` backend (:mod:`.kraft`).

The cache (``--kafka-cache-dir``, default ``$XDG_CACHE_HOME/pytest-kafka-patterns/kafka``)
holds one directory per version, complete or absent::

    <cache>/<version>/manifest.json     every jar's name, size and sha256, in classpath order
    <cache>/<version>/libs/*.jar
    <cache>/<version>/storage-<hash>/   storage formatted once by Kafka's tool, copied per run
    <cache>/<version>/cds/<key>.jsa     the JVM's class-data archive (AppCDS), for start-up

A version is fetched into a temporary directory beside it, verified against the
manifest, and renamed into place under a file lock, so concurrent runs and xdist
workers fetch it once and never see half of it. A jar that no longer matches the
manifest makes the whole version fetch again. Once filled, no network and no ``mvn``
are needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import psutil
from filelock import FileLock, Timeout

from ..config import KafkaSettings
from ..errors import BackendUnavailable, ConfigError, KafkaPatternsError, log_tail
from ..process import _child_setup as child_setup
from .base import KafkaBroker, Running
from .kraft import (
    Launch,
    broker_info,
    copy_storage_template,
    require_java,
    start_node,
    storage_template,
)

NAME = "apache"
DEFAULT_TIMEOUT = 60.0
#: Longest a first fetch of Kafka's jars may take (it is ~45 MB).
FETCH_TIMEOUT = 900.0
GROUP = "org.apache.kafka"
ARTIFACT = "kafka_2.13"
SERVER_MAIN = "kafka.Kafka"
STORAGE_MAIN = "kafka.tools.StorageTool"
MIN_JAVA = 17
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1

#: JVM flags, chosen by measurement for a short-lived test broker (see
#: benchmarks/startup.py): C1 only and the serial collector start fastest on a small
#: machine, and the class-data archive (cds/) skips most class loading after the first run.
HEAP_FLAGS = ("-Xms64m", "-Xmx512m")
JVM_FLAGS = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-XX:-UsePerfData",
    "-Xshare:auto",
    "-Xlog:cds=off",
    "-Xlog:cds+dynamic=off",
    "-Djava.awt.headless=true",
)

MVN_HINT = (
    "The apache backend fetches Kafka's jars once with Maven: install it "
    "(`apt-get install maven`, `brew install maven`, https://maven.apache.org/install.html) "
    "and put `mvn` on PATH (its settings.xml mirrors and proxies are honoured). Or unpack a "
    "Kafka distribution and use --kafka-backend=local with KAFKA_HOME, or choose another "
    "--kafka-backend."
)

#: log4j2 for the broker: everything INFO and up to stdout, which start_process writes to
#: ``kafka.log`` (and quotes on a failed start); the per-request logger stays quiet.
LOG_CONFIG = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
"""

_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[A-Za-z0-9.]+)?$")
_DOWNLOADED = re.compile(r"Downloaded from [^:]+: (\S+) \(([^)]*)\)")
#: Maven's two ways of saying an artifact does not exist: asked now, or asked before (a
#: failure it cached in the local repository until the repository's update interval).
_NOT_FOUND = re.compile(
    r"Could not find artifact ([\w.\-]+:[\w.\-]+):\w+:([\w.\-]+)"
    r"|([\w.\-]+:[\w.\-]+):\w+:([\w.\-]+) was not found in"
)

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    """The default progress report. The plugin passes pytest's terminal writer instead
    (it provisions before any test runs, so nothing captures it)."""
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Installation:
    """A complete, verified version in the cache."""

    version: str
    root: Path
    jars: tuple[Path, ...]

    @property
    def classpath(self) -> str:
        return os.pathsep.join(str(jar) for jar in self.jars)


class CorruptCache(KafkaPatternsError):
    """A cached version does not match its manifest (raised inside this module only)."""


# -- where and what ---------------------------------------------------------------------


def cache_root(settings: KafkaSettings, environ: Mapping[str, str] | None = None) -> Path:
    """``--kafka-cache-dir``, else ``$XDG_CACHE_HOME`` or ``~/.cache``, + our subdirectory."""
    if settings.cache_dir is not None:
        return settings.cache_dir.expanduser()
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "pytest-kafka-patterns" / "kafka"


def check_version(version: str) -> str:
    """Reject what is not a Kafka 4.x release number, before anything runs."""
    version = version.strip()
    if not _VERSION.match(version):
        raise ConfigError(
            f"--kafka-version / PYTEST_KAFKA_VERSION={version!r} is not a Kafka version "
            "number such as 4.1.1."
        )
    if int(version.split(".")[0]) < 4:
        raise ConfigError(
            f"the apache backend runs Apache Kafka 4.x (KRaft, log4j2, Java 17); "
            f"{version} is older. Use --kafka-backend=local with a {version} distribution, "
            "or --kafka-backend=docker with an apache/kafka image, for 3.x."
        )
    return version


# -- the cache --------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(directory: Path, version: str, jars: Sequence[str]) -> None:
    entries = []
    for name in jars:
        path = directory / "libs" / name
        entries.append({"name": name, "size": path.stat().st_size, "sha256": _sha256(path)})
    manifest = {"format": MANIFEST_FORMAT, "version": version, "jars": entries}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def load_installation(directory: Path, version: str) -> Installation | None:
    """The verified installation in ``directory``; None if absent; CorruptCache if broken.

    Every run checks each jar's presence and size; the sha256 of each jar is checked
    when its size or modification time differs from what the last full check saw
    (``verified.json``), so a warm start does not hash 45 MB but a changed jar is caught.
    """
    manifest_path = directory / MANIFEST
    if not directory.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("version") != version:
            raise CorruptCache(f"{manifest_path} is not a version {version} manifest")
        entries = manifest["jars"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptCache(f"{manifest_path} is missing or unreadable ({exc})") from None
    verified_path = directory / "verified.json"
    try:
        verified: dict[str, list[int]] = json.loads(verified_path.read_text())
    except (OSError, ValueError):
        verified = {}
    jars = []
    changed = False
    for entry in entries:
        path = directory / "libs" / entry["name"]
        try:
            stat = path.stat()
        except OSError:
            raise CorruptCache(f"{path} is missing") from None
        if stat.st_size != entry["size"]:
            raise CorruptCache(f"{path} has {stat.st_size} bytes, not {entry['size']}")
        if verified.get(entry["name"]) != [stat.st_size, stat.st_mtime_ns]:
            if _sha256(path) != entry["sha256"]:
                raise CorruptCache(f"{path} does not match its sha256 in {manifest_path}")
            verified[entry["name"]] = [stat.st_size, stat.st_mtime_ns]
            changed = True
        jars.append(path)
    if not jars:
        raise CorruptCache(f"{manifest_path} lists no jars")
    if changed:
        tmp = verified_path.with_name(f".verified-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps(verified))
        tmp.replace(verified_path)
    return Installation(version, directory, tuple(jars))


def provision(
    version: str, cache: Path, report: Progress | None = None, timeout: float = FETCH_TIMEOUT
) -> Installation:
    """The cached installation of ``version``, fetched through Maven first if need be."""
    version = check_version(version)
    directory = cache / version
    try:
        found = load_installation(directory, version)
    except CorruptCache:
        found = None  # fetched again below, under the lock
    if found is not None:
        return found
    report = report or _stderr
    cache.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cache / f".{version}.lock"), timeout=timeout)
    try:
        with lock:
            try:
                found = load_installation(directory, version)
            except CorruptCache as exc:
                report(f"kafka-patterns: the cached Apache Kafka {version} is damaged ({exc}); "
                       "fetching it again.")
                _discard(directory)
                found = None
            if found is not None:
                return found  # another process fetched it while we waited
            for stale in cache.glob(f".tmp-{version}-*"):
                shutil.rmtree(stale, ignore_errors=True)  # a killed fetch's; we hold the lock
            _fetch_into(cache, version, report, timeout)
            installation = load_installation(directory, version)
    except Timeout:
        raise BackendUnavailable(
            f"another process has been fetching Apache Kafka {version} into {cache} for "
            f"over {timeout:g} s. If none is, delete {cache / f'.{version}.lock'}."
        ) from None
    if installation is None:  # pragma: no cover - _fetch_into renamed it into place
        raise BackendUnavailable(f"Apache Kafka {version} is not in {directory} after fetching")
    return installation


def _discard(directory: Path) -> None:
    """Move a damaged version aside (atomically), then delete it."""
    if not directory.exists():
        return
    trash = directory.with_name(f".trash-{directory.name}-{uuid.uuid4().hex[:8]}")
    directory.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)


def _fetch_into(cache: Path, version: str, report: Progress, timeout: float) -> None:
    """Fetch ``version`` into a temp dir in ``cache``, verify it, rename it into place."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BackendUnavailable(
            f"Apache Kafka {version} is not in the cache ({cache}) and there is no `mvn` on "
            f"PATH to fetch it. {MVN_HINT}"
        )
    work = cache / f".tmp-{version}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    started = time.monotonic()
    try:
        report(f"kafka-patterns: fetching Apache Kafka {version} ({GROUP}:{ARTIFACT}) and its "
               f"dependencies with Maven into {cache / version}; once only, it takes a while.")
        libs = work / "libs"
        deadline = started + timeout
        _write_pom(work / "pom.xml", [(GROUP, ARTIFACT, version)])
        downloads = _mvn(mvn, work, ["dependency:copy-dependencies", "-DincludeScope=runtime",
                                     f"-DoutputDirectory={libs}"], version, report, deadline)
        binding = _slf4j_binding(libs)
        if binding is not None:
            # Kafka's poms name log4j2 but no slf4j binding (the distribution adds one);
            # without it the broker would log nothing.
            _write_pom(work / "pom.xml", [binding])
            _mvn(mvn, work, ["dependency:copy-dependencies", "-DexcludeTransitive=true",
                             f"-DoutputDirectory={libs}"], version, report, deadline, downloads)
        jars = sorted(path.name for path in libs.glob("*.jar"))
        if not any(name.startswith(f"{ARTIFACT}-{version}") for name in jars):
            raise BackendUnavailable(
                f"Maven reported success but {libs} has no {ARTIFACT}-{version}.jar")
        _write_manifest(work, version, jars)
        (work / "pom.xml").unlink()
        work.rename(cache / version)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = sum(path.stat().st_size for path in (cache / version / "libs").glob("*.jar"))
    report(f"kafka-patterns: Apache Kafka {version} is cached: {len(jars)} jars, "
           f"{size / 1e6:.0f} MB in {time.monotonic() - started:.1f} s.")


def _write_pom(path: Path, dependencies: Sequence[tuple[str, str, str]]) -> None:
    deps = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>"
        for g, a, v in dependencies
    )
    path.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion>"
        "<groupId>pytest-kafka-patterns</groupId><artifactId>kafka-runtime</artifactId>"
        "<version>0</version><packaging>pom</packaging>"
        f"<dependencies>{deps}</dependencies></project>\n"
    )


def _slf4j_binding(libs: Path) -> tuple[str, str, str] | None:
    """The log4j2 binding for the slf4j-api among ``libs``, unless one is there already."""
    names = [path.name for path in libs.glob("*.jar")]
    if any(name.startswith(("log4j-slf4j", "slf4j-reload4j", "slf4j-simple")) for name in names):
        return None
    log4j = [m.group(1) for n in names if (m := re.match(r"log4j-api-(\d[\w.\-]*)\.jar$", n))]
    slf4j = [m.group(1) for n in names if (m := re.match(r"slf4j-api-(\d[\w.\-]*)\.jar$", n))]
    if not log4j or not slf4j:
        return None
    artifact = "log4j-slf4j2-impl" if slf4j[0].startswith("2.") else "log4j-slf4j-impl"
    return ("org.apache.logging.log4j", artifact, log4j[0])


def _mvn(
    mvn: str, work: Path, goals: Sequence[str], version: str, report: Progress, deadline: float,
    downloads: int = 0,
) -> int:
    """Run mvn in ``work``, reporting each download (numbered on from ``downloads``);
    return the count so far, or raise with the cause if it fails."""
    command = [mvn, "-B", "-Dstyle.color=never", *goals]
    proc = subprocess.Popen(
        command, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, preexec_fn=child_setup,
    )
    timer = threading.Timer(max(deadline - time.monotonic(), 0.1), _kill_group, (proc.pid,))
    timer.start()
    lines: list[str] = []
    try:
        for raw in proc.stdout or ():
            line = raw.decode(errors="replace").rstrip()
            lines.append(line)
            match = _DOWNLOADED.search(line)
            if match and match.group(1).endswith(".jar"):
                downloads += 1
                report(f"  [{downloads}] {match.group(1).rsplit('/', 1)[-1]} ({match.group(2)})")
        code = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            _kill_group(proc.pid)
            proc.wait()
    if code == 0:
        return downloads
    output = "\n".join(lines)
    if time.monotonic() >= deadline:
        raise BackendUnavailable(
            f"fetching Apache Kafka {version} with Maven took over {FETCH_TIMEOUT:g} s and was "
            f"stopped; its last output:\n{log_tail(output)}"
        )
    missing = _NOT_FOUND.search(output)
    artifact, wanted = (
        (missing.group(1) or missing.group(3), missing.group(2) or missing.group(4))
        if missing else ("", ""))
    if artifact == f"{GROUP}:{ARTIFACT}":
        known = maven_versions(mvn, work)
        offer = (f" Versions Maven knows: {', '.join(known)}." if known else
                 " Maven could not list the versions it knows either.")
        raise ConfigError(
            f"Apache Kafka {wanted} ({GROUP}:{ARTIFACT}:{wanted}) does not resolve through "
            f"Maven.{offer} Choose one with --kafka-version."
        )
    raise BackendUnavailable(
        f"Maven could not fetch Apache Kafka {version} (`{shlex.join(command)}` in {work} "
        f"exited with code {code}). Offline, or a mirror/proxy missing from "
        f"~/.m2/settings.xml? Its last output:\n{log_tail(output)}\n{MVN_HINT}"
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def maven_versions(mvn: str, work: Path, timeout: float = 60.0) -> list[str]:
    """The 4.x versions of Kafka Maven's repositories list, newest last; [] if unknown.

    Asks Maven to refresh ``maven-metadata`` for the artifact (a pom-only "RELEASE"
    lookup), then reads the copies in the local repository.
    """
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            [mvn, "-B", "-q", "-Dstyle.color=never", "dependency:get",
             f"-Dartifact={GROUP}:{ARTIFACT}:RELEASE:pom", "-Dtransitive=false"],
            cwd=work, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
            check=False, preexec_fn=child_setup,
        )
    versions: set[str] = set()
    folder = _local_repository() / GROUP.replace(".", "/") / ARTIFACT
    for metadata in folder.glob("maven-metadata*.xml"):
        try:
            tree = ElementTree.parse(metadata)
        except (OSError, ElementTree.ParseError):
            continue
        versions.update(node.text or "" for node in tree.iter("version"))
    usable = [v for v in versions if _VERSION.match(v) and int(v.split(".")[0]) >= 4]
    return sorted(usable, key=lambda v: [int(p) if p.isdigit() else -1
                                         for p in re.split(r"[.\-]", v)])


def _local_repository() -> Path:
    """Maven's local repository: -Dmaven.repo.local in MAVEN_OPTS, settings.xml, default."""
    match = re.search(r"-Dmaven\.repo\.local=(\S+)", os.environ.get("MAVEN_OPTS", ""))
    if match:
        return Path(match.group(1)).expanduser()
    settings = Path.home() / ".m2" / "settings.xml"
    try:
        text = settings.read_text()
    except OSError:
        text = ""
    match = re.search(r"<localRepository>\s*([^<]+?)\s*</localRepository>", text)
    if match:
        return Path(match.group(1).replace("${user.home}", str(Path.home()))).expanduser()
    return Path.home() / ".m2" / "repository"


# -- the JVM ----------------------------------------------------------------------------


def _heap_flags() -> list[str]:
    """``KAFKA_HEAP_OPTS`` when set (as Kafka's scripts read it), else a small heap."""
    user = os.environ.get("KAFKA_HEAP_OPTS", "").strip()
    return shlex.split(user) if user else list(HEAP_FLAGS)


def _cds_archive(installation: Installation, java: str, java_home: Path | None,
                 flags: Sequence[str]) -> Path:
    """Where the class-data archive for this Kafka, this JVM and these flags lives."""
    try:
        release = (java_home / "release").read_text() if java_home else ""
    except OSError:
        release = ""
    identity = [os.path.realpath(java), release, str(os.stat(os.path.realpath(java)).st_mtime_ns),
                *flags]
    key = hashlib.sha256("\0".join(identity).encode()).hexdigest()[:16]
    return installation.root / "cds" / f"{key}.jsa"


def _remove_dead_dumps(directory: Path) -> None:
    """Delete archives that a killed broker left half-written (``.<key>-<pid>-<id>.jsa``)."""
    for dump in directory.glob(".*.jsa"):
        match = re.search(r"-(\d+)-[0-9a-f]+\.jsa$", dump.name)
        if match and not psutil.pid_exists(int(match.group(1))):
            dump.unlink(missing_ok=True)


def start_kafka(
    settings: KafkaSettings,
    workdir: Path,
    *,
    jvm_flags: Sequence[str] = JVM_FLAGS,
    class_archive: bool = True,
) -> Running[KafkaBroker]:
    """Start stock Apache Kafka ``settings.version`` as one KRaft node under ``workdir``.

    ``jvm_flags`` and ``class_archive`` (AppCDS) are for measuring start-up; the defaults
    are what was measured fastest.
    """
    version = check_version(settings.version)
    java, java_home, _major = require_java(MIN_JAVA, f"Apache Kafka {version}")
    installation = provision(version, cache_root(settings))
    timeout = settings.startup_timeout or DEFAULT_TIMEOUT

    flags = [*_heap_flags(), *jvm_flags]
    archive = _cds_archive(installation, java, java_home, flags)
    dump: Path | None = None
    if class_archive and archive.is_file():
        flags.append(f"-XX:SharedArchiveFile={archive}")
    elif class_archive:
        # No archive for this JVM yet: this run's broker writes one when it exits.
        archive.parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_dumps(archive.parent)
        dump = archive.with_name(f".{archive.stem}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsa")
        flags.append(f"-XX:ArchiveClassesAtExit={dump}")
    base = [java, *flags, "-cp", installation.classpath]
    launch = Launch(
        server=[*base, "-Dlog4j2.configurationFile=log4j2.properties", SERVER_MAIN],
        storage=[java, *_heap_flags(), *JVM_FLAGS, "-cp", installation.classpath,
                 "-Dlog4j2.configurationFile=log4j2.properties", STORAGE_MAIN],
        exit_hint=(f"Kafka {version}'s jars are in {installation.root}; delete that directory "
                  "to fetch them again."),
        stop_timeout=30.0 if dump is not None else 10.0,
        log_config=LOG_CONFIG,
    )

    def prepare(launch: Launch, _config: Path, log_dir: Path, timeout: float) -> None:
        copy_storage_template(storage_template(launch, installation.root, timeout), log_dir)

    try:
        process, elapsed, port = start_node(launch, workdir, timeout, prepare)
    except BaseException:
        if dump is not None:
            dump.unlink(missing_ok=True)  # a JVM that exits early still writes its archive
        raise

    def stop() -> None:
        process.stop()
        if dump is not None and dump.is_file():
            if dump.stat().st_size > 0 and not archive.exists():
                dump.replace(archive)
            else:
                dump.unlink(missing_ok=True)

    return Running(broker_info(port, NAME, version, elapsed), stop, process)


def node_launch(settings: KafkaSettings) -> tuple[Launch, Installation]:
    """How to run one more node of ``settings.version`` (a cluster's), and its jars.

    The same JVM flags as :func:`start_kafka`, so the class-data archive a single broker
    wrote is used when there is one; a node never writes one (it may be SIGKILLed).
    """
    version = check_version(settings.version)
    java, java_home, _major = require_java(MIN_JAVA, f"Apache Kafka {version}")
    installation = provision(version, cache_root(settings))
    flags = [*_heap_flags(), *JVM_FLAGS]
    archive = _cds_archive(installation, java, java_home, flags)
    if archive.is_file():
        flags.append(f"-XX:SharedArchiveFile={archive}")
    launch = Launch(
        server=[java, *flags, "-cp", installation.classpath,
                "-Dlog4j2.configurationFile=log4j2.properties", SERVER_MAIN],
        storage=[java, *_heap_flags(), *JVM_FLAGS, "-cp", installation.classpath,
                 "-Dlog4j2.configurationFile=log4j2.properties", STORAGE_MAIN],
        exit_hint=(f"Kafka {version}'s jars are in {installation.root}; delete that directory "
                   "to fetch them again."),
        log_config=LOG_CONFIG,
    )
    return launch, installation


def provision_for(settings: KafkaSettings, report: Progress | None = None) -> Installation:
    """Fetch ``settings.version`` into the cache now (the plugin calls this before tests run)."""
    return provision(settings.version, cache_root(settings), report)
