"""HTTP for webhook deliveries: no redirects, no proxies from the environment, and
no connections to private networks.

The guard sits in the connection itself: the host name is resolved once, by the
resolver ``WEBHOOK_RESOLVER`` names, when the connection is opened; every resolved
address is checked; the socket connects to a checked address only, by number, so
nothing resolves the name a second time (DNS cannot answer differently between the
check and the connect, and a failed lookup is a failed delivery, never a retry by
urllib3's own resolver); and the connected peer is checked once more. Private,
loopback, link-local, multicast, reserved, shared and unspecified addresses are
refused unless ``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` is true, and so are IPv6 addresses
that carry such an IPv4 address inside them (IPv4-mapped, 6to4, Teredo, NAT64).
"""

from __future__ import annotations

import ipaddress
import socket

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError


class DestinationRefused(NewConnectionError):
    """The receiver's address is on a network webhooks may not reach."""

    def __init__(self, conn, message: str):
        super().__init__(conn, message)
        self.reason = message


DEFAULT_RESOLVER = "portal.webhooks.transport.system_resolve"

# IPv6 prefixes that carry an IPv4 address in their last 32 bits (RFC 6052 NAT64: the
# well-known prefix and the local-use one of RFC 8215).
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address leads to, with the encoding's name.

    A router or relay turns these back into IPv4 traffic, so ``2002:7f00:1::`` (6to4)
    or ``64:ff9b::7f00:1`` (NAT64) can reach 127.0.0.1 although no IPv6 rule sees it.
    """
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", server), ("Teredo", client)]
    if any(ip in network for network in NAT64_NETWORKS):
        found.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


def plain_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    for kind in ("loopback", "link_local", "multicast", "unspecified", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return f"{ip} is a {kind.replace('_', '-')} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def address_refusal(ip_text: str) -> str | None:
    """Why deliveries may not go to this address, or None when they may."""
    ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        for encoding, inner in embedded_ipv4(ip):
            if refusal := plain_refusal(inner):
                # "2002:7f00:1:: is a 6to4 address for 127.0.0.1, a loopback address"
                what = refusal.removeprefix(f"{inner} is ")
                article = "an" if encoding[0] in "AEIOU" else "a"
                return f"{ip} is {article} {encoding} address for {inner}, {what}"
        if ip.ipv4_mapped is not None:  # a public IPv4 address, written the IPv6 way
            return None
    return plain_refusal(ip)


def private_networks_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the operating system's resolver gives for ``host`` (the default
    ``WEBHOOK_RESOLVER``). Raises ``OSError`` (``socket.gaierror``) when there are none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [sockaddr[0] for *_, sockaddr in infos]


def resolve(host: str, port: int) -> list[str]:
    """``host``'s addresses: itself when it is one, else what ``WEBHOOK_RESOLVER`` answers."""
    if is_ip_literal(host):
        return [host]
    resolver = import_string(getattr(settings, "WEBHOOK_RESOLVER", DEFAULT_RESOLVER))
    return list(resolver(host, port))


def is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


class GuardedConnectionMixin:
    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        try:
            addresses = resolve(host, self.port)
        except OSError as exc:
            # Never fall back to urllib3's own connect: it would resolve the name again
            # and connect to whatever that second answer is, unchecked.
            raise NameResolutionError(host, self, exc) from exc
        allowed, refusals = [], []
        for ip in addresses:
            if not is_ip_literal(ip):
                refusals.append(f"the resolver answered {ip!r}, not an address")
                continue
            refusal = None if private_networks_allowed() else address_refusal(ip)
            if refusal:
                refusals.append(refusal)
            elif ip not in allowed:
                allowed.append(ip)
        if not allowed:
            reasons = "; ".join(refusals) or "the name has no addresses"
            raise DestinationRefused(self, f"Refused to connect to {host}: {reasons}.")
        last_error: Exception | None = None
        for ip in allowed:
            # The checked address, by number: urllib3 connects to it without any lookup.
            self._dns_host = ip
            try:
                sock = super()._new_conn()
            except NewConnectionError as exc:
                last_error = exc
                continue
            finally:
                self._dns_host = host
            self.peer_check(sock, host)
            return sock
        assert last_error is not None
        raise last_error

    def peer_check(self, sock: socket.socket, host: str) -> None:
        """The address the socket really reached, checked again whatever led to it."""
        peer = sock.getpeername()[0]
        refusal = None if private_networks_allowed() else address_refusal(peer)
        if refusal:
            sock.close()
            raise DestinationRefused(self, f"Refused to connect to {host}: {refusal}.")


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
