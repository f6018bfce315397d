"""Cheap readiness probes that speak each protocol, and a deadline-bound wait on them.

The probes use raw sockets on purpose: building a full client per poll costs tens of
milliseconds, and a probe must answer "not yet" fast while a service boots.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

_API_VERSIONS_KEY = 18


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


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    interval: float = 0.01,
) -> float | None:
    """Poll ``check`` until it returns True; return seconds taken, or None on timeout."""
    started = time.monotonic()
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda ok: not ok),
    )
    try:
        retrying(check)
    except RetryError:
        return None
    return time.monotonic() - started


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
