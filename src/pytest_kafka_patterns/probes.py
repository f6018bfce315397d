"""Cheap readiness probes that speak each protocol (waited on with :func:`.waiting.wait_until`).

The probes use raw sockets on purpose: building a full client per poll costs tens of
milliseconds, and a probe must answer "not yet" fast while a service boots.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from .waiting import wait_until as wait_until  # the one poller; imported from here too

_API_VERSIONS_KEY = 18
_METADATA_KEY = 3


def kafka_api_versions(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when ``host:port`` answers a Kafka ApiVersions v0 request without error."""
    client_id = b"pytest-kafka-patterns"
    correlation_id = 0x5EED
    header = struct.pack(">hhih", _API_VERSIONS_KEY, 0, correlation_id, len(client_id))
    request = header + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
            body = _recv_exactly(sock, size)
    except (OSError, struct.error, ConnectionError):
        return False
    if len(body) < 6:
        return False
    got_correlation, error_code = struct.unpack(">ih", body[:6])
    return bool(got_correlation == correlation_id and error_code == 0)


@dataclass(frozen=True)
class PartitionState:
    """One partition as a broker's Metadata reply describes it (broker ids)."""

    leader: int
    """-1 while the partition has no leader."""
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(frozen=True)
class Metadata:
    """What one broker's Metadata v1 reply says about the cluster and one topic."""

    brokers: tuple[int, ...]
    """Ids of the brokers the answering broker counts as alive (KRaft: not fenced), sorted."""
    controller: int
    partitions: dict[int, PartitionState] | None
    """By partition index; ``None`` when the topic is unknown (or none was asked for)."""


def kafka_metadata(
    host: str, port: int, topic: str | None = None, timeout: float = 1.0
) -> Metadata | None:
    """One broker's view of the cluster (and of ``topic``), from a Metadata v1 request.

    Only ``host:port`` is asked, so each broker's own (possibly lagging) metadata cache
    can be compared. ``None`` when it does not answer. Raw, like the other probes.
    """
    client_id = b"pytest-kafka-patterns"
    if topic is None:
        topics = struct.pack(">i", 0)
    else:
        name = topic.encode()
        topics = struct.pack(">ih", 1, len(name)) + name
    request = struct.pack(">hhih", _METADATA_KEY, 1, 1, len(client_id)) + client_id + topics
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
            return _parse_metadata_v1(_recv_exactly(sock, size))
    except (OSError, struct.error, ConnectionError, IndexError):
        return None


def kafka_partition_leaders(
    bootstrap_servers: str, topic: str, timeout: float = 1.0
) -> list[int] | None:
    """Leader id of each partition of ``topic`` (by index), from a Metadata v1 request.

    ``None`` when the topic is unknown or no broker answers. Raw, so that it works with
    every client version (kafka-python 2 cannot parse some brokers' metadata replies).
    """
    host, port = split_host_port(bootstrap_servers.split(",")[0], 9092)
    metadata = kafka_metadata(host, port, topic, timeout)
    if metadata is None or metadata.partitions is None:
        return None
    return [metadata.partitions[i].leader for i in sorted(metadata.partitions)]


def kafka_topics_metadata(
    host: str, port: int, timeout: float = 1.0
) -> dict[str, dict[int, PartitionState]] | None:
    """Every topic one broker knows (internal ones too), by name, from a Metadata v1
    request for all topics; ``None`` when it does not answer. Like :func:`kafka_metadata`,
    only ``host:port`` is asked: its own, possibly lagging, view."""
    client_id = b"pytest-kafka-patterns"
    request = struct.pack(">hhih", _METADATA_KEY, 1, 1, len(client_id)) + client_id
    request += struct.pack(">i", -1)  # v1: -1 asks for all topics
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
            return _parse_metadata(_recv_exactly(sock, size))[1]
    except (OSError, struct.error, ConnectionError, IndexError):
        return None


def _parse_metadata_v1(body: bytes) -> Metadata:
    metadata, topics = _parse_metadata(body)
    partitions = next(iter(topics.values()), None) if len(topics) == 1 else None
    return Metadata(metadata.brokers, metadata.controller, partitions)


def _parse_metadata(body: bytes) -> tuple[Metadata, dict[str, dict[int, PartitionState]]]:
    """The brokers and controller, and every topic answered without error, by name."""
    offset = 4  # correlation id

    def take(fmt: str) -> tuple[int, ...]:
        nonlocal offset
        values = struct.unpack_from(fmt, body, offset)
        offset += struct.calcsize(fmt)
        return values

    def string() -> str:
        nonlocal offset
        (length,) = take(">h")
        text = body[offset:offset + max(length, 0)].decode("utf-8", "replace")
        offset += max(length, 0)
        return text

    def ids() -> tuple[int, ...]:
        (count,) = take(">i")
        return tuple(take(">i")[0] for _ in range(max(count, 0)))

    (count,) = take(">i")
    brokers = []
    for _ in range(count):
        brokers.append(take(">i")[0])
        string()
        take(">i")
        string()  # rack
    (controller,) = take(">i")
    (count,) = take(">i")
    topics: dict[str, dict[int, PartitionState]] = {}
    for _ in range(count):
        (error_code,) = take(">h")
        name = string()
        take(">b")  # is_internal
        (partitions,) = take(">i")
        by_index: dict[int, PartitionState] = {}
        for _ in range(partitions):
            _, index, leader = take(">hii")
            replicas = ids()
            by_index[index] = PartitionState(leader, replicas, ids())
        if error_code == 0:
            topics[name] = by_index
    return Metadata(tuple(sorted(brokers)), controller, None), topics


def redis_ping(host: str, port: int, timeout: float = 0.5, password: str | None = None) -> bool:
    """True when ``host:port`` answers PING with PONG."""
    command = b"PING\r\n"
    if password:
        secret = password.encode()
        command = (
            b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(secret), secret) + command
        )
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(command)
            reply = b""
            while b"PONG" not in reply and not reply.startswith(b"-"):
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    return b"+PONG" in reply


def split_host_port(address: str, default_port: int) -> tuple[str, int]:
    """Split ``host:port`` (or ``[v6]:port``) into its parts; raise ValueError when bad."""
    address = address.strip()
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port_text = rest.lstrip(":")
    elif address.count(":") == 1:
        host, port_text = address.split(":")
    else:
        host, port_text = address, ""
    if not host:
        raise ValueError(f"no host in {address!r}")
    port = int(port_text) if port_text else default_port
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range in {address!r}")
    return host, port


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        data += chunk
    return data
