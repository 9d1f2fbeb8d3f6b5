"""The client's address: the peer, or X-Forwarded-For read from the right through trusted proxies only."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.client_ip import client_ip, rate_limit_subject, truncated_ip

PROXIES = (ip_network("10.0.0.0/8"), ip_network("2001:db8:ffff::/48"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", [], "203.0.113.9"),
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # not a proxy: its header is ignored
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the spoofed left part is never reached
        ("10.0.0.2", ["198.51.100.1, 10.0.0.3"], "198.51.100.1"),  # trusted hops are skipped
        ("10.0.0.2", ["198.51.100.1", "10.0.0.3"], "198.51.100.1"),  # several headers read as one list
        ("10.0.0.2", ["garbage, 10.0.0.3"], "10.0.0.3"),
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("10.0.0.2", ["203.0.113.5:1234"], "203.0.113.5"),
        ("::ffff:203.0.113.9", [], "203.0.113.9"),
        ("testclient", [], "unknown"),
        (None, [], "unknown"),
    ],
)
def test_client_ip(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_ip(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_ip("10.0.0.2", ["198.51.100.1"], ()) == "10.0.0.2"


@pytest.mark.parametrize(
    ("address", "expected"),
    [("203.0.113.77", "203.0.113.0"), ("2001:db8:1234:5678::1", "2001:db8:1234::"), ("unknown", None)],
)
def test_stored_addresses_are_truncated(address: str, expected: str | None) -> None:
    assert truncated_ip(address) == expected


@pytest.mark.parametrize(
    ("address", "subject"),
    [("203.0.113.7", "203.0.113.7"), ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"), ("unknown", "unknown")],
)
def test_rate_limits_count_ipv6_clients_by_their_64_network(address: str, subject: str) -> None:
    assert rate_limit_subject(address) == subject


@given(st.ip_addresses(v=4))
def test_ipv4_subjects_and_prefixes_match_the_ipaddress_module(address: IPv4Address) -> None:
    # IPv4 text as client_ip writes it takes a fast path that skips ipaddress: it must give the same answers.
    text = client_ip(str(address), [], ())
    assert rate_limit_subject(text) == str(address)
    assert truncated_ip(text) == str(ip_network(f"{address}/24", strict=False).network_address)


@pytest.mark.parametrize("text", ["01.2.3.4", "1.2.3", "1.2.3.256", "1.2.3.4.5", "1.2.3.-4", "1.2.3.٤"])
def test_text_that_is_not_a_plain_ipv4_address_takes_the_careful_path(text: str) -> None:
    assert truncated_ip(text) is None
