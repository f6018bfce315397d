"""Fault injection: network faults through a TCP proxy, and consumer-group rebalances.

* :class:`TcpProxy` - an asyncio TCP proxy (own thread) with ``cut``/``restore`` and
  ``latency``;
* :func:`start_proxied_broker` - an embedded broker that advertises a proxy's address,
  so every client connection (after bootstrap, too) goes through the proxy;
* :func:`second_member` - a second consumer-group member that joins, holds partitions
  for a while and leaves, in a background thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..backends.base import KafkaBroker, Running
from ..config import KafkaSettings
from ..ports import LOOPBACK
from .proxy import ProxyStats, TcpProxy
from .rebalance import MemberTimeline, SecondMember, second_member

__all__ = [
    "MemberTimeline",
    "ProxiedBroker",
    "ProxyStats",
    "SecondMember",
    "TcpProxy",
    "second_member",
    "start_proxied_broker",
]


@dataclass(frozen=True)
class ProxiedBroker:
    """An embedded broker reachable only through :attr:`proxy` (its advertised address).

    ``bootstrap_servers`` is the proxy's address. ``broker.bootstrap_servers`` is the
    broker's own listener; bootstrapping there still hands out the proxy's address in
    metadata, so reads made there also go through the proxy (read after ``restore()``).
    """

    proxy: TcpProxy
    broker: KafkaBroker
    running: Running[KafkaBroker]

    @property
    def bootstrap_servers(self) -> str:
        return self.proxy.address

    @property
    def direct_bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers

    def reset_faults(self) -> None:
        """No cut, no latency."""
        self.proxy.reset()

    def stop(self) -> None:
        """Stop the proxy, then the broker (idempotent)."""
        try:
            self.proxy.stop()
        finally:
            self.running.stop()


def start_proxied_broker(settings: KafkaSettings, workdir: Path) -> ProxiedBroker:
    """Start a proxy, then an embedded broker advertising it, and wire the proxy to it.

    The proxy's port must be known before the broker starts (the broker advertises it),
    and the broker's port before the proxy can forward: the proxy listens first with no
    upstream, then gets the broker's listener once it is up.
    """
    from ..backends import embedded

    proxy = TcpProxy(kafka=True).start()
    try:
        running = embedded.start_kafka(settings, workdir, advertise=proxy.address)
    except BaseException:
        proxy.stop()
        raise
    host, port = running.info.bootstrap_servers.rsplit(":", 1)
    proxy.set_upstream(host or LOOPBACK, int(port))
    return ProxiedBroker(proxy, running.info, running)
