"""A small TCP proxy for network faults between clients and a broker.

The proxy runs an asyncio event loop in its own thread, so synchronous tests and
blocking clients (kafka-python) can use it; every control method is a plain call that
returns once the loop has applied it (or raises ``TimeoutError`` after a deadline).

Faults:

* :meth:`TcpProxy.cut` aborts every live connection and drops new ones (accepted, then
  reset at once) until :meth:`TcpProxy.restore`; ``cut(client_id=...)`` does that only
  to one Kafka client's connections (the proxy reads the ``client_id`` from the header of
  each connection's first request), so one group member can be cut off while the others
  keep talking to the broker;
* ``cut(source=...)`` does that only to the connections made by one *source*, a label
  the proxy's ``identify`` callable gives each new connection from its peer address
  (and Kafka client id): a cluster labels its brokers' own connections with the broker's
  id, so it can cut one broker off from the others while clients still reach it;
* :meth:`TcpProxy.latency` delays every chunk forwarded, in both directions, by a fixed
  time (a delay line: throughput is kept, only the arrival is late).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from ..ports import LOOPBACK

T = TypeVar("T")

#: How long a control call waits for the proxy's loop to apply it.
CONTROL_TIMEOUT = 5.0
#: How long a new connection may take to reach the upstream before it is dropped.
CONNECT_TIMEOUT = 5.0
CHUNK = 64 * 1024
#: A Kafka request starts: int32 size, int16 api key, int16 version, int32 correlation
#: id, int16 client id length (-1: null).
_HEADER = struct.Struct(">ihhih")

#: Labels a new connection from its peer's ``(host, port)`` and the Kafka client id of
#: its first request (``None``: not read, or null); ``None`` means "no particular source".
#: It runs in a worker thread, so it may block briefly (e.g. look the peer up in /proc).
Identify = Callable[[tuple[str, int], "str | None"], "str | None"]


@dataclass(frozen=True)
class ProxyStats:
    """Counters since the proxy started."""

    connections: int
    """Connections accepted and forwarded to the upstream."""
    active: int
    """Connections open right now."""
    dropped: int
    """Connections refused (cut, no upstream yet, upstream unreachable)."""
    bytes_up: int
    """Bytes forwarded client → upstream."""
    bytes_down: int
    """Bytes forwarded upstream → client."""


class _Link:
    """One proxied connection: the client's and the upstream's transports, and its pumps."""

    def __init__(
        self,
        client: asyncio.StreamWriter,
        upstream: asyncio.StreamWriter,
        client_id: str | None,
        source: str | None = None,
        peer: tuple[str, int] | None = None,
        labelled: bool = False,
    ) -> None:
        self.writers = (client, upstream)
        self.client_id = client_id
        self.source = source
        self.peer = peer
        self.labelled = labelled
        """Whether ``source`` was asked of ``identify`` (it is, lazily, by a source cut)."""
        self.tasks: list[asyncio.Task[None]] = []

    def abort(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    """Forward ``LOOPBACK:listen_port`` to ``upstream_host:upstream_port``, with faults.

    ``upstream_port`` may be ``None`` and set later with :meth:`set_upstream` (a broker
    that must advertise the proxy's port is started after the proxy); connections made
    before that are dropped. :meth:`start` and :meth:`stop` are idempotent.

    ``kafka=True`` reads the client id of each connection's first request, which
    ``cut(client_id=...)`` needs; the proxy is a plain byte pipe otherwise.

    ``identify`` (see :data:`Identify`) labels each new connection with its source, which
    ``cut(source=...)`` needs; a connection it cannot label (or raises for) has none.
    It is only asked while a source is cut (then for each new connection) and, at a
    ``cut(source=...)``, for the live connections not yet labelled: a proxy without
    source cuts costs nothing per connection.
    """

    def __init__(
        self,
        upstream_host: str = LOOPBACK,
        upstream_port: int | None = None,
        listen_port: int = 0,
        *,
        kafka: bool = False,
        identify: Identify | None = None,
    ) -> None:
        self.kafka = kafka
        self.identify = identify
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.listen_port = listen_port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._cut = False
        self._cut_clients: set[str] = set()
        self._cut_sources: set[str] = set()
        self._latency = 0.0
        self._connections = 0
        self._dropped = 0
        self._bytes_up = 0
        self._bytes_down = 0
        self._stopped = False
        self.timeline: list[tuple[float, str]] = []
        """Faults applied, as ``(time.monotonic(), description)``."""

    # -- lifecycle ---------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the proxy listens on (known once started)."""
        if self._server is None:
            raise RuntimeError("TcpProxy is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def address(self) -> str:
        """``host:port`` clients connect to."""
        return f"{LOOPBACK}:{self.port}"

    def set_upstream(self, host: str, port: int) -> None:
        """Where new connections go from now on."""
        self.upstream_host, self.upstream_port = host, port

    def start(self) -> TcpProxy:
        """Start listening (in a daemon thread with its own event loop)."""
        if self._thread is not None:
            return self
        if self._stopped:
            raise RuntimeError("a stopped TcpProxy cannot be restarted")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._run, args=(loop,), name="TcpProxy", daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            self._server = self._call(
                asyncio.start_server(self._handle, LOOPBACK, self.listen_port, limit=CHUNK)
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close the listener and every connection; end the thread (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(CONTROL_TIMEOUT)

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` has run and the proxy's thread has ended."""
        return self._stopped and not (self._thread is not None and self._thread.is_alive())

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------

    def cut(self, client_id: str | None = None, *, source: str | None = None) -> None:
        """Abort every live connection and drop new ones until :meth:`restore`.

        With ``client_id``, only the connections of Kafka clients with that
        ``client_id`` (kafka-python's ``client_id=`` setting) are cut; with ``source``,
        only those ``identify`` labelled ``source``. Raises ``ValueError`` when the proxy
        cannot tell (no ``kafka=True``, no ``identify``) or both are given.
        """
        self._check_selector(client_id, source)
        self._call(self._set_cut(True, client_id, source))
        self._note("cut " + self._selected(client_id, source))

    def restore(self, client_id: str | None = None, *, source: str | None = None) -> None:
        """Forward connections again (clients reconnect on their own).

        Without arguments every cut ends; with ``client_id`` or ``source``, only that one.
        """
        self._check_selector(client_id, source)
        self._call(self._set_cut(False, client_id, source))
        self._note("restore " + self._selected(client_id, source))

    def _check_selector(self, client_id: str | None, source: str | None) -> None:
        if client_id is not None and source is not None:
            raise ValueError("cut/restore take a client_id or a source, not both")
        if client_id is not None and not self.kafka:
            raise ValueError("cut(client_id=...) needs TcpProxy(..., kafka=True)")
        if source is not None and self.identify is None:
            raise ValueError("cut(source=...) needs TcpProxy(..., identify=...)")

    @staticmethod
    def _selected(client_id: str | None, source: str | None) -> str:
        if client_id is not None:
            return f"client {client_id!r}"
        if source is not None:
            return f"source {source!r}"
        return "all connections"

    @property
    def is_cut(self) -> bool:
        """True while a cut of every connection is on."""
        return self._cut

    @property
    def cut_clients(self) -> frozenset[str]:
        """The client ids cut off right now."""
        return frozenset(self._cut_clients)

    @property
    def cut_sources(self) -> frozenset[str]:
        """The sources cut off right now."""
        return frozenset(self._cut_sources)

    def latency(self, seconds: float) -> None:
        """Delay each chunk forwarded, in both directions, by ``seconds``."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self._latency = float(seconds)
        self._note(f"latency {seconds:g} s each way")

    def reset_latency(self) -> None:
        if self._latency:
            self._note("latency off")
        self._latency = 0.0

    def _note(self, what: str) -> None:
        self.timeline.append((time.monotonic(), what))

    def describe(self, origin: float | None = None) -> list[str]:
        """The fault timeline as lines, times relative to ``origin`` (default: first fault)."""
        if not self.timeline:
            return []
        zero = self.timeline[0][0] if origin is None else origin
        return [f"+{moment - zero:.2f}s proxy {what}" for moment, what in self.timeline]

    def reset(self) -> None:
        """No faults: restore every connection, drop the latency, clear the timeline."""
        self._latency = 0.0
        self._call(self._set_cut(False))
        self.timeline.clear()

    @property
    def stats(self) -> ProxyStats:
        return ProxyStats(
            self._connections, len(self._links), self._dropped, self._bytes_up, self._bytes_down
        )

    # -- the loop ----------------------------------------------------------------

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None or self._loop.is_closed():
            coro.close()
            raise RuntimeError("TcpProxy is not running")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(CONTROL_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise

    async def _set_cut(
        self, cut: bool, client_id: str | None = None, source: str | None = None
    ) -> None:
        if client_id is None and source is None:
            self._cut = cut
            if not cut:
                self._cut_clients.clear()
                self._cut_sources.clear()
        elif client_id is not None:
            (self._cut_clients.add if cut else self._cut_clients.discard)(client_id)
        else:
            assert source is not None
            (self._cut_sources.add if cut else self._cut_sources.discard)(source)
        if cut and source is not None:
            for link in list(self._links):
                if not link.labelled and link.peer is not None:
                    link.source = await self._identify(link.peer, link.client_id)
                    link.labelled = True
        if cut:
            for link in list(self._links):
                if (client_id is None and source is None) or (
                    client_id is not None and link.client_id == client_id
                ) or (source is not None and link.source == source):
                    link.abort()
                    self._links.discard(link)

    def _refused(self, client_id: str | None, source: str | None = None) -> bool:
        return (
            self._cut
            or self.upstream_port is None
            or client_id in self._cut_clients
            or source in self._cut_sources
        )

    async def _identify(self, peer: tuple[str, int], client_id: str | None) -> str | None:
        """``identify``'s label for a connection (``None`` if none or it failed)."""
        if self.identify is None:
            return None
        identify = self.identify
        try:
            return await asyncio.get_running_loop().run_in_executor(
                None, identify, peer, client_id
            )
        except Exception:  # a labeller's bug must not kill the proxy: no label
            return None

    async def _first_request(self, reader: asyncio.StreamReader) -> tuple[bytes, str | None]:
        """The start of the first request, read up to its client id, and that id."""
        if not self.kafka:
            return b"", None  # not Kafka: do not wait for the client to speak
        head = await asyncio.wait_for(reader.readexactly(_HEADER.size), CONNECT_TIMEOUT)
        length = _HEADER.unpack(head)[-1]
        if length <= 0:
            return head, None
        raw = await asyncio.wait_for(reader.readexactly(length), CONNECT_TIMEOUT)
        return head + raw, raw.decode("utf-8", "replace")

    async def _shutdown(self) -> None:
        await self._set_cut(True)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            prelude, client_id = await self._first_request(reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, struct.error):
            self._dropped += 1
            writer.transport.abort()
            return
        raw_peer = writer.get_extra_info("peername")
        peer = (str(raw_peer[0]), int(raw_peer[1])) if isinstance(raw_peer, tuple) else None
        labelled = bool(self._cut_sources) and peer is not None
        source = await self._identify(peer, client_id) if labelled and peer else None
        if self._refused(client_id, source) or self.upstream_port is None:
            self._dropped += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(self.upstream_host, self.upstream_port, limit=CHUNK),
                CONNECT_TIMEOUT,
            )
        except (OSError, asyncio.TimeoutError):
            self._dropped += 1
            writer.transport.abort()
            return
        if self._cut_sources and not labelled and peer is not None:
            # a source was cut while we were connecting: this one may be it
            source, labelled = await self._identify(peer, client_id), True
        if self._refused(client_id, source):  # cut while we were connecting
            self._dropped += 1
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._connections += 1
        if prelude:
            up_writer.write(prelude)
            self._bytes_up += len(prelude)
        link = _Link(writer, up_writer, client_id, source, peer, labelled)
        self._links.add(link)
        link.tasks = [
            asyncio.ensure_future(self._pump(reader, up_writer, link, upstream=True)),
            asyncio.ensure_future(self._pump(up_reader, writer, link, upstream=False)),
        ]
        try:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            self._links.discard(link)
            link.abort()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        link: _Link,
        *,
        upstream: bool,
    ) -> None:
        """Copy ``reader`` to ``writer`` through a delay line; EOF or error ends the link."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
                if upstream:
                    self._bytes_up += len(data)
                else:
                    self._bytes_down += len(data)

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                queue.put_nowait((time.monotonic() + self._latency, data))
                if not data:
                    break
            await sender
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            sender.cancel()
            link.abort()  # one side gone: close both, as a TCP middlebox would
