"""Which client a request counts against: certsvc.accounts.addresses.client_key."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certsvc.accounts.addresses import client_key


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),  # a dual-stack socket's IPv4 client
        ("2001:db8:1:2::5", "2001:db8:1:2::/64"),
        ("2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::1", "::/64"),
        ("", ""),
        ("unknown", "unknown"),
    ],
)
def test_client_keys(address: str, key: str) -> None:
    assert client_key(address) == key


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_every_address_of_a_64_is_one_client_and_other_64s_are_others(
    network: int, host_a: int, host_b: int
) -> None:
    def address(net: int, host: int) -> str:
        return str(ipaddress.IPv6Address((net << 64) | host))

    if network >> 48 == 0:  # keep out ::ffff:0:0/96 and the other IPv4-carrying forms
        network |= 1 << 61
    assert client_key(address(network, host_a)) == client_key(address(network, host_b))
    assert client_key(address(network, host_a)) != client_key(address(network ^ 1, host_a))
