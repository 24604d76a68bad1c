"""Who is asking: the client's address, and the key its requests are counted under.

Every throttle and audit line that names a client uses ``client_address()`` or
``client_throttle_key()``; nothing else reads ``REMOTE_ADDR`` or ``X-Forwarded-For``.

``X-Forwarded-For`` is anyone's to write, so it is read only when the request came
from a proxy the operator named in ``PORTAL_TRUSTED_PROXIES`` (a list of networks,
``["10.0.0.0/8", "127.0.0.1"]``). Then the header is read from the right, skipping
the trusted proxies, and the first hop that is not one is the client: each proxy
appends the address it saw, so everything left of the first untrusted hop was
written by the client and proves nothing. With no trusted proxies configured the
header is ignored and the client is ``REMOTE_ADDR`` (what the socket saw).

Throttles count IPv6 clients per /64: one home or phone gets a whole /64 and can
pick a fresh address from it for every request.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_THROTTLE_PREFIX = 64


@lru_cache(maxsize=8)
def trusted_networks(configured: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in configured)


def trusted_proxies() -> tuple[IPNetwork, ...]:
    """``PORTAL_TRUSTED_PROXIES`` as networks (read each time, so tests may change it)."""
    return trusted_networks(tuple(getattr(settings, "PORTAL_TRUSTED_PROXIES", ()) or ()))


def parse_address(text: str) -> IPAddress | None:
    """An address from a header or ``REMOTE_ADDR``: ``1.2.3.4``, ``1.2.3.4:5678``,
    ``2001:db8::1``, ``[2001:db8::1]:443``, ``fe80::1%eth0``; None when it is none.
    IPv4-mapped IPv6 (``::ffff:1.2.3.4``, what a dual-stack socket reports) is IPv4."""
    text = (text or "").strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted_proxy(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_ip_address(request: HttpRequest) -> IPAddress | None:
    """The client's address, as an ``ipaddress`` object (None if the server gave none)."""
    peer = parse_address(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_proxies()
    if peer is None or not networks or not is_trusted_proxy(peer, networks):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = peer
    for hop_text in reversed([hop for hop in forwarded.split(",") if hop.strip()]):
        hop = parse_address(hop_text)
        if hop is None:
            # Garbage where an address should be: the last address we can vouch for is
            # the trusted proxy that passed it on.
            return client
        client = hop
        if not is_trusted_proxy(hop, networks):
            return hop
    return client  # every hop a trusted proxy: the leftmost one is as far as we can see


def client_address(request: HttpRequest) -> str | None:
    """The client's address as text, for audit lines and anything that shows it."""
    address = client_ip_address(request)
    return str(address) if address is not None else None


def throttle_key_for(address: IPAddress) -> str:
    """An IPv4 address itself; an IPv6 address's /64 network address."""
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_THROTTLE_PREFIX), strict=False)
        return str(network.network_address)
    return str(address)


def client_throttle_key(request: HttpRequest) -> str | None:
    """What a throttle counts this request's client under (a valid IP address as text,
    so it fits a ``GenericIPAddressField``): the address, or for IPv6 its /64."""
    address = client_ip_address(request)
    return throttle_key_for(address) if address is not None else None
