"""A real multi-broker Apache Kafka cluster on loopback, whose brokers a test can stop,
kill and restart.

``size`` (default 3) nodes of stock Apache Kafka (the ``apache`` backend's jars and JVM
flags), each a *combined* broker+controller KRaft node with its own ports and temp dir,
all of them voters of one static controller quorum (``controller.quorum.voters``).

Why combined nodes and not a dedicated controller quorum: three JVMs instead of six on
a small CI machine, and the faults a test wants to see (a partition leader dies, the ISR
shrinks) are the same. The price is that a node is both a broker and a quorum voter. The
quorum is KRaft's Raft (KIP-595): it needs a majority of voters, so with 3 nodes one may
be stopped or killed and the other 2 elect a controller and carry on; with 2 of 3 down
the surviving broker keeps serving with the metadata it last had, but nothing in the
cluster's metadata changes (no leader election, no ISR change, no new topic) until a
node comes back.

Replication is set as a production cluster would be for durability: every topic (and
``__consumer_offsets``, ``__transaction_state``) has ``size`` replicas and
``min.insync.replicas`` is ``size - 1``, so an ``acks=all`` write survives one broker
failure and is refused with ``NotEnoughReplicas`` once fewer than ``size - 1`` replicas
are in sync (https://kafka.apache.org/documentation/#topicconfigs_min.insync.replicas,
https://kafka.apache.org/documentation/#producerconfigs_acks).

Every broker is reached through two TCP proxies of its own (threads of this process,
:class:`~pytest_kafka_patterns.faults.proxy.TcpProxy`): its listeners are bound on
ports of their own, but it *advertises* its client proxy's address (so clients and the
other brokers' replica fetchers connect through it) and the quorum's voters are the
controller proxies' addresses (so Raft and the brokers' heartbeats go through them). The
proxies tell a broker's own connections from a client's by the process that opened
them, so :meth:`KafkaCluster.isolate` can cut one broker off from the others (and from
clients, or not) and :meth:`KafkaCluster.heal` can reconnect it, as a network partition
would.

Every control call returns only once the cluster shows the new state, as seen in the
Metadata replies of every running broker (:func:`~pytest_kafka_patterns.probes.kafka_metadata`),
and raises :class:`ClusterStateError` naming the broker and the state it waited for when
the deadline passes. Processes are supervised like the single broker's
(:func:`~pytest_kafka_patterns.process.start_process`: own session, ``PR_SET_PDEATHSIG``,
a pidfile for the reaper), so none outlives the test run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..capabilities import APACHE_KAFKA
from ..config import KafkaSettings
from ..errors import KafkaPatternsError, PortTaken, ServiceStartError, log_tail
from ..faults.proxy import TcpProxy
from ..ports import LOOPBACK, free_port, is_listening
from ..probes import (
    Metadata,
    PartitionState,
    kafka_api_versions,
    kafka_metadata,
    kafka_topics_metadata,
)
from ..process import ManagedProcess, listens_on, start_process
from ..waiting import poll
from .apache import DEFAULT_TIMEOUT, node_launch
from .base import KafkaBroker, Running
from .kraft import (
    KAFKA_CONSUMER_DEFAULTS,
    PORT_TAKEN,
    Launch,
    cluster_id,
    copy_storage_template,
    node_settings,
    render_properties,
    storage_template,
)

#: How many brokers a cluster has unless asked otherwise.
DEFAULT_SIZE = 3
#: Seconds a control call (stop, kill, start, wait_for_isr...) waits for the new state.
CONTROL_TIMEOUT = 30.0
#: A killed broker is fenced (its partitions led elsewhere, it leaves every ISR) once the
#: controller has had no heartbeat from it for this long; Kafka's default is 9 s.
#: Heartbeats every 0.5 s leave six chances per session on a busy machine.
BROKER_SESSION_TIMEOUT_MS = 3000
BROKER_HEARTBEAT_INTERVAL_MS = 500


class ClusterStateError(KafkaPatternsError):
    """The cluster did not reach the state a control call waited for in time."""


def cluster_settings(
    node_id: int,
    ports: Sequence[tuple[int, int]],
    log_dir: Path | str,
    advertised: Sequence[tuple[int, int]] | None = None,
) -> dict[str, str]:
    """``server.properties`` settings for node ``node_id`` (1-based) of a cluster.

    ``ports`` holds each node's (PLAINTEXT port, CONTROLLER port) its listeners bind,
    node 1 first; ``advertised`` the (PLAINTEXT, CONTROLLER) ports the others reach it
    at (its proxies'; default: ``ports``): the advertised listener and the quorum's
    voters. The single broker's settings (fast groups: :func:`.kraft.node_settings`)
    with every node a voter, ``len(ports)`` replicas everywhere and
    ``min.insync.replicas`` one less.
    """
    size = len(ports)
    reached = list(advertised or ports)
    port, controller_port = ports[node_id - 1]
    replicas, min_isr = str(size), str(max(1, size - 1))
    settings = node_settings(port, controller_port, log_dir)
    settings.update({
        "node.id": str(node_id),
        # The controller listener is advertised too: a Raft leader tells the other voters
        # its endpoint (KIP-853), the bound port unless advertised.
        "advertised.listeners": (f"PLAINTEXT://{LOOPBACK}:{reached[node_id - 1][0]},"
                                 f"CONTROLLER://{LOOPBACK}:{reached[node_id - 1][1]}"),
        "controller.quorum.voters": ",".join(
            f"{index}@{LOOPBACK}:{controller}"
            for index, (_, controller) in enumerate(reached, 1)
        ),
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        "broker.session.timeout.ms": str(BROKER_SESSION_TIMEOUT_MS),
        "broker.heartbeat.interval.ms": str(BROKER_HEARTBEAT_INTERVAL_MS),
    })
    return settings


@dataclass
class _Node:
    node_id: int
    port: int
    """Its PLAINTEXT listener (the proxy forwards there; probes ask it directly)."""
    controller_port: int
    directory: Path
    proxy: TcpProxy
    """Where clients and the other brokers reach its PLAINTEXT listener."""
    controller_proxy: TcpProxy
    """Where the other voters and every broker's heartbeats reach its CONTROLLER listener."""
    process: ManagedProcess | None = None
    wanted: bool = False
    """Started by us and not stopped or killed since: it should be running."""

    @property
    def config(self) -> Path:
        return self.directory / "server.properties"

    @property
    def address(self) -> str:
        return self.proxy.address

    @property
    def direct_address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def proxies(self) -> tuple[TcpProxy, TcpProxy]:
        return self.proxy, self.controller_proxy

    @property
    def source(self) -> str:
        """The proxies' label of this broker's own connections."""
        return f"broker-{self.node_id}"

    def alive(self) -> bool:
        return self.process is not None and self.process.running()


class KafkaCluster:
    """``size`` Apache Kafka brokers on 127.0.0.1 (ids 1..size), started by
    :func:`start_cluster`; each control call returns once the cluster shows its effect.

    Broker ids are Kafka's ``node.id``: the numbers :meth:`leader_of` and :meth:`isr_of`
    return. ``timeout`` arguments are seconds (default :data:`CONTROL_TIMEOUT`).
    """

    def __init__(
        self, nodes: list[_Node], launch: Launch, version: str, startup_timeout: float
    ) -> None:
        self._nodes = {node.node_id: node for node in nodes}
        self._isolated: dict[int, bool] = {}
        """Isolated broker id -> whether clients are cut off from it too."""
        self._launch = launch
        self.version = version
        self.startup_timeout = startup_timeout
        self.startup_seconds = 0.0
        """Seconds from the first JVM's start until every broker was in every broker's metadata."""

    # -- what is running ----------------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self._nodes)

    @property
    def broker_ids(self) -> list[int]:
        """Every broker's id, running or not: ``[1, 2, 3]``."""
        return sorted(self._nodes)

    @property
    def live_ids(self) -> list[int]:
        """Ids of the brokers whose process runs (stopped and killed ones are not)."""
        return [node_id for node_id, node in sorted(self._nodes.items()) if node.alive()]

    @property
    def isolated_ids(self) -> list[int]:
        """Ids of the brokers :meth:`isolate` cut off and :meth:`heal` has not reconnected."""
        return sorted(self._isolated)

    @property
    def reachable_ids(self) -> list[int]:
        """Running brokers that are not isolated: the ones whose view of the cluster counts."""
        return [node_id for node_id in self.live_ids if node_id not in self._isolated]

    @property
    def bootstrap_servers(self) -> str:
        """``"127.0.0.1:p1,127.0.0.1:p2,..."``: the advertised (proxy) addresses of the
        running brokers that clients can reach (not those isolated from clients)."""
        return ",".join(
            self._nodes[node_id].address for node_id in self.live_ids
            if not self._isolated.get(node_id, False)
        )

    def address_of(self, broker_id: int) -> str:
        """``"127.0.0.1:port"`` clients reach one broker at (its proxy; running or not)."""
        return self._node(broker_id).address

    def direct_address_of(self, broker_id: int) -> str:
        """``"127.0.0.1:port"`` of the broker's own listener, bypassing its proxy (and so
        any isolation); metadata it returns still names the proxies' addresses."""
        return self._node(broker_id).direct_address

    def pid_of(self, broker_id: int) -> int | None:
        """The JVM's pid of a running broker, else ``None``."""
        node = self._node(broker_id)
        return node.process.pid if node.process is not None and node.alive() else None

    def log_path(self, broker_id: int) -> Path:
        """Where the broker's output (Kafka's log) goes."""
        return self._node(broker_id).directory / f"kafka-{broker_id}.log"

    # -- control --------------------------------------------------------------------------

    def stop(self, broker_id: int, timeout: float | None = None) -> None:
        """Shut broker ``broker_id`` down cleanly (SIGTERM: controlled shutdown moves its
        leaderships first); return once it has exited and no running broker lists it.

        A broker that has not exited when ``timeout`` s have passed is SIGKILLed (a
        controlled shutdown without a controller majority can wait minutes); then, or
        when the others still list it, :class:`ClusterStateError` is raised.
        """
        node = self._running(broker_id, "stop")
        deadline = time.monotonic() + self._timeout(timeout)
        assert node.process is not None
        node.wanted = False
        node.process.stop(timeout=max(0.1, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            raise ClusterStateError(
                f"broker {broker_id} ({node.address}) did not shut down within "
                f"{self._timeout(timeout):g} s of SIGTERM and was SIGKILLed. "
                f"{self._quorum_note()} Its log: {self.log_path(broker_id)}"
            )
        self._wait_gone(broker_id, deadline, "stopped (SIGTERM)")

    def kill(self, broker_id: int, timeout: float | None = None) -> None:
        """SIGKILL broker ``broker_id`` (a crash: no controlled shutdown); return once no
        running broker lists it, i.e. the controller fenced it after
        ``broker.session.timeout.ms`` (:data:`BROKER_SESSION_TIMEOUT_MS`) and moved the
        leaderships it held. Raises :class:`ClusterStateError` after ``timeout`` s.
        """
        node = self._running(broker_id, "kill")
        deadline = time.monotonic() + self._timeout(timeout)
        assert node.process is not None
        node.wanted = False
        node.process.kill()
        self._wait_gone(broker_id, deadline, "killed (SIGKILL)")

    def start(self, broker_id: int, timeout: float | None = None) -> None:
        """Start a stopped or killed broker again: the same node id, ports and data dir.

        Returns once it answers on its port and every running broker (itself included)
        lists it. It can register only while a majority of the controller quorum runs
        (itself counted). Raises :class:`ClusterStateError` naming the broker otherwise.
        """
        node = self._node(broker_id)
        if node.alive():
            raise ClusterStateError(f"broker {broker_id} ({node.address}) is already running")
        deadline = time.monotonic() + self._timeout(timeout, self.startup_timeout)
        self._spawn(node, deadline - time.monotonic())
        self._wait_members(deadline, f"broker {broker_id} to rejoin after a restart")

    def restore(self, timeout: float | None = None) -> None:
        """Heal every isolated broker and start every broker that is not running; return
        once all are listed by all (and healed ones are back in their ISRs)."""
        deadline = time.monotonic() + self._timeout(timeout, self.startup_timeout)
        for broker_id in self.isolated_ids:
            self.heal(broker_id, timeout=max(0.1, deadline - time.monotonic()))
        down = [node for node in self._nodes.values() if not node.alive()]
        for node in down:
            self._spawn(node, deadline - time.monotonic())
        if down:
            ids = ", ".join(str(node.node_id) for node in down)
            self._wait_members(deadline, f"broker(s) {ids} to rejoin after a restart")

    def close(self) -> None:
        """SIGKILL every broker, then stop the proxies (idempotent). The data is thrown
        away, so no clean stop: a controlled shutdown without a controller majority would
        wait minutes."""
        for node in self._nodes.values():
            node.wanted = False
            if node.process is not None:
                node.process.kill()
        for node in self._nodes.values():
            for proxy in node.proxies:
                proxy.stop()

    # -- network partitions -----------------------------------------------------------

    def isolate(
        self, broker_id: int, *, clients: bool = True, timeout: float | None = None
    ) -> None:
        """Cut broker ``broker_id`` off from the other brokers - replication both ways,
        the controller quorum, heartbeats - and, with ``clients=True``, from clients too;
        its process keeps running. Return once the others have fenced it: no reachable
        broker lists it, leads no partition with it or counts it in an ISR.

        The others fence it when the active controller has had no heartbeat from it for
        ``broker.session.timeout.ms`` (:data:`BROKER_SESSION_TIMEOUT_MS`); if it was the
        active controller, the other voters first elect a new one (KIP-595's fetch
        timeout and election). The broker itself is not told: it keeps the metadata it had
        and, with ``clients=False``, still answers clients as the leader it believes it is
        (KIP-101's truncation undoes what it accepted alone once it rejoins: the acks=1
        loss). Raises :class:`ClusterStateError` after ``timeout`` s (default
        :data:`CONTROL_TIMEOUT`), e.g. when the others are no quorum majority.
        """
        node = self._running(broker_id, "isolate")
        if broker_id in self._isolated:
            raise ClusterStateError(f"broker {broker_id} is already isolated; heal() it first")
        deadline = time.monotonic() + self._timeout(timeout)
        self._isolated[broker_id] = clients
        self._apply_cuts()
        what = "cut off from clients and brokers" if clients else "cut off from the brokers"

        def fenced(views: dict[int, _View | None]) -> bool:
            return bool(views) and all(
                view is not None and broker_id not in view[0]
                and not _partitions_with(view[1], broker_id, in_isr=True)
                for view in views.values()
            )

        self._await_views(fenced, deadline, broker_id,
                          f"broker {broker_id} ({node.address}) was {what}",
                          "the reachable brokers still count it")

    def heal(self, broker_id: int, timeout: float | None = None) -> None:
        """Reconnect an isolated broker; return once every running broker lists it again
        and it is back in the ISR of every partition it replicates (after truncating what
        it accepted alone and catching up: KIP-101, KIP-279). A broker that was killed
        while isolated is only reconnected (start it to have it rejoin).
        Raises :class:`ClusterStateError` after ``timeout`` s."""
        node = self._node(broker_id)
        if broker_id not in self._isolated:
            raise ClusterStateError(f"broker {broker_id} is not isolated: nothing to heal")
        deadline = time.monotonic() + self._timeout(timeout)
        del self._isolated[broker_id]
        self._apply_cuts()
        if not node.alive():
            return
        self._wait_members(deadline, f"broker {broker_id} to rejoin after heal()")

        def back(views: dict[int, _View | None]) -> bool:
            return bool(views) and all(
                view is not None and not _partitions_with(view[1], broker_id, in_isr=False)
                for view in views.values()
            )

        self._await_views(back, deadline, broker_id,
                          f"broker {broker_id} ({node.address}) was healed",
                          "it is not back in every ISR of its partitions")

    def _await_views(self, done: Callable[[dict[int, _View | None]], bool], deadline: float,
                     broker_id: int, action: str, still: str) -> None:
        """Poll every reachable broker's view of the cluster until ``done`` holds; else
        raise :class:`ClusterStateError`: ``"<action>, but N s later <still>: <views>"``."""
        polled = poll(self._cluster_views, timeout=max(0.0, deadline - time.monotonic()),
                      interval=0.1, done=done)
        if not polled.done:
            raise ClusterStateError(
                f"{action}, but {polled.seconds:.1f} s later {still}: "
                f"{_cluster_views_text(polled.value, broker_id)}. {self._quorum_note()}"
            )

    def _apply_cuts(self) -> None:
        """Make every proxy cut what the isolated brokers need cut, and nothing else."""
        for node in self._nodes.values():
            everything = self._isolated.get(node.node_id, False)
            sources = {self._nodes[other].source for other in self._isolated
                       if other != node.node_id}
            if node.node_id in self._isolated:
                sources |= {other.source for other in self._nodes.values() if other is not node}
            for proxy in node.proxies:
                if proxy.is_cut and not everything:
                    proxy.restore()  # ends the source cuts too; set again below
                elif everything and not proxy.is_cut:
                    proxy.cut()
                for source in sorted(sources - proxy.cut_sources):
                    proxy.cut(source=source)
                for source in sorted(proxy.cut_sources - sources):
                    proxy.restore(source=source)

    def _identify(self, peer: tuple[str, int], _client_id: str | None) -> str | None:
        """The label of the broker whose JVM opened the connection from ``peer``; ``None``
        for anyone else (a client). The JVMs are this process's children, found by the
        config file on their command line: a JVM connects to the others before
        :meth:`_spawn` returns its process."""
        import psutil

        for child in psutil.Process().children():
            try:
                connections = child.net_connections(kind="tcp")
                if not any(conn.laddr and _same_address((conn.laddr.ip, conn.laddr.port), peer)
                           for conn in connections):
                    continue
                command = child.cmdline()
            except psutil.Error:
                continue
            for node in self._nodes.values():
                if str(node.config) in command:
                    return node.source
            return None
        return None

    def _cluster_views(self) -> dict[int, _View | None]:
        """Each reachable broker's (listed brokers, every topic's partitions)."""
        views: dict[int, _View | None] = {}
        for node_id in self.reachable_ids:
            node = self._nodes[node_id]
            metadata = kafka_metadata(LOOPBACK, node.port)
            topics = kafka_topics_metadata(LOOPBACK, node.port) if metadata else None
            views[node_id] = None if metadata is None or topics is None else (
                metadata.brokers, topics)
        return views

    def create_topic(
        self, name: str, partitions: int = 1, timeout: float | None = None,
        **config: str,
    ) -> str:
        """Create ``name`` with the cluster's default replication factor (``size``);
        return it once each partition has a leader and a full ISR on every running broker.

        ``config`` keys may use ``_`` for ``.`` (``min_insync_replicas="3"``). The
        replication factor is sent as -1, "the broker's ``default.replication.factor``"
        (CreateTopics v4+, KIP-464), so the broker's setting is what applies; kafka-python
        2 refuses -1 itself, and then ``size`` is sent.
        """
        from .._kafka_quiet import import_kafka

        import_kafka()  # first, quietly (see ._kafka_quiet)
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic
        from kafka.errors import IllegalArgumentError, KafkaError

        configs = {key.replace("_", "."): value for key, value in config.items()}
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            try:
                topic = NewTopic(name, partitions, -1, topic_configs=configs)
            except IllegalArgumentError:  # kafka-python 2
                topic = NewTopic(name, partitions, self.size, topic_configs=configs)
            admin.create_topics([topic])
        except KafkaError as exc:
            raise ClusterStateError(f"could not create topic {name!r}: {exc}") from exc
        finally:
            admin.close()
        for partition in range(partitions):
            self.wait_for_isr(name, partition, len(self.live_ids), timeout)
        return name

    # -- what the cluster says -------------------------------------------------------------

    def metadata(
        self, topic: str | None = None, *, reachable_only: bool = False
    ) -> dict[int, Metadata | None]:
        """Each running broker's own Metadata reply (``None``: it did not answer), asked
        on its own listener; ``reachable_only``: not the isolated brokers' (stale) views."""
        ids = self.reachable_ids if reachable_only else self.live_ids
        return {
            node_id: kafka_metadata(LOOPBACK, self._nodes[node_id].port, topic)
            for node_id in ids
        }

    def leader_of(self, topic: str, partition: int, timeout: float | None = None) -> int:
        """The id of the broker leading ``topic``'s ``partition``, as every reachable
        (running, not isolated) broker agrees. Waits (up to ``timeout`` s) while they
        disagree or there is no leader; raises :class:`ClusterStateError` then."""
        leader, _ = self._partition(topic, partition, timeout, "a leader")
        return leader

    def isr_of(self, topic: str, partition: int, timeout: float | None = None) -> list[int]:
        """The in-sync replicas (broker ids, sorted) of ``topic``'s ``partition``, as
        every running broker agrees (waits like :meth:`leader_of`)."""
        _, isr = self._partition(topic, partition, timeout, "an ISR")
        return isr

    def wait_for_isr(
        self, topic: str, partition: int, size: int, timeout: float | None = None
    ) -> list[int]:
        """Wait until ``topic``'s ``partition`` has ``size`` in-sync replicas (every
        running broker agreeing); return them. :class:`ClusterStateError` after ``timeout``."""
        _, isr = self._partition(
            topic, partition, timeout, f"an ISR of {size}", lambda isr: len(isr) == size
        )
        return isr

    def wait_for_leader(
        self, topic: str, partition: int, *, other_than: int | None = None,
        timeout: float | None = None,
    ) -> int:
        """Wait until ``topic``'s ``partition`` has a leader (other than ``other_than``)."""
        what = "a leader" if other_than is None else f"a leader other than broker {other_than}"
        leader, _ = self._partition(
            topic, partition, timeout, what, leader_ok=lambda leader: leader != other_than
        )
        return leader

    # -- internals --------------------------------------------------------------------------

    def _node(self, broker_id: int) -> _Node:
        try:
            return self._nodes[broker_id]
        except KeyError:
            raise ClusterStateError(
                f"no broker {broker_id} in this cluster; its brokers are {self.broker_ids}"
            ) from None

    def _running(self, broker_id: int, action: str) -> _Node:
        node = self._node(broker_id)
        if not node.alive():
            raise ClusterStateError(
                f"cannot {action} broker {broker_id} ({node.address}): it is not running"
            )
        return node

    def _timeout(self, timeout: float | None, default: float = CONTROL_TIMEOUT) -> float:
        return default if timeout is None else timeout

    def _spawn(self, node: _Node, timeout: float) -> None:
        """Start ``node``'s JVM; return once it listens on its controller port.

        Its broker port only answers once a controller quorum exists, which needs the
        other voters: the cluster's readiness is waited for by the caller.
        """
        process, _ = start_process(
            f"kafka-{node.node_id}",
            [*self._launch.server, str(node.config)],
            ready=lambda: is_listening(LOOPBACK, node.controller_port),
            workdir=node.directory,
            timeout=max(0.1, timeout),
            env=dict(self._launch.env),
            port=node.controller_port,
            port_taken_marker=PORT_TAKEN,
            install_hint=self._launch.install_hint,
            log_hint=self._launch.exit_hint,
            timeout_option="--kafka-startup-timeout",
            stop_timeout=self._launch.stop_timeout,
        )
        node.process = process
        node.wanted = True

    def _check_alive(self, waiting_for: str) -> None:
        """Raise at once when a broker that should run has exited (its log tail)."""
        for node in self._nodes.values():
            if node.wanted and not node.alive():
                node.wanted = False
                if node.process is not None:
                    node.process.kill()  # reap it, close its log
                text = self.log_path(node.node_id).read_text(errors="replace")
                message = (
                    f"broker {node.node_id} ({node.address}) exited while waiting for "
                    f"{waiting_for}.\nlast lines of {self.log_path(node.node_id)}:\n"
                    f"{log_tail(text)}"
                )
                if PORT_TAKEN in text:
                    raise PortTaken(message, node.port)
                raise ServiceStartError(message)

    def _wait_members(self, deadline: float, waiting_for: str) -> None:
        """Wait until every running, not isolated broker answers and lists exactly those."""
        wanted = tuple(node_id for node_id, node in sorted(self._nodes.items())
                       if node.wanted and node_id not in self._isolated)

        def attempt() -> dict[int, tuple[int, ...] | None]:
            self._check_alive(waiting_for)
            views: dict[int, tuple[int, ...] | None] = {}
            for node_id in wanted:
                node = self._nodes[node_id]
                answered = kafka_api_versions(LOOPBACK, node.port)
                metadata = kafka_metadata(LOOPBACK, node.port) if answered else None
                views[node_id] = metadata.brokers if metadata is not None else None
            return views

        polled = poll(
            attempt, timeout=max(0.0, deadline - time.monotonic()), interval=0.1,
            done=lambda views: all(view == wanted for view in views.values()),
        )
        if not polled.done:
            raise ClusterStateError(
                f"timed out after {polled.seconds:.1f} s waiting for {waiting_for}: every "
                f"running broker should list brokers {list(wanted)}, but they list "
                f"{_views(polled.value)}. {self._quorum_note()}"
            )
        for node_id in wanted:
            node = self._nodes[node_id]
            assert node.process is not None
            if listens_on(node.process.pid, node.port) is False:
                raise PortTaken(
                    f"broker {node_id}'s port {node.port} answered, but not from the "
                    "broker we started", node.port,
                )

    def _wait_gone(self, broker_id: int, deadline: float, how: str) -> None:
        """Wait until no running broker lists ``broker_id`` (the controller fenced it)."""

        def attempt() -> dict[int, tuple[int, ...] | None]:
            return {
                node_id: metadata.brokers if metadata is not None else None
                for node_id, metadata in self.metadata(reachable_only=True).items()
            }

        polled = poll(
            attempt, timeout=max(0.0, deadline - time.monotonic()), interval=0.1,
            done=lambda views: all(
                view is not None and broker_id not in view for view in views.values()
            ),
        )
        if not polled.done:
            raise ClusterStateError(
                f"broker {broker_id} was {how}, but {polled.seconds:.1f} s later the running "
                f"brokers still list it (or do not answer): {_views(polled.value)}. "
                f"{self._quorum_note()}"
            )

    def _partition(
        self,
        topic: str,
        partition: int,
        timeout: float | None,
        what: str,
        isr_ok: Callable[[list[int]], bool] = lambda isr: True,
        leader_ok: Callable[[int], bool] = lambda leader: True,
    ) -> tuple[int, list[int]]:
        """(leader, sorted ISR) of a partition once every running broker agrees on them
        and they satisfy ``leader_ok`` / ``isr_ok``."""

        def attempt() -> dict[int, tuple[int, list[int]] | None]:
            views: dict[int, tuple[int, list[int]] | None] = {}
            for node_id, metadata in self.metadata(topic, reachable_only=True).items():
                state = (metadata.partitions or {}).get(partition) if metadata else None
                views[node_id] = (state.leader, sorted(state.isr)) if state else None
            return views

        def done(views: dict[int, tuple[int, list[int]] | None]) -> bool:
            answers = list(views.values())
            if not answers or answers[0] is None or any(a != answers[0] for a in answers):
                return False
            leader, isr = answers[0]
            return leader >= 0 and leader_ok(leader) and isr_ok(isr)

        polled = poll(attempt, timeout=self._timeout(timeout), interval=0.1, done=done)
        if not polled.done or not polled.value:
            views = ", ".join(
                f"broker {node_id}: "
                + ("no answer / unknown partition" if view is None else
                   f"leader {view[0]}, ISR {view[1]}")
                for node_id, view in (polled.value or {}).items()
            ) or "no broker is running"
            raise ClusterStateError(
                f"timed out after {polled.seconds:.1f} s waiting for {what} of {topic}-"
                f"{partition} that every running broker agrees on; they say: {views}. "
                f"{self._quorum_note()}"
            )
        first = next(iter(polled.value.values()))
        assert first is not None
        return first

    def _quorum_note(self) -> str:
        live, majority = len(self.reachable_ids), self.size // 2 + 1
        isolated = f" ({len(self._isolated)} isolated)" if self._isolated else ""
        if live >= majority:
            return (f"{live} of {self.size} controller voters run and reach each "
                    f"other{isolated} (a majority).")
        return (
            f"Only {live} of {self.size} controller voters run and reach each other{isolated}, "
            f"fewer than the majority of "
            f"{majority} KRaft needs (KIP-595): the cluster's metadata cannot change until "
            "another broker is started."
        )


def _same_address(address: tuple[str, int], peer: tuple[str, int]) -> bool:
    """``address`` (a JVM's dual-stack socket says ``::ffff:127.0.0.1``) is ``peer``."""
    host = address[0].removeprefix("::ffff:")
    return address[1] == peer[1] and host == peer[0].removeprefix("::ffff:")


#: One broker's (listed brokers, partitions of every topic by name).
_View = tuple[tuple[int, ...], dict[str, dict[int, PartitionState]]]


def _partitions_with(
    topics: dict[str, dict[int, PartitionState]], broker_id: int, *, in_isr: bool
) -> list[str]:
    """``topic-partition`` names where ``broker_id`` leads or is in the ISR (``in_isr``),
    or is a replica missing from the ISR (not ``in_isr``). A partition whose ISR is only
    ``broker_id`` keeps it there when it is fenced (no one else to lead), so it is skipped."""
    found = []
    for topic, partitions in topics.items():
        for index, state in partitions.items():
            if in_isr:
                hit = state.leader == broker_id or (
                    broker_id in state.isr and tuple(state.isr) != (broker_id,))
            else:
                hit = broker_id in state.replicas and broker_id not in state.isr
            if hit:
                found.append(f"{topic}-{index}")
    return found


def _cluster_views_text(views: dict[int, _View | None] | None, broker_id: int) -> str:
    if not views:
        return "(no reachable broker)"
    parts = []
    for node_id, view in views.items():
        if view is None:
            parts.append(f"broker {node_id}: no answer")
            continue
        led = _partitions_with(view[1], broker_id, in_isr=True)
        lagging = _partitions_with(view[1], broker_id, in_isr=False)
        parts.append(
            f"broker {node_id}: lists brokers {list(view[0])}; {broker_id} leads or is in "
            f"the ISR of {led[:5] or 'nothing'}, is out of the ISR of {lagging[:5] or 'nothing'}"
        )
    return "; ".join(parts)


def _views(views: dict[int, tuple[int, ...] | None] | None) -> str:
    if not views:
        return "(no broker running)"
    return ", ".join(
        f"broker {node_id}: {'no answer' if view is None else list(view)}"
        for node_id, view in views.items()
    )


def start_cluster(
    settings: KafkaSettings, workdir: Path, size: int = DEFAULT_SIZE, attempts: int = 3
) -> KafkaCluster:
    """Start ``size`` Apache Kafka ``settings.version`` nodes under ``workdir/broker-<id>``.

    Returns once every broker answers and every broker's metadata lists all of them.
    Ports are picked up front (each node's config names every voter's); when another
    program takes one first, the whole cluster is started again on new ports
    (``attempts`` in all). Raises what the single broker raises (no Java, no jars...),
    or :class:`ServiceStartError` with the failing broker's log tail. Nothing is left
    running after a failure.
    """
    if size < 1:
        raise ValueError(f"a cluster needs at least 1 broker, not {size}")
    launch, installation = node_launch(settings)
    timeout = settings.startup_timeout or DEFAULT_TIMEOUT
    template = storage_template(launch, installation.root, timeout)
    for attempt in range(attempts):
        directory = workdir / f"attempt-{attempt}" if attempt else workdir
        try:
            return _start_once(launch, installation.version, template, directory, size, timeout)
        except PortTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _start_once(
    launch: Launch, version: str, template: Path, workdir: Path, size: int, timeout: float
) -> KafkaCluster:
    started = time.monotonic()
    ports = [(free_port(), free_port()) for _ in range(size)]
    shared_id = cluster_id()
    nodes: list[_Node] = []
    cluster = KafkaCluster(nodes, launch, version, timeout)
    deadline = started + timeout
    try:
        for node_id in range(1, size + 1):
            port, controller_port = ports[node_id - 1]
            proxy = TcpProxy(LOOPBACK, port, kafka=True, identify=cluster._identify)
            controller_proxy = TcpProxy(
                LOOPBACK, controller_port, kafka=True, identify=cluster._identify)
            node = _Node(node_id, port, controller_port, workdir / f"broker-{node_id}",
                         proxy.start(), controller_proxy.start())
            nodes.append(node)
            cluster._nodes[node_id] = node
        advertised = [(node.proxy.port, node.controller_proxy.port) for node in nodes]
        for node in nodes:
            node.directory.mkdir(parents=True)
            data = node.directory / "data"
            node.config.write_text(render_properties(
                cluster_settings(node.node_id, ports, data, advertised)))
            if launch.log_config is not None:
                (node.directory / "log4j2.properties").write_text(launch.log_config)
            copy_storage_template(template, data, cluster=shared_id, node_id=node.node_id)
        # One after the other. (PR_SET_PDEATHSIG fires when the *thread* that forked a
        # child ends: process.py forks from long-lived threads when asked from another.)
        for node in nodes:
            cluster._spawn(node, deadline - time.monotonic())
        cluster._wait_members(deadline, f"the {size} brokers to form a cluster")
    except BaseException:
        cluster.close()
        raise
    cluster.startup_seconds = time.monotonic() - started
    return cluster


def start_kafka(settings: KafkaSettings, workdir: Path) -> Running[KafkaBroker]:
    """The ``cluster`` backend: a whole run against :func:`start_cluster` of
    ``settings.cluster_size`` brokers (``--kafka-cluster-size``).

    Tests see one :class:`KafkaBroker` whose ``bootstrap_servers`` names every broker
    (their proxies, which no test of a whole run cuts); topics the plugin creates get the
    cluster's default replication factor (every broker) and ``min.insync.replicas``
    one less. ``Running.process`` is broker 1's JVM (liveness, log); ``stop`` kills all.
    """
    cluster = start_cluster(settings, workdir, settings.cluster_size)
    bootstrap_servers = cluster.bootstrap_servers
    _RUNNING[bootstrap_servers] = cluster
    broker = KafkaBroker(
        bootstrap_servers=cluster.bootstrap_servers,
        backend="cluster",
        version=cluster.version,
        capabilities=APACHE_KAFKA,
        consumer_defaults=KAFKA_CONSUMER_DEFAULTS,
        startup_seconds=cluster.startup_seconds,
    )

    def stop() -> None:
        _RUNNING.pop(bootstrap_servers, None)
        cluster.close()

    return Running(broker, stop, cluster._nodes[1].process)


#: Clusters :func:`start_kafka` started in this process, by their first bootstrap_servers.
_RUNNING: dict[str, KafkaCluster] = {}


def running_cluster(bootstrap_servers: str) -> KafkaCluster | None:
    """The :class:`KafkaCluster` behind a ``cluster``-backend broker whose
    ``bootstrap_servers`` this is, if this process started it (else ``None``: another
    xdist worker's, or not a cluster)."""
    return _RUNNING.get(bootstrap_servers)


__all__ = [
    "BROKER_SESSION_TIMEOUT_MS",
    "CONTROL_TIMEOUT",
    "DEFAULT_SIZE",
    "ClusterStateError",
    "KafkaCluster",
    "cluster_settings",
    "running_cluster",
    "start_cluster",
    "start_kafka",
]
