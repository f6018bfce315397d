"""Run a contract's consumer in a subprocess that can be SIGKILLed, restarted, and is
always gone afterwards.

The consumer is either ``module:callable`` (run through
``python -m pytest_kafka_patterns.contracts``) or a command line; either way it
gets its settings (bootstrap servers, topic, group id, Redis URL, poison ids, crash
point...) as ``KAFKA_CONTRACT_*`` environment variables (:class:`~.runner.RunnerConfig`).
Children run in their own session with ``PR_SET_PDEATHSIG`` (they die with pytest even
on SIGKILL) and every :class:`ConsumerProcess` is killed by :meth:`Harness.close`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends.base import KafkaBroker
from ..config import KafkaSettings
from ..process import launch_process
from .model import Contract
from .runner import RunnerConfig

RUNNER_MODULE = "pytest_kafka_patterns.contracts"

#: Tansu (the embedded broker; its group coordinator is tansu-io/tansu commit 50e5666,
#: ``tansu-broker/src/coordinator/group/administrator.rs``) answers a JoinGroup that
#: carries a member id only after re-running it once a second (``sleep(1 s)``, l. 924-926)
#: until half the group's session has passed: never sooner than 1 s.
TANSU_JOIN_STEP_MS = 1000
#: Backends that run stock Kafka on the config :mod:`..backends.kraft` writes, whose
#: ``group.min.session.timeout.ms`` is 1 s. Kafka drops a member whose session ran out on
#: a timer and completes the replacement's join then: a crash restart waits the dead
#: member's session (3 s with the broker's defaults; the crash scenario took 3x the
#: others and warned), so the harness asks for the least the broker accepts.
KRAFT_BACKENDS = ("apache", "local", "cluster")
KRAFT_MIN_SESSION_MS = 1000


def contract_consumer_settings(broker: KafkaBroker) -> dict[str, Any]:
    """The group settings the harness gives a contract's consumers on ``broker``: its
    ``consumer_defaults``, with a session no longer than Tansu's join step on Tansu (the
    least the generated config accepts on stock Kafka, :data:`KRAFT_BACKENDS`), and
    auto-commit (for a consumer that uses it) as often as it heartbeats.

    Why the session is the join step (1 s, heartbeat 0.2 s) on Tansu: a crash scenario
    SIGKILLs a member, and Tansu evicts a silent member only when a request of another
    member comes in and finds it silent for longer than the session (``missed_heartbeat``,
    l. 1541-1620: there is no timer; the requester's own contact is refreshed first, so a
    live sole member is never evicted). The replacement's JoinGroup is held and re-run
    after 1 s; at that re-run the dead member has been silent for 1 s plus however long the
    replacement took to start. With a session of at most 1 s it is evicted then, its
    leadership goes with it (l. 452-457, 1551-1565), the replacement leads and assigns
    itself, and its SyncGroup is answered at once: a restart costs the one join step. With
    a longer session the dead member is still there at the re-run and stays leader; the
    replacement's SyncGroup as a follower waits in 1 s steps until 80 % of the session has
    passed and fails with REBALANCE_IN_PROGRESS (l. 1116-1126), and its rejoin is held
    another step: ~4 s a restart at 2 s. The cliff (1.2 s sessions restarted in ~1.1 s,
    1.5 s in ~4.1 s) sits at 1 s plus the replacement's start-up, which moves with the
    machine's load; at 1 s there is none. Shorter gains nothing: a join is held 1 s
    whatever the session.
    """
    settings = dict(broker.consumer_defaults)
    if broker.version.startswith("tansu"):
        settings["session_timeout_ms"] = TANSU_JOIN_STEP_MS
        # Five heartbeats a session, as the embedded defaults have (2000 / 300 ms, ~6):
        # in a group of two (the rebalance scenario) each member must show life each
        # session, and a member learns of a rebalance on its next heartbeat.
        settings["heartbeat_interval_ms"] = TANSU_JOIN_STEP_MS // 5
    elif broker.backend in KRAFT_BACKENDS:
        settings["session_timeout_ms"] = KRAFT_MIN_SESSION_MS
        settings["heartbeat_interval_ms"] = KRAFT_MIN_SESSION_MS // 5
    if "heartbeat_interval_ms" in settings:
        # kafka-python commits automatically every 5 s by default: the harness waits for
        # the group to commit to the end of the topic, so it would wait up to 5 s per
        # consumer. With this the commit comes on the consumer's next poll.
        settings.setdefault("auto_commit_interval_ms", settings["heartbeat_interval_ms"])
    return settings


def session_seconds(consumer_settings: Mapping[str, Any]) -> float:
    """The session timeout (seconds) in ``consumer_settings`` (the client default, 10 s,
    when it names none)."""
    return float(consumer_settings.get("session_timeout_ms", 10_000)) / 1000


def heartbeat_seconds(consumer_settings: Mapping[str, Any]) -> float:
    """The heartbeat interval (seconds) in ``consumer_settings`` (a third of the session
    when it names none, the clients' rule)."""
    default = session_seconds(consumer_settings) * 1000 / 3
    return float(consumer_settings.get("heartbeat_interval_ms", default)) / 1000


@dataclass
class HarnessEnv:
    """Where the scenarios run: the broker, Redis, a topic maker and a scratch directory."""

    bootstrap_servers: str
    redis_url: str
    create_topic: Callable[[str, int], str]
    workdir: Path
    consumer_defaults: Mapping[str, Any] = field(default_factory=dict)
    kafka_settings: KafkaSettings = field(default_factory=KafkaSettings)
    """The run's Kafka settings: a scenario that starts its own broker uses its Tansu."""


class ConsumerProcess:
    """One consumer incarnation: a supervised child process group
    (:func:`~..process.launch_process`) with its output in a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, label: str):
        self.label = label
        self.log_path = log_path
        self._process = launch_process(label, command, log_path=log_path, env=env)
        self.pid = self._process.pid

    def exit_code(self) -> int | None:
        return self._process.exit_code()

    def kill(self) -> None:
        """SIGKILL the whole process group (idempotent)."""
        self._process.kill()

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (the runner leaves its group cleanly), SIGKILL after ``timeout`` s."""
        self._process.stop(timeout)
        self._process.kill()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def child_env() -> dict[str, str]:
    """The environment a consumer runs in: this one, with this process's import path."""
    env = dict(os.environ)
    # The child imports what this process imports (the project root, src layouts).
    paths = [p for p in sys.path if p and Path(p).is_dir()]
    env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), *paths])
    env["PYTHONUNBUFFERED"] = "1"
    return env


#: Seconds the check that a consumer's callable imports may take.
IMPORT_CHECK_TIMEOUT = 60.0
_IMPORT_PROBLEMS: dict[str, str | None] = {}


def callable_problem(spec: str) -> str | None:
    """Why ``module:name`` cannot be loaded where the consumer will run (a child with
    :func:`child_env`), in one line; ``None`` when it loads. Checked once per process.

    A consumer that cannot even be imported would otherwise look, scenario after
    scenario, like a consumer that broke its guarantee ("N of N events without an
    effect")."""
    if spec not in _IMPORT_PROBLEMS:
        probe = ("import sys\nfrom pytest_kafka_patterns.contracts.runner import "
                 "load_callable\nload_callable(sys.argv[1])")
        try:
            done = subprocess.run([sys.executable, "-c", probe, spec], env=child_env(),
                                  capture_output=True, text=True,
                                  timeout=IMPORT_CHECK_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            _IMPORT_PROBLEMS[spec] = f"importing it took over {IMPORT_CHECK_TIMEOUT:g} s"
        else:
            lines = done.stderr.strip().splitlines()
            _IMPORT_PROBLEMS[spec] = (lines[-1] if lines else f"exit code {done.returncode}"
                                      ) if done.returncode else None
    return _IMPORT_PROBLEMS[spec]


class Harness:
    """Starts a contract's consumer as often as a scenario needs; :meth:`close` kills all."""

    def __init__(self, contract: Contract, workdir: Path):
        self.contract = contract
        self.workdir = workdir
        self.processes: list[ConsumerProcess] = []
        workdir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        if self.contract.command:
            return list(self.contract.command)
        if not self.contract.callable:
            raise ValueError(f"contract {self.contract.name!r} names no consumer")
        return [sys.executable, "-m", RUNNER_MODULE, self.contract.callable]

    def start(self, config: RunnerConfig, label: str) -> ConsumerProcess:
        env = child_env()
        env.update(config.to_env())
        process = ConsumerProcess(
            self.command(), env, self.workdir / f"consumer-{len(self.processes)}.log", label
        )
        self.processes.append(process)
        return process

    def close(self) -> None:
        """Kill every consumer this harness started (safe to call more than once)."""
        for process in self.processes:
            process.kill()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

