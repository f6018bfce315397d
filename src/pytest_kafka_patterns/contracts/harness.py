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

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..config import KafkaSettings
from ..process import _child_setup
from .model import Contract
from .runner import RunnerConfig

RUNNER_MODULE = "pytest_kafka_patterns.contracts"


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
    """One consumer incarnation: a child process group with its output in a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, label: str):
        self.label = label
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self.popen = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, preexec_fn=_child_setup,
        )
        self.pid = self.popen.pid

    def exit_code(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        """SIGKILL the whole process group (idempotent)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        if not self._log.closed:
            self._log.close()

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (the runner leaves its group cleanly), SIGKILL after ``timeout`` s."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


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
        env = dict(os.environ)
        env.update(config.to_env())
        # The child imports what this process imports (the project root, src layouts).
        paths = [p for p in sys.path if p and Path(p).is_dir()]
        env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), *paths])
        env["PYTHONUNBUFFERED"] = "1"
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

