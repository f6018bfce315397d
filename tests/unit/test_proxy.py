"""TcpProxy against a plain echo server (no Kafka)."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from pytest_kafka_patterns.faults.proxy import TcpProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def proxy(echo_port: int) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", echo_port) as running:
        yield running


def connect(proxy: TcpProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def round_trip(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(payload)
    received = b""
    while len(received) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def is_dead(sock: socket.socket) -> bool:
    """True when the peer closed or reset the connection (within the socket timeout)."""
    try:
        sock.sendall(b"x")
        return sock.recv(1) == b""
    except OSError:
        return True


def test_forwards_both_ways_and_counts(proxy: TcpProxy) -> None:
    payload = bytes(range(256)) * 1000
    with connect(proxy) as sock:
        assert round_trip(sock, payload) == payload
        assert proxy.stats.active == 1
    deadline = time.monotonic() + 2
    while proxy.stats.active and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = proxy.stats
    assert (stats.connections, stats.active, stats.dropped) == (1, 0, 0)
    assert stats.bytes_up == stats.bytes_down == len(payload)


def test_cut_drops_live_and_new_connections_until_restore(proxy: TcpProxy) -> None:
    live = connect(proxy)
    assert round_trip(live, b"hello") == b"hello"
    proxy.cut()
    assert proxy.is_cut
    assert is_dead(live)
    live.close()
    with connect(proxy) as new:  # accepted by the kernel, then reset by the proxy
        assert is_dead(new)
    assert proxy.stats.dropped >= 1
    proxy.restore()
    with connect(proxy) as again:
        assert round_trip(again, b"back") == b"back"


def test_latency_delays_each_direction(proxy: TcpProxy) -> None:
    with connect(proxy) as sock:
        round_trip(sock, b"warm")
        started = time.monotonic()
        round_trip(sock, b"fast")
        fast = time.monotonic() - started
        proxy.latency(0.2)
        started = time.monotonic()
        assert round_trip(sock, b"slow") == b"slow"
        slow = time.monotonic() - started
        proxy.reset_latency()
        started = time.monotonic()
        round_trip(sock, b"fast")
        after = time.monotonic() - started
    assert slow >= 0.4  # 0.2 s up and 0.2 s down
    assert fast < slow / 2 and after < slow / 2  # no delay before, none after the reset


def test_latency_keeps_throughput(proxy: TcpProxy) -> None:
    """A delay line, not a per-chunk pause: many chunks in flight share one delay."""
    proxy.latency(0.1)
    with connect(proxy) as sock:
        started = time.monotonic()
        for _ in range(20):
            sock.sendall(b"y" * 1000)
        received = 0
        while received < 20_000:
            received += len(sock.recv(65536))
        # A pause per chunk would take 20 x 0.1 s; one delay line, about 0.2 s.
        assert time.monotonic() - started < 20 * 0.1 * 0.9


def test_without_upstream_connections_are_dropped_until_set(echo_port: int) -> None:
    with TcpProxy() as proxy:
        with connect(proxy) as sock:
            assert is_dead(sock)
        proxy.set_upstream("127.0.0.1", echo_port)
        with connect(proxy) as sock:
            assert round_trip(sock, b"ok") == b"ok"


def test_stop_is_idempotent_and_closes_everything(proxy: TcpProxy) -> None:
    sock = connect(proxy)
    round_trip(sock, b"hi")
    port = proxy.port
    proxy.stop()
    proxy.stop()
    assert is_dead(sock)
    sock.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert proxy.stopped


def test_unreachable_upstream_is_a_dropped_connection() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        closed_port = placeholder.getsockname()[1]
    with TcpProxy("127.0.0.1", closed_port) as proxy, connect(proxy) as sock:
        assert is_dead(sock)
        assert proxy.stats.dropped == 1


def kafka_request(client_id: str) -> bytes:
    """The start of a Kafka request (ApiVersions v0) from ``client_id``."""
    raw = client_id.encode()
    body = struct.pack(">hhih", 18, 0, 1, len(raw)) + raw
    return struct.pack(">i", len(body)) + body


def test_cut_by_client_id_spares_other_clients(echo_port: int) -> None:
    with TcpProxy("127.0.0.1", echo_port, kafka=True) as proxy:
        keep, drop = connect(proxy), connect(proxy)
        assert round_trip(keep, kafka_request("keep")) == kafka_request("keep")
        assert round_trip(drop, kafka_request("drop")) == kafka_request("drop")
        proxy.cut(client_id="drop")
        assert proxy.cut_clients == {"drop"} and not proxy.is_cut
        assert is_dead(drop)
        assert round_trip(keep, b"still here") == b"still here"
        with connect(proxy) as again:  # a new connection of the cut client is dropped
            again.sendall(kafka_request("drop"))
            assert is_dead(again)
        with connect(proxy) as other:
            assert round_trip(other, kafka_request("other")) == kafka_request("other")
        proxy.restore(client_id="drop")
        assert [line.split(" ", 1)[1] for line in proxy.describe()] == [
            "proxy cut client 'drop'", "proxy restore client 'drop'"
        ]
        with connect(proxy) as back:
            assert round_trip(back, kafka_request("drop")) == kafka_request("drop")
        keep.close()
        drop.close()


def test_cut_by_client_id_needs_kafka_mode(proxy: TcpProxy) -> None:
    with pytest.raises(ValueError, match="kafka=True"):
        proxy.cut(client_id="x")


def test_cut_by_source_spares_other_sources(echo_port: int) -> None:
    # The labeller sees each connection's peer address: here, sockets bound to known ports.
    labels: dict[int, str] = {}

    def identify(peer: tuple[str, int], _client_id: str | None) -> str | None:
        return labels.get(peer[1])

    def labelled(proxy: TcpProxy, label: str | None) -> socket.socket:
        sock = socket.socket()
        sock.settimeout(2)
        sock.bind(("127.0.0.1", 0))
        if label is not None:
            labels[sock.getsockname()[1]] = label
        sock.connect(("127.0.0.1", proxy.port))
        return sock

    with TcpProxy("127.0.0.1", echo_port, identify=identify) as proxy:
        b1, b2, client = labelled(proxy, "b1"), labelled(proxy, "b2"), labelled(proxy, None)
        for sock in (b1, b2, client):
            assert round_trip(sock, b"hi") == b"hi"
        proxy.cut(source="b1")
        assert proxy.cut_sources == {"b1"} and not proxy.is_cut
        assert is_dead(b1)
        assert round_trip(b2, b"still") == b"still"
        assert round_trip(client, b"still") == b"still"
        with labelled(proxy, "b1") as again:  # a new connection from the cut source
            assert is_dead(again)
        proxy.restore(source="b1")
        assert proxy.cut_sources == frozenset()
        with labelled(proxy, "b1") as back:
            assert round_trip(back, b"back") == b"back"
        for sock in (b1, b2, client):
            sock.close()


def test_cut_by_source_needs_a_labeller(proxy: TcpProxy) -> None:
    with pytest.raises(ValueError, match="identify"):
        proxy.cut(source="b1")
