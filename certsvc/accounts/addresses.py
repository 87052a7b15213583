"""Which client a request counts against, for rate limits and failed log-ins.

An IPv4 address is one client. An IPv6 client, though, is normally given a whole /64 (the
smallest prefix a network hands out, RFC 4291 interface identifiers are 64 bits), so it can
send each request from a new address: counting per address would give it 2**64
allowances. IPv6 clients are therefore counted by their /64, and an IPv4-mapped IPv6
address (``::ffff:192.0.2.1``, as a dual-stack socket reports an IPv4 client) as the IPv4
address it is.
"""

from __future__ import annotations

import functools
import ipaddress

__all__ = ["IPV6_CLIENT_PREFIX", "client_key"]

#: Prefix length that identifies one IPv6 client.
IPV6_CLIENT_PREFIX = 64


@functools.lru_cache(maxsize=4096)
def client_key(address: str) -> str:
    """The key the requests from ``address`` are counted under.

    ``"192.0.2.1"`` and ``"::ffff:192.0.2.1"`` give ``"192.0.2.1"``; ``"2001:db8:1:2::5"``
    and ``"2001:db8:1:2:a:b:c:d"`` give ``"2001:db8:1:2::/64"``. Text that is not an IP
    address (a Unix socket, an empty ``remote_addr``) is its own key.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        network = ipaddress.IPv6Network((ip.packed, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(ip)
