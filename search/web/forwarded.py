"""Who sent a request: the peer's address, or the client's as a trusted proxy forwarded it.

Behind nginx every request comes from the proxy's own address (loopback, usually), so the peer
address alone would make every client look local: `/metrics` would be open to the world
through the proxy, and the access log would name nobody. `X-Forwarded-For` names the client,
but anyone can send that header, so it is believed only when the peer is one of the trusted
proxies (`Settings.forwarded_allow_ips`, the list gunicorn also trusts for
`X-Forwarded-Proto`). The header is read from the right: each trusted proxy appends the
address it saw, so the first untrusted one from the right is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_address(text: str | None) -> Address | None:
    """An address as a socket or a header gives it; an IPv4 address mapped into IPv6 (a
    service bound to `::`) is the IPv4 address. None for anything else (a Unix socket)."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port, as some proxies write it
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def within(address: Address | None, allowed: Iterable[Network]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in allowed)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> Address | None:
    """The client's address: the peer's, unless the peer is a trusted proxy that forwarded one.

    A peer without an IP address (a Unix socket, which only this machine's users can reach)
    is trusted like gunicorn trusts it; with nothing forwarded the answer is None: local."""
    address = parse_address(peer)
    if not forwarded_for or not (address is None or within(address, trusted)):
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop_address = parse_address(hop)
        if hop_address is None:  # a malformed entry: nothing left of it can be believed
            return address
        address = hop_address
        if not within(address, trusted):
            break
    return address
