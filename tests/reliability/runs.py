"""Helpers to start an inner pytest run, stop it in some way, and check what it left.

Shared by ``tests/reliability`` and ``tests/integration/test_lifecycle.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from pytest_kafka_patterns.ports import is_listening
from pytest_kafka_patterns.probes import wait_until

#: Inner pytest runs get these, so they use the embedded broker and a redis process
#: whatever the outer run uses (the docker job sets other defaults in the environment).
LOCAL_BACKENDS = ("--kafka-backend=embedded", "--redis-backend=process")

#: An inner test that holds a broker and a Redis until the outer test writes ``go``.
#: Each one reports, in ``seen-<pid>.json``, which process it runs in and which process
#: started the shared broker (under xdist).
HOLDING_TEST = """
import json, os, pathlib, time
import pytest
from pytest_kafka_patterns import fixtures
from pytest_kafka_patterns.probes import kafka_api_versions, redis_ping

HERE = pathlib.Path({here!r})

@pytest.mark.parametrize("n", range({count}))
def test_hold(n, kafka_broker, redis_server, tmp_path_factory):
    owner = os.getpid()
    state = fixtures.run_root(tmp_path_factory) / "kafka_broker.json"
    if state.exists():
        owner = json.loads(state.read_text())["owner"]
        owner = owner["pid"] if isinstance(owner, dict) else owner
    ports = [int(kafka_broker.bootstrap_servers.rpartition(":")[2]), redis_server.port]
    (HERE / f"seen-{{os.getpid()}}.json").write_text(json.dumps({{
        "pid": os.getpid(), "worker": fixtures.worker_id(), "owner": owner,
        "ports": ports, "bootstrap": kafka_broker.bootstrap_servers}}))
    deadline = time.monotonic() + {hold}
    while not (HERE / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    # The services are still ours and still answer (another run did not touch them).
    assert kafka_api_versions("127.0.0.1", ports[0]), "the broker is gone"
    assert redis_ping("127.0.0.1", ports[1]), "redis is gone"
    assert not os.environ.get("KP_INNER_FAIL"), "a failing test"
"""


def processes_marked(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``KP_TEST_MARK=mark``."""
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if (
                process.environ().get("KP_TEST_MARK") == mark
                and process.pid != os.getpid()
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


class ProcessMark:
    """A marker put in the environment, so we can find every process a run started."""

    def __init__(self) -> None:
        self.mark = uuid.uuid4().hex

    def alive(self) -> list[psutil.Process]:
        return processes_marked(self.mark)


@dataclass
class InnerRun:
    """An inner pytest run in ``here``, started by :func:`start_run`."""

    process: subprocess.Popen[bytes]
    here: Path
    log: Path

    def seen(self) -> list[dict[str, object]]:
        """What each inner test reported (one entry per test process)."""
        found = []
        for path in self.here.glob("seen-*.json"):
            try:
                found.append(json.loads(path.read_text()))
            except ValueError:
                continue  # being written
        return found

    def ports(self) -> list[int]:
        return sorted({int(port) for s in self.seen() for port in s["ports"]})  # type: ignore[attr-defined]

    def go(self) -> None:
        """Let the held tests finish."""
        (self.here / "go").write_text("go")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_seen(self, processes: int, timeout: float = 90.0) -> list[dict[str, object]]:
        """Wait until ``processes`` distinct processes are inside a held test."""

        def ready() -> bool:
            return len(self.seen()) >= processes or self.process.poll() is not None

        wait_until(ready, timeout, interval=0.05)
        if len(self.seen()) < processes:
            self.process.kill()
            self.process.wait()
            pytest.fail(
                f"inner run did not get {processes} test processes going within {timeout} s:\n"
                + self.output()[-3000:]
            )
        return self.seen()


def start_run(
    here: Path,
    *args: str,
    count: int = 1,
    hold: float = 120.0,
    env: Mapping[str, str] | None = None,
    new_session: bool = False,
    test_text: str = HOLDING_TEST,
) -> InnerRun:
    """Start ``pytest`` on :data:`HOLDING_TEST` (``count`` tests) in ``here``.

    ``test_text`` replaces it: a test that holds other services, formatted with the same
    ``here``, ``count`` and ``hold`` and reporting the same ``seen-<pid>.json``.
    """
    here.mkdir(parents=True, exist_ok=True)
    test_file = here / "test_hold.py"
    test_file.write_text(test_text.format(here=str(here), count=count, hold=hold))
    log = here / "output.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", str(test_file), "-p", "no:cacheprovider",
             *LOCAL_BACKENDS, "-q", "-W", "ignore::DeprecationWarning", *args],
            cwd=here, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, start_new_session=new_session,
            preexec_fn=_default_sigint,
        )
    return InnerRun(process, here, log)


def _default_sigint() -> None:
    """In the inner run: SIGINT back to its default, so Python turns it into
    KeyboardInterrupt. A pytest started in the background by a non-interactive shell
    (``cmd &``, as a CI script may be) inherits SIGINT ignored, and Python then installs
    no handler: the SIGINT ending would test nothing and hold the run for its hold time."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def gone_within(
    mark_alive: Callable[[], list[psutil.Process]], ports: list[int], timeout: float
) -> float | None:
    """Seconds until no marked process is left and no port listens; None after ``timeout``."""

    def gone() -> bool:
        return not mark_alive() and not any(is_listening("127.0.0.1", p) for p in ports)

    return wait_until(gone, timeout, interval=0.1)


def assert_gone(
    mark_alive: Callable[[], list[psutil.Process]], ports: list[int], timeout: float = 30.0
) -> float:
    """Fail unless every marked process is gone and no port listens within ``timeout``."""
    took = gone_within(mark_alive, ports, timeout)
    if took is None:
        names = []
        for process in mark_alive():
            try:
                names.append(f"{process.pid} {' '.join(process.cmdline())[:80]}")
            except psutil.Error:
                continue
        pytest.fail(f"left running {timeout} s after the run ended: {names}, ports {ports}")
    return took
