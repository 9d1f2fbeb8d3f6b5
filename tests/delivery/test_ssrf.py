"""The SSRF guard: address rules, save-time URL checks, and the connect-time guard against a real local server."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import given
from hypothesis import strategies as st

from delivery.ssrf import GuardedResolver, UnsafeTargetError, check_endpoint_url, guarded_connector, is_public_address

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

PUBLIC_ADDRESSES = [
    "8.8.8.8",
    "1.1.1.1",
    "9.9.9.9",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    # IPv6 forms that carry a public IPv4 address reach that address, so they are judged by it.
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]

# Each refused category, with the words the refusal must use.
NON_PUBLIC_ADDRESSES = [
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("10.0.0.5", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("100.64.0.1", "a carrier-grade NAT address"),
    ("100.127.255.254", "a carrier-grade NAT address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("233.252.0.1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "the broadcast address"),
    ("0.0.0.0", "the unspecified address"),  # noqa: S104 - an address to refuse, not one to bind
    ("0.1.2.3", "'this network'"),
    ("198.18.0.1", "a benchmarking address"),
    ("198.19.255.255", "a benchmarking address"),
    ("192.0.2.1", "a documentation address"),
    ("198.51.100.7", "a documentation address"),
    ("203.0.113.9", "a documentation address"),
    ("192.0.0.8", "an IETF protocol-assignment address"),
    ("::1", "a loopback address"),
    ("::", "the unspecified address"),
    ("fe80::1", "a link-local address"),
    ("febf:ffff::1", "a link-local address"),
    ("fc00::1", "a unique-local (private) address"),
    ("fd12:3456:789a::1", "a unique-local (private) address"),
    ("fec0::1", "a site-local address"),
    ("ff02::1", "a multicast address"),
    ("ff0e::1", "a multicast address"),
    ("2001:db8::1", "a documentation address"),
    ("3fff::1", "a documentation address"),
    ("2001:2::1", "a benchmarking address"),
    ("100::1", "a discard-only address"),
    ("64:ff9b:1::1", "a local-use NAT64 address"),
    ("5f00::1", "a segment-routing address"),
    ("::ffff:127.0.0.1", "an IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("::ffff:10.0.0.1", "an IPv4-mapped form of 10.0.0.1, a private address"),
    ("::ffff:169.254.169.254", "an IPv4-mapped form of 169.254.169.254, a link-local address"),
    ("::7f00:1", "an IPv4-compatible form of 127.0.0.1, a loopback address"),
    ("64:ff9b::a00:1", "a NAT64 form of 10.0.0.1, a private address"),
    ("64:ff9b::7f00:1", "a NAT64 form of 127.0.0.1, a loopback address"),
    ("2002:0a00:0001::1", "a 6to4 form of 10.0.0.1, a private address"),
    ("2002:a9fe:a9fe::1", "a 6to4 form of 169.254.169.254, a link-local address"),
    # Teredo: server 65.54.227.120 (public), client 192.0.2.45 (documentation), the RFC 4380 example.
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo form of 192.0.2.45, a documentation address"),
    ("2001:0:a00:1::", "a Teredo form of 10.0.0.1, a private address"),
]

NON_PUBLIC_NETWORKS = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]

V4_EMBEDDINGS: list[Callable[[ipaddress.IPv4Address], ipaddress.IPv6Address]] = [
    lambda v4: ipaddress.IPv6Address(f"::ffff:{v4}"),
    lambda v4: ipaddress.IPv6Address(f"64:ff9b::{v4}"),
    lambda v4: ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | 1),
    lambda v4: ipaddress.IPv6Address(int(v4)),
]


def literal_url(address: str) -> str:
    return f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook"


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_accepted(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
async def test_public_ip_literals_pass_the_save_time_check_without_dns(address: str) -> None:
    url = literal_url(address)
    assert await check_endpoint_url(url, allow_private=False) == url


@pytest.mark.parametrize(("address", "reason"), NON_PUBLIC_ADDRESSES)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(("address", "reason"), NON_PUBLIC_ADDRESSES)
async def test_refusing_an_ip_literal_says_what_kind_of_address_it_is(address: str, reason: str) -> None:
    with pytest.raises(UnsafeTargetError) as refused:
        await check_endpoint_url(literal_url(address), allow_private=False)
    assert reason in str(refused.value)
    assert "public" in str(refused.value)


@given(st.sampled_from(NON_PUBLIC_NETWORKS).flatmap(lambda network: st.ip_addresses(network=network)))
def test_every_address_in_a_non_public_network_is_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert not is_public_address(address)


@given(st.ip_addresses(v=4), st.sampled_from(V4_EMBEDDINGS))
def test_ipv6_forms_carrying_an_ipv4_address_are_judged_by_it(
    v4: ipaddress.IPv4Address, embed: Callable[[ipaddress.IPv4Address], ipaddress.IPv6Address]
) -> None:
    assert is_public_address(embed(v4)) == is_public_address(v4)


@given(st.ip_addresses(network="10.0.0.0/8") | st.ip_addresses(network="127.0.0.0/8"))
def test_ipv4_mapped_private_and_loopback_addresses_are_refused(v4: ipaddress.IPv4Address) -> None:
    assert not is_public_address(ipaddress.IPv6Address(f"::ffff:{v4}"))


REFUSED_URLS = [
    ("file:///etc/passwd", "only http and https"),
    ("ftp://x", "only http and https"),
    ("gopher://example.com:70/_", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("example.com/hook", "only http and https"),
    ("not a url", "spaces"),
    ("", "empty"),
    ("   ", "empty"),
    ("http://", "no host"),
    ("https:///hook", "no host"),
    ("http://user:pw@example.com/", "user:password@"),
    ("http://user@1.1.1.1/", "user:password@"),
    ("http://1.1.1.1@127.0.0.1/", "user:password@"),
    ("http://1.1.1.1:0/", "port"),
    ("http://1.1.1.1:99999/", "port"),
    ("http://1.1.1.1:http/", "port"),
    ("http://[::1/", "not a valid URL"),
    ("http://[1.1.1.1]/", "not a valid URL"),
    ("https://1.1.1.1/a b", "spaces"),
    ("https://1.1.1.1/\x00", "control characters"),
    ("https://1.1.1.1/\thook", "control characters"),
    ("https://1.1.1.1/\u200bhook", "control characters"),
    ("https://1.1.1.1/" + "a" * 2000, "longer than 2000"),
    ("https://exa%6dple.com/", "may only contain"),
    ("https://b\u00fccher.example/", "xn--"),
    ("https://a..b/", "not a valid host name"),
    ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
    ("http://localhost/", "localhost resolves to"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1"),
    ("http://169.254.169.254/latest/meta-data", "a link-local address"),
    ("http://100.64.0.1/", "a carrier-grade NAT address"),
    ("http://0.0.0.0/", "the unspecified address"),
    ("http://10.1.2.3/", "10.1.2.3 is a private address"),
    ("http://2130706433/", "2130706433 means 127.0.0.1, a loopback address"),
    ("http://0x7f.1/", "0x7f.1 means 127.0.0.1, a loopback address"),
    ("http://017700000001/", "means 127.0.0.1"),
    ("http://127.1/", "means 127.0.0.1"),
    ("http://0/", "0 means 0.0.0.0"),
    ("https://no-such-host.invalid/", "no-such-host.invalid does not resolve"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS)
async def test_unsafe_or_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTargetError, match=re.escape(reason)):
        await check_endpoint_url(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("  HTTPS://1.1.1.1/Hook?Token=AbC#Frag \n", "https://1.1.1.1/Hook?Token=AbC#Frag"),
        ("Http://[2606:4700:4700::1111]:8443/x", "http://[2606:4700:4700::1111]:8443/x"),
        ("https://1.1.1.1:443", "https://1.1.1.1:443"),
        ("https://1.1.1.1", "https://1.1.1.1"),
    ],
)
async def test_accepted_urls_are_normalised(url: str, expected: str) -> None:
    assert await check_endpoint_url(url, allow_private=False) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
        ("HTTP://LocalHost:3000/in", "http://localhost:3000/in"),
        ("http://[::1]/", "http://[::1]/"),
        ("http://10.1.2.3/", "http://10.1.2.3/"),
        ("https://crm.internal/hook", "https://crm.internal/hook"),
    ],
)
async def test_allow_private_accepts_internal_targets_without_looking_them_up(url: str, expected: str) -> None:
    assert await check_endpoint_url(url, allow_private=True) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("not a url", "spaces"),
        ("", "empty"),
        ("http://", "no host"),
        ("http://user:pw@127.0.0.1/", "user:password@"),
        ("http://127.0.0.1:0/", "port"),
        ("http://2130706433/", "non-standard way of writing the IP address 127.0.0.1; write 127.0.0.1"),
        ("http://0x7f.1/", "write 127.0.0.1 instead"),
    ],
)
async def test_allow_private_still_applies_the_syntactic_checks(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTargetError, match=re.escape(reason)):
        await check_endpoint_url(url, allow_private=True)


@given(st.text(max_size=60) | st.builds("http://{}".format, st.text(max_size=40)))
async def test_the_url_check_only_ever_refuses_with_unsafe_target_error_and_is_idempotent(url: str) -> None:
    try:
        normalised = await check_endpoint_url(url, allow_private=True)
    except UnsafeTargetError:
        return
    assert await check_endpoint_url(normalised, allow_private=True) == normalised


def test_a_refusal_is_not_a_connection_error() -> None:
    # Callers rely on this to tell "refused, do not retry" from failures worth retrying.
    assert issubclass(UnsafeTargetError, ValueError)
    assert not issubclass(UnsafeTargetError, OSError)
    assert not issubclass(UnsafeTargetError, aiohttp.ClientError)


@dataclass
class Receiver:
    port: int
    received: list[bytes]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    received: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port: int = runner.addresses[0][1]
        yield Receiver(port=port, received=received)
    finally:
        await runner.cleanup()


@dataclass
class StaticResolver(AbstractResolver):
    """Answers from a fixed table: stands in for a DNS server whose answers an attacker controls."""

    table: dict[str, list[str]]
    asked: list[str] = field(default_factory=list)
    closed: bool = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"{host} is not in the test table")
        wanted = {socket.AF_INET, socket.AF_INET6} if family == socket.AF_UNSPEC else {family}
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in self.table[host]
            if (socket.AF_INET6 if ":" in address else socket.AF_INET) in wanted
        ]

    async def close(self) -> None:
        self.closed = True


async def deliver(url: str, connector: aiohttp.TCPConnector) -> int:
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(url, json={"lead": 1}, allow_redirects=False) as response,
    ):
        return response.status


async def test_the_guard_lets_a_delivery_through_when_private_targets_are_allowed(receiver: Receiver) -> None:
    connector = guarded_connector(allow_private=True, limit=10, limit_per_host=2)
    assert await deliver(f"http://127.0.0.1:{receiver.port}/", connector) == 204
    assert receiver.received == [b'{"lead": 1}']


async def test_the_guard_refuses_a_loopback_ip_literal_before_connecting(receiver: Receiver) -> None:
    connector = guarded_connector(allow_private=False, limit=10, limit_per_host=2)
    with pytest.raises(UnsafeTargetError, match=re.escape("127.0.0.1 is a loopback address")):
        await deliver(f"http://127.0.0.1:{receiver.port}/", connector)
    assert receiver.received == []
    assert connector.closed


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("[::1]", "::1 is a loopback address"),
        ("[::ffff:127.0.0.1]", "IPv4-mapped form of 127.0.0.1"),
        ("2130706433", "2130706433 means 127.0.0.1"),
        ("0x7f.1", "0x7f.1 means 127.0.0.1"),
        ("localhost", "localhost resolves to"),
    ],
)
async def test_the_guard_refuses_other_spellings_of_loopback(receiver: Receiver, host: str, reason: str) -> None:
    connector = guarded_connector(allow_private=False, limit=10, limit_per_host=2)
    with pytest.raises(UnsafeTargetError, match=re.escape(reason)):
        await deliver(f"http://{host}:{receiver.port}/", connector)
    assert receiver.received == []


async def test_the_guard_refuses_non_standard_ipv4_even_when_private_targets_are_allowed(receiver: Receiver) -> None:
    connector = guarded_connector(allow_private=True, limit=10, limit_per_host=2)
    with pytest.raises(UnsafeTargetError, match="non-standard"):
        await deliver(f"http://2130706433:{receiver.port}/", connector)
    assert receiver.received == []


async def test_other_connection_failures_stay_aiohttp_client_errors() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    connector = guarded_connector(allow_private=True, limit=10, limit_per_host=2)
    with pytest.raises(aiohttp.ClientConnectorError) as failed:
        await deliver(f"http://127.0.0.1:{closed_port}/", connector)
    assert not isinstance(failed.value.__cause__, UnsafeTargetError)


@pytest.mark.parametrize("wrap", [False, True], ids=["plain-inner", "guarded-inner"])
async def test_dns_rebinding_to_loopback_is_refused_at_connect_time(receiver: Receiver, wrap: bool) -> None:
    dns = StaticResolver({"rebind.test": ["127.0.0.1"]})
    resolver: AbstractResolver = GuardedResolver(allow_private=False, inner=dns) if wrap else dns
    connector = guarded_connector(allow_private=False, limit=10, limit_per_host=2, resolver=resolver)
    with pytest.raises(UnsafeTargetError, match=re.escape("rebind.test resolves to a private or reserved address")):
        await deliver(f"http://rebind.test:{receiver.port}/", connector)
    assert dns.asked == ["rebind.test"]
    assert receiver.received == []
    # The connector closes only the resolver it made; the one passed in stays the caller's.
    assert not dns.closed
    await resolver.close()


async def test_a_name_is_refused_if_any_of_its_addresses_is_not_public(receiver: Receiver) -> None:
    dns = StaticResolver({"mixed.test": ["1.1.1.1", "2606:4700:4700::1111", "127.0.0.1"]})
    connector = guarded_connector(allow_private=False, limit=10, limit_per_host=2, resolver=dns)
    with pytest.raises(UnsafeTargetError, match=re.escape("mixed.test resolves to a private or reserved address")):
        await deliver(f"http://mixed.test:{receiver.port}/", connector)
    assert receiver.received == []


async def test_the_same_resolver_reaches_the_server_when_private_targets_are_allowed(receiver: Receiver) -> None:
    # The control for the rebinding test: the name really does lead to the server, so the guard is what stopped it.
    dns = StaticResolver({"rebind.test": ["127.0.0.1"]})
    connector = guarded_connector(allow_private=True, limit=10, limit_per_host=2, resolver=dns)
    assert await deliver(f"http://rebind.test:{receiver.port}/", connector) == 204
    assert receiver.received == [b'{"lead": 1}']


async def test_guarded_resolver_on_its_own() -> None:
    dns = StaticResolver({"public.test": ["1.1.1.1"], "rebind.test": ["1.1.1.1", "10.0.0.5"]})
    strict = GuardedResolver(allow_private=False, inner=dns)
    lenient = GuardedResolver(allow_private=True, inner=dns)
    assert [result["host"] for result in await strict.resolve("public.test", 443)] == ["1.1.1.1"]
    with pytest.raises(UnsafeTargetError, match=re.escape("rebind.test resolves to a private or reserved address")):
        await strict.resolve("rebind.test", 443)
    assert [result["host"] for result in await lenient.resolve("rebind.test", 443)] == ["1.1.1.1", "10.0.0.5"]
    with pytest.raises(OSError, match="not in the test table"):
        await strict.resolve("missing.test", 443)
    await strict.close()
    assert not dns.closed


async def test_guarded_resolver_checks_what_the_system_resolver_returns() -> None:
    resolver = GuardedResolver(allow_private=False)
    try:
        with pytest.raises(UnsafeTargetError, match=re.escape("localhost resolves to")):
            await resolver.resolve("localhost", 80, socket.AF_UNSPEC)
    finally:
        await resolver.close()


@pytest.mark.parametrize(
    "answer",
    ["10.1.2.3", "127.0.0.1", "169.254.169.254", "fd12:3456::1", "64:ff9b::a01:203", "::ffff:10.1.2.3", "10.1.2.3.x"],
)
async def test_refusing_a_name_says_why_but_not_what_it_resolves_to(answer: str) -> None:
    # What an internal name resolves to is the internal network's map: the owner of the endpoint learns only that
    # the name leads somewhere not public, on registration (save time) and in the delivery history (connect time).
    dns = StaticResolver({"priv.example": ["1.1.1.1", answer]})
    resolver = GuardedResolver(allow_private=False, inner=dns)

    with pytest.raises(UnsafeTargetError) as refused:
        await resolver.resolve("priv.example", 443, socket.AF_UNSPEC)

    message = str(refused.value)
    said = "a private or reserved address" if answer != "10.1.2.3.x" else "something that is not an IP address"
    assert message.startswith(f"priv.example resolves to {said};"), message
    assert "public" in message
    for leak in (answer, "10.1.2.3", "a01:203", "loopback", "link-local", "unique-local", "NAT64", "1.1.1.1"):
        assert leak not in message
