"""Keeps webhook deliveries off private and internal networks, checked at save time and again at connect time."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import string
import unicodedata
from typing import TYPE_CHECKING, Final, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from aiohttp.abc import ResolveResult
    from aiohttp.tracing import Trace

__all__ = (
    "GuardedResolver",
    "NonPublicTargetError",
    "UnsafeTargetError",
    "check_endpoint_url",
    "guarded_connector",
    "is_public_address",
)

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

# The connect-time guard for IP-literal hosts overrides this method, because aiohttp never hands IP literals to the
# resolver. If a future aiohttp drops it, the override would silently stop running: refuse to import instead.
if not hasattr(aiohttp.TCPConnector, "_resolve_host"):  # pragma: no cover
    raise ImportError("aiohttp.TCPConnector has no _resolve_host; delivery.ssrf cannot guard IP-literal hosts")

_MAX_URL_LENGTH: Final = 2000
_MAX_HOST_LENGTH: Final = 253
_MAX_LABEL_LENGTH: Final = 63
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_HOST_CHARACTERS: Final = frozenset(string.ascii_letters + string.digits + "-._")
_RESOLVE_TIMEOUT: Final = 10.0
_ONLY_PUBLIC: Final = "webhooks can only be delivered to public internet addresses"

# First match wins, so narrower ranges come before the ranges that contain them. The stdlib's ``is_global`` is
# consulted afterwards but cannot be relied on alone: on Python 3.11 it calls multicast, site-local (fec0::/10) and
# the newer documentation range 3fff::/20 global.
_IPV4_BLOCKED: Final = tuple(
    (ipaddress.IPv4Network(network), reason)
    for network, reason in (
        ("0.0.0.0/32", "the unspecified address"),
        ("0.0.0.0/8", "a 'this network' address (0.0.0.0/8)"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address (cloud metadata services live here)"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol-assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)
_IPV6_BLOCKED: Final = tuple(
    (ipaddress.IPv6Network(network), reason)
    for network, reason in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001:2::/48", "a benchmarking address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a segment-routing address"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)


def _low_32_bits(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return (ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF),)


def _sixtofour(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    return (ipaddress.IPv4Address((int(address) >> 80) & 0xFFFF_FFFF),)


def _teredo(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    server_and_client = address.teredo
    assert server_and_client is not None  # every address in 2001::/32 has both
    return server_and_client


# Traffic to these reaches the embedded IPv4 address (through the kernel, a NAT64 gateway or a tunnel relay), so they
# are judged by it. NAT64 matters in practice: DNS64 on IPv6-only hosts answers 64:ff9b::a.b.c.d for IPv4-only names.
_IPV6_EMBEDDING_IPV4: Final[
    tuple[tuple[ipaddress.IPv6Network, str, Callable[[ipaddress.IPv6Address], tuple[ipaddress.IPv4Address, ...]]], ...]
] = (
    (ipaddress.IPv6Network("::ffff:0:0/96"), "an IPv4-mapped form of", _low_32_bits),
    (ipaddress.IPv6Network("64:ff9b::/96"), "a NAT64 form of", _low_32_bits),
    (ipaddress.IPv6Network("2002::/16"), "a 6to4 form of", _sixtofour),
    (ipaddress.IPv6Network("2001::/32"), "a Teredo form of", _teredo),
    (ipaddress.IPv6Network("::/96"), "an IPv4-compatible form of", _low_32_bits),
)

# A second net under the tables, in case they miss a range the stdlib knows about.
_PREDICATES: Final[tuple[tuple[Callable[[IPAddress], bool], str], ...]] = (
    (lambda address: address.is_unspecified, "the unspecified address"),
    (lambda address: address.is_loopback, "a loopback address"),
    (lambda address: address.is_link_local, "a link-local address"),
    (lambda address: address.is_multicast, "a multicast address"),
    (lambda address: address.is_private, "a private address"),
    (lambda address: address.is_reserved, "a reserved address"),
    (lambda address: isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "a site-local address"),
    (lambda address: not address.is_global, "not a globally routable address"),
)


class UnsafeTargetError(ValueError):
    """A webhook URL or address was refused; the message says why in words the endpoint's owner can act on.

    It is deliberately not an ``OSError`` nor an ``aiohttp.ClientError``: when the connect-time guard raises it inside
    an aiohttp request it propagates unwrapped, so a caller can tell "refused, do not retry" from a network failure.
    """


class NonPublicTargetError(UnsafeTargetError):
    """The URL is well formed but leads to a loopback, private or reserved address.

    The one refusal that ``LEADWIRE_ALLOW_PRIVATE_WEBHOOK_TARGETS`` lifts, so the API can say so (and no other).
    """


def _refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not public (a phrase such as ``"a private address"``), or ``None`` if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # A zone ID says which interface to use; it does not change where the address points.
        address = ipaddress.IPv6Address(address.packed)
        blocked: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = _IPV6_BLOCKED
    else:
        blocked = _IPV4_BLOCKED
    for network, reason in blocked:
        if address in network:
            return reason
    if isinstance(address, ipaddress.IPv6Address):
        for network, form, embedded in _IPV6_EMBEDDING_IPV4:
            if address in network:
                for inner in embedded(address):
                    inner_reason = _refusal(inner)
                    if inner_reason is not None:
                        return f"{form} {inner}, {inner_reason}"
                return None
    for predicate, reason in _PREDICATES:
        if predicate(address):
            return reason
    return None


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a webhook may be delivered to ``address``.

    Refuses loopback, private, link-local, carrier-grade NAT, multicast, broadcast, reserved, unspecified,
    benchmarking, documentation and IPv6 unique-local and site-local addresses. IPv6 forms that carry an IPv4 address
    (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address they carry.

    Args:
        address: The address a connection would be made to.

    Returns:
        ``True`` only for globally routable unicast addresses.
    """
    return _refusal(address) is None


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a non-standard IPv4 spelling such as ``2130706433`` or ``0x7f.1`` stands for, else ``None``.

    ``getaddrinfo`` and many HTTP clients accept these spellings while URL parsers and allow-lists do not, a classic
    way to slip past address checks; aiohttp 3.14 itself refuses to connect to the all-decimal ones.
    """
    if not host or _parse_address(host) is not None:
        return None
    try:
        # inet_aton is the parser glibc's getaddrinfo uses for numeric IPv4 hosts, and it never touches DNS.
        packed = socket.inet_aton(host)
    except OSError:
        return None
    return ipaddress.IPv4Address(packed)


def _describe(host: str, address: IPAddress, reason: str) -> str:
    if _parse_address(host) == address:
        return f"{address} is {reason}; {_ONLY_PUBLIC}"
    # What a name resolves to maps the network it resolves in (the message reaches the API and the delivery history):
    # say that the name leads somewhere not public, never where, nor what kind of place that is.
    return f"{host} resolves to a private or reserved address; {_ONLY_PUBLIC}"


def _refuse_non_public(host: str, addresses: Sequence[str]) -> None:
    """Raise ``UnsafeTargetError`` if any of ``addresses`` (what ``host`` resolved to) is not public."""
    for text in addresses:
        address = _parse_address(text)
        if address is None:
            # Fail closed: an answer we cannot read is not an answer we can vouch for (nor one to repeat).
            raise UnsafeTargetError(f"{host} resolves to something that is not an IP address; {_ONLY_PUBLIC}")
        reason = _refusal(address)
        if reason is not None:
            raise NonPublicTargetError(_describe(host, address, reason))


def _refuse_legacy_ipv4(host: str, *, allow_private: bool) -> None:
    legacy = _legacy_ipv4(host)
    if legacy is None:
        return
    reason = None if allow_private else _refusal(legacy)
    if reason is not None:
        raise NonPublicTargetError(f"{host} means {legacy}, {reason}; {_ONLY_PUBLIC}")
    raise UnsafeTargetError(f"{host} is a non-standard way of writing the IP address {legacy}; write {legacy} instead")


def _is_space_or_control(character: str) -> bool:
    return character.isspace() or unicodedata.category(character) in {"Cc", "Cf", "Cs", "Co", "Cn"}


def _check_host_name(host: str) -> None:
    if not host.isascii():
        raise UnsafeTargetError("write an internationalised host name in its ASCII form (the one starting with xn--)")
    if not set(host) <= _HOST_CHARACTERS:
        raise UnsafeTargetError(f"the host name {host!r} may only contain letters, digits, '-', '.' and '_'")
    labels = host.removesuffix(".").split(".")
    if len(host) > _MAX_HOST_LENGTH or not all(0 < len(label) <= _MAX_LABEL_LENGTH for label in labels):
        raise UnsafeTargetError(f"{host!r} is not a valid host name (check for empty or over-long parts)")


def _check_text(text: str) -> None:
    if not text:
        raise UnsafeTargetError("the URL is empty")
    if len(text) > _MAX_URL_LENGTH:
        raise UnsafeTargetError(f"the URL is longer than {_MAX_URL_LENGTH} characters")
    if any(_is_space_or_control(character) for character in text):
        raise UnsafeTargetError("the URL contains spaces or control characters; percent-encode or remove them")


def _split(url: str) -> tuple[str, str, int]:
    """Check ``url`` syntactically; return it normalised, with its host and the port a connection would use."""
    text = url.strip()
    _check_text(text)
    try:
        parts = urlsplit(text)
    except ValueError:
        raise UnsafeTargetError("this is not a valid URL; check the brackets around the IPv6 address") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        found = f" (it starts with {scheme}:)" if scheme else ""
        raise UnsafeTargetError(f"only http and https URLs can receive webhooks; start the URL with https://{found}")
    if "@" in parts.netloc:
        raise UnsafeTargetError("remove the user:password@ part of the URL; send credentials in a header instead")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise UnsafeTargetError("the port must be a number from 1 to 65535")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeTargetError("the URL has no host name")
    if parts.netloc.startswith("["):
        if "%" in host or not isinstance(_parse_address(host), ipaddress.IPv6Address):
            raise UnsafeTargetError("only an IPv6 address (without a %zone) may appear in [brackets]")
        netloc = f"[{host}]"
    else:
        _check_host_name(host)
        netloc = host
    if port is not None:
        netloc = f"{netloc}:{port}"
    normalised = urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))
    return normalised, host, port or _DEFAULT_PORTS[scheme]


async def _resolve(host: str, port: int) -> list[str]:
    try:
        async with asyncio.timeout(_RESOLVE_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise UnsafeTargetError(f"{host} did not resolve within {_RESOLVE_TIMEOUT:g} seconds; try again") from None
    except (OSError, UnicodeError):
        infos = []
    if not infos:
        raise UnsafeTargetError(f"{host} does not resolve; check the host name")
    return [str(sockaddr[0]) for *_, sockaddr in infos]


async def check_endpoint_url(url: str, *, allow_private: bool) -> str:
    """Check a webhook endpoint URL before it is saved, and normalise it.

    Only http and https URLs with a host are accepted; credentials in the URL, bad ports, spaces, control characters,
    non-standard IPv4 spellings and URLs over 2000 characters are refused. Unless ``allow_private``, the host must be a
    public IP address or a name all of whose addresses are public. The same rules are enforced again at connect time
    by ``guarded_connector``, since what a name resolves to can change after it is saved.

    Args:
        url: The URL as the user typed it.
        allow_private: Skip the address checks (and the DNS lookup), for self-hosted installs that deliver to their
            own network; the syntactic checks still apply.

    Returns:
        The URL with surrounding whitespace stripped and its scheme and host lower-cased.

    Raises:
        UnsafeTargetError: With a message saying why the URL was refused.
    """
    normalised, host, port = _split(url)
    _refuse_legacy_ipv4(host, allow_private=allow_private)
    if allow_private:
        return normalised
    addresses = [host] if _parse_address(host) is not None else await _resolve(host, port)
    _refuse_non_public(host, addresses)
    return normalised


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses names resolving to any non-public address.

    Checking each lookup as the connection is made is what stops DNS rebinding: a name that resolved to a public
    address when the endpoint was saved cannot later be pointed at 127.0.0.1 or the cloud metadata service. It raises
    ``UnsafeTargetError``, which aiohttp does not wrap (it only wraps ``OSError`` from resolvers, into
    ``ClientConnectorDNSError``), so the caller sees the refusal itself rather than something that looks retryable.
    """

    def __init__(self, *, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        """Wrap ``inner`` (by default a ``ThreadedResolver``, created on first use and closed with this resolver)."""
        self._allow_private = allow_private
        self._inner = inner
        self._owns_inner = inner is None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host`` with the inner resolver, then refuse it unless every address is public."""
        if self._inner is None:
            # ThreadedResolver needs a running loop, which the constructor may not have.
            self._inner = ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            _refuse_non_public(host, [result["host"] for result in results])
        return results

    async def close(self) -> None:
        """Close the inner resolver if this resolver created it."""
        if self._owns_inner and self._inner is not None:
            await self._inner.close()


class _GuardedConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that checks every address it is about to connect to, IP literals included."""

    def __init__(
        self, *, allow_private: bool, resolver: AbstractResolver, owns_resolver: bool, limit: int, limit_per_host: int
    ) -> None:
        super().__init__(resolver=resolver, limit=limit, limit_per_host=limit_per_host)
        self._allow_private = allow_private
        self._owns_guarded_resolver = owns_resolver
        self._guarded_resolver = resolver

    async def _resolve_host(self, host: str, port: int, traces: Sequence[Trace] | None = None) -> list[ResolveResult]:
        # aiohttp answers IP-literal hosts here without asking the resolver, so this is the one place that sees every
        # address before connecting. Names were checked by GuardedResolver already; checking again costs nothing and
        # also covers answers served from aiohttp's DNS cache.
        _refuse_legacy_ipv4(host, allow_private=self._allow_private)
        results = await super()._resolve_host(host, port, traces=traces)
        if not self._allow_private:
            _refuse_non_public(host, [result["host"] for result in results])
        return results

    async def close(self, *, abort_ssl: bool = False) -> None:
        try:
            await super().close(abort_ssl=abort_ssl)
        finally:
            if self._owns_guarded_resolver:
                await self._guarded_resolver.close()


def guarded_connector(
    *, allow_private: bool, limit: int, limit_per_host: int, resolver: AbstractResolver | None = None
) -> aiohttp.TCPConnector:
    """A connector for webhook deliveries that will not connect to non-public addresses.

    Every address is checked as the connection is made, whether the URL names a host or an IP literal, so DNS
    rebinding and IP literals cannot get through. A refused target raises ``UnsafeTargetError`` out of the request
    (``session.post(...)``) unwrapped; every other connection failure is an ``aiohttp.ClientError``. Redirects are not
    followed here: send with ``allow_redirects=False`` and check any ``Location`` like a new endpoint. Do not combine
    it with an HTTP proxy (``proxy=`` or ``trust_env=True``): the proxy would resolve and connect to the target itself.

    Must be called with an event loop running.

    Args:
        allow_private: Skip the address checks (the non-standard IPv4 spelling check still applies).
        limit: Most connections open at once.
        limit_per_host: Most connections open at once to one host.
        resolver: Resolves names; wrapped in a ``GuardedResolver`` unless it is one. The caller still owns and closes
            it; when omitted, the connector creates a resolver and closes it with itself.

    Returns:
        A ``TCPConnector``; hand it to one ``aiohttp.ClientSession``, which closes it.
    """
    guarded = resolver if isinstance(resolver, GuardedResolver) else None
    if guarded is None:
        guarded = GuardedResolver(allow_private=allow_private, inner=resolver)
    return _GuardedConnector(
        allow_private=allow_private,
        resolver=guarded,
        owns_resolver=guarded is not resolver,
        limit=limit,
        limit_per_host=limit_per_host,
    )
