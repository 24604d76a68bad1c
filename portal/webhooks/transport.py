"""HTTP for webhook deliveries: no redirects, no proxies from the environment, and
no connections to private networks.

The guard sits in the connection itself: the host name is resolved when the
connection is opened, every resolved address is checked, the socket connects to
an allowed address only (so DNS cannot answer differently between a check and
the connect), and the connected peer is checked once more. Private, loopback,
link-local, multicast, reserved, shared and unspecified addresses are refused
unless ``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` is true.
"""

from __future__ import annotations

import ipaddress
import socket

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError


class DestinationRefused(NewConnectionError):
    """The receiver's address is on a network webhooks may not reach."""

    def __init__(self, conn, message: str):
        super().__init__(conn, message)
        self.reason = message


def address_refusal(ip_text: str) -> str | None:
    """Why deliveries may not go to this address, or None when they may."""
    ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "multicast", "private", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return f"{ip} is a {kind.replace('_', '-')} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def private_networks_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))


class GuardedConnectionMixin:
    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        try:
            infos = socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            return super()._new_conn()  # urllib3 reports the resolution error itself
        allowed, refusals = [], []
        for *_, sockaddr in infos:
            ip = sockaddr[0]
            refusal = None if private_networks_allowed() else address_refusal(ip)
            if refusal:
                refusals.append(refusal)
            elif ip not in allowed:
                allowed.append(ip)
        if not allowed:
            raise DestinationRefused(self, f"Refused to connect to {host}: {'; '.join(refusals)}.")
        last_error: Exception | None = None
        for ip in allowed:
            self._dns_host = ip
            try:
                sock = super()._new_conn()
            except NewConnectionError as exc:
                last_error = exc
                continue
            finally:
                self._dns_host = host
            peer = sock.getpeername()[0]
            refusal = None if private_networks_allowed() else address_refusal(peer)
            if refusal:
                sock.close()
                raise DestinationRefused(self, f"Refused to connect to {host}: {refusal}.")
            return sock
        assert last_error is not None
        raise last_error


class GuardedHTTPConnection(GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }


def webhook_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the worker's environment
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def refusal_in(exc: BaseException) -> str | None:
    """The refusal message inside a requests exception, if the guard refused."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DestinationRefused):
            return current.reason
        stack.extend([current.__cause__, current.__context__, *current.args])
        stack.append(getattr(current, "reason", None))
    return None
