"""A failed delivery attempt in words the endpoint's owner can act on, instead of the HTTP library's own text."""

from __future__ import annotations

import errno

import aiohttp

__all__ = ("describe_failure",)

_CONNECT_ERRNOS = {
    errno.ECONNREFUSED: "the connection was refused (is the receiver running?)",
    errno.ETIMEDOUT: "no answer to the connection attempt",
    errno.EHOSTUNREACH: "the host cannot be reached",
    errno.ENETUNREACH: "the network cannot be reached",
    errno.ECONNRESET: "the connection was reset",
}


def _where(exc: aiohttp.ClientConnectorError) -> str:
    host = f"[{exc.host}]" if ":" in exc.host else exc.host
    return f"{host}:{exc.port}"


def _connect_failure(exc: aiohttp.ClientConnectorError) -> str:
    # aiohttp's own text names "ssl:default" even for http URLs, and the OS error inside it is what people can act on.
    where = _where(exc)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the TLS certificate of {exc.host} could not be verified; the receiver needs a valid certificate"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return f"the TLS handshake with {where} failed; check that the URL's scheme and port speak https"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"{exc.host} does not resolve; check the host name"
    reason = _CONNECT_ERRNOS.get(exc.os_error.errno or 0) or (exc.os_error.strerror or "network error").lower()
    return f"could not connect to {where}: {reason}"


def describe_failure(exc: aiohttp.ClientError) -> str:
    """One sentence for a request that got no HTTP answer: the attempt's ``error`` in the delivery history."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _connect_failure(exc)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the receiver closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the receiver's answer was cut off"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"the receiver's answer is not valid HTTP ({exc.message})"
    if isinstance(exc, aiohttp.ClientOSError) and exc.strerror:
        return f"network error: {exc.strerror.lower()}"
    return f"network error ({type(exc).__name__})"
