"""The client's address: the peer, or what trusted reverse proxies say in ``X-Forwarded-For``."""

from __future__ import annotations

from contextvars import ContextVar
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

__all__ = ("REQUEST_CLIENT", "client_ip", "rate_limit_subject", "truncated_ip")

REQUEST_CLIENT: ContextVar[str | None] = ContextVar("leadwire_request_client", default=None)
"""The current request's client address (:func:`client_ip`), set by ``core.middleware.remember_client``; ``None``
outside a request (the command line, workers). The audit log reads it, so that every change names where it came
from without each slice passing the address along."""

_Network = IPv4Network | IPv6Network
_UNKNOWN = "unknown"


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    candidate = value.strip()
    if candidate.startswith("[") and "]" in candidate:  # "[2001:db8::1]:443"
        candidate = candidate[1 : candidate.index("]")]
    elif candidate.count(":") == 1:  # "203.0.113.7:5000"
        candidate = candidate.split(":", 1)[0]
    try:
        address = ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPv4Address | IPv6Address, proxies: tuple[_Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_ip(peer: str | None, forwarded_for: list[str], proxies: tuple[_Network, ...]) -> str:
    """The address requests are attributed to (rate limits, stored submissions).

    ``X-Forwarded-For`` is read only when the peer is a trusted proxy, from the right: each trusted hop is skipped
    and the first address that is not a trusted proxy is the client. A client cannot spoof its address by sending
    the header itself, because the proxy nearest to us appends the real peer after whatever the client sent.

    Args:
        peer: The connection's remote address.
        forwarded_for: Every ``X-Forwarded-For`` header value, in order.
        proxies: The networks of trusted proxies (``LEADWIRE_TRUSTED_PROXIES``).
    """
    address = _parse(peer) if peer else None
    if address is None:
        return _UNKNOWN
    if not proxies or not _trusted(address, proxies):
        return str(address)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            break  # a garbled hop: trust nothing further left of it
        address = parsed
        if not _trusted(address, proxies):
            break
    return str(address)


def _plain_ipv4(address: str) -> list[str] | None:
    """The octets of ``address`` if it is an IPv4 address as :func:`client_ip` writes it, else ``None``.

    Every submission needs its address's rate-limit subject and stored prefix: this skips ``ipaddress`` for the
    common case.
    """
    octets = address.split(".")
    if len(octets) != 4:  # noqa: PLR2004
        return None
    for octet in octets:
        if not octet.isascii() or not octet.isdigit() or str(int(octet)) != octet or int(octet) > 255:  # noqa: PLR2004
            return None
    return octets


def rate_limit_subject(address: str) -> str:
    """Whom a rate limit counts: the IPv4 address, or the /64 network of an IPv6 one (one subscriber's share)."""
    if _plain_ipv4(address) is not None:
        return address
    parsed = _parse(address)
    if parsed is None or parsed.version == 4:  # noqa: PLR2004
        return address
    return str(ip_network(f"{parsed}/64", strict=False))


def truncated_ip(address: str) -> str | None:
    """The address with its host part removed (IPv4 to /24, IPv6 to /48), as stored with submissions."""
    octets = _plain_ipv4(address)
    if octets is not None:
        return ".".join((*octets[:3], "0"))
    parsed = _parse(address)
    if parsed is None:
        return None
    prefix = 24 if parsed.version == 4 else 48  # noqa: PLR2004
    return str(ip_network(f"{parsed}/{prefix}", strict=False).network_address)
