"""How fast the checks that must answer "at once" answer: the timings that unit tests
used to assert (``< 0.1 s``), which on a busy machine made them flaky.

    python benchmarks/quick_checks.py [--repeat 50]

* ``docker_available()`` with no socket file, and with a socket file nobody listens on
  (the unit tests check that neither waits for the timeout);
* the local backend's distribution check (a few ``stat()`` calls; the unit tests check
  that it starts no process);
* a round trip through the fault proxy, without latency (the unit tests check it is
  faster than with latency, and again after the latency is reset);
* ``kafka-patterns up`` on a taken port, which exits 2 at once (the unit test checks it
  starts nothing);
* ``eventually(timeout=0.2)`` on a check that always fails: how far past its timeout it
  returns (the unit test checks only that it waited the timeout);
* the apache backend's provisioning without ``mvn`` (the unit test checks the message).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import socketserver
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pytest_kafka_patterns.backends import docker, local
from pytest_kafka_patterns.config import KafkaSettings
from pytest_kafka_patterns.faults.proxy import TcpProxy


def samples(action: Callable[[], object], repeat: int) -> list[float]:
    taken = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        taken.append(time.perf_counter() - started)
    return taken


def row(name: str, taken: list[float]) -> str:
    median, low, high = statistics.median(taken), min(taken), max(taken)
    return f"  {name:<40} {median * 1000:>8.3f} {low * 1000:>8.3f} {high * 1000:>8.3f} ms"


def docker_checks(repeat: int, directory: str) -> list[str]:
    absent = os.path.join(directory, "absent.sock")
    closed = os.path.join(directory, "closed.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(closed)
    listener.close()
    rows = []
    for name, path in (("docker_available, no socket", absent),
                       ("docker_available, closed socket", closed)):
        os.environ["DOCKER_HOST"] = f"unix://{path}"

        def check() -> None:
            docker._available.clear()  # measure the check, not its cache
            docker.docker_available()

        rows.append(row(name, samples(check, repeat)))
    return rows


def local_check(repeat: int, root: Path) -> str:
    home = root / "kafka"
    (home / "bin").mkdir(parents=True)
    (home / "libs").mkdir()
    for script in (local.SERVER_SCRIPT, local.STORAGE_SCRIPT):
        (home / script).write_text("#!/bin/sh\nexit 0\n")
        (home / script).chmod(0o755)
    (home / "libs" / "kafka_2.13-3.9.1.jar").touch()
    java_home = root / "jdk"
    (java_home / "bin").mkdir(parents=True)
    (java_home / "bin" / "java").write_text("#!/bin/sh\nexit 0\n")
    (java_home / "bin" / "java").chmod(0o755)
    (java_home / "release").write_text('JAVA_VERSION="17.0.15"\n')
    settings = KafkaSettings(kafka_home=home)
    environ = {"JAVA_HOME": str(java_home)}
    return row("local.check_distribution",
               samples(lambda: local.check_distribution(settings, environ), repeat))


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


def proxy_round_trip(repeat: int) -> str:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = TcpProxy("127.0.0.1", server.server_address[1])
    proxy.start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            def round_trip() -> None:
                sock.sendall(b"ping")
                received = b""
                while len(received) < 4:
                    received += sock.recv(4 - len(received))

            return row("fault proxy round trip, no latency", samples(round_trip, repeat))
    finally:
        proxy.stop()
        server.shutdown()
        server.server_close()


def cli_taken_port(repeat: int) -> str:
    from pytest_kafka_patterns import cli

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            taken = samples(lambda: cli.main(["up", "--kafka-port", str(port), "--no-redis"]),
                            repeat)
    finally:
        holder.close()
    return row("kafka-patterns up, port taken", taken)


def eventually_overshoot(repeat: int) -> str:
    from pytest_kafka_patterns.assertions import eventually

    def failing() -> None:
        raise AssertionError("never")

    def wait() -> None:
        with contextlib.suppress(AssertionError):
            eventually(failing, timeout=0.2, interval=0.02)

    return row("eventually(timeout=0.2) - 0.2 s", [t - 0.2 for t in samples(wait, repeat)])


def apache_without_mvn(repeat: int, root: Path) -> str:
    from pytest_kafka_patterns.backends import apache
    from pytest_kafka_patterns.errors import BackendUnavailable

    saved = os.environ["PATH"]
    os.environ["PATH"] = str(root / "nothing-here")

    def provision() -> None:
        with contextlib.suppress(BackendUnavailable):
            apache.provision("4.4.0", root / "cache", lambda line: None)

    try:
        return row("apache.provision, no mvn", samples(provision, repeat))
    finally:
        os.environ["PATH"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print(f"  {'':<40} {'median':>8} {'min':>8} {'max':>8}")
    saved = os.environ.get("DOCKER_HOST")
    with tempfile.TemporaryDirectory(prefix="kp-") as directory:
        try:
            for line in docker_checks(args.repeat, directory):
                print(line)
        finally:
            if saved is None:
                os.environ.pop("DOCKER_HOST", None)
            else:
                os.environ["DOCKER_HOST"] = saved
        print(local_check(args.repeat, Path(directory)))
    print(proxy_round_trip(args.repeat))
    print(cli_taken_port(min(args.repeat, 10)))
    print(eventually_overshoot(min(args.repeat, 10)))
    with tempfile.TemporaryDirectory(prefix="kp-") as directory:
        print(apache_without_mvn(args.repeat, Path(directory)))


if __name__ == "__main__":
    main()
