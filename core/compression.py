"""Answers travel compressed: brotli when the client prefers it, else gzip; small answers as they are."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final, Literal

from litestar.config.compression import CompressionConfig
from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware

if TYPE_CHECKING:
    from litestar.types import Message, Receive, Scope, Send

__all__ = ("COMPRESS_MIN_BYTES", "NOT_COMPRESSED", "compression_config", "preferred_encoding")

COMPRESS_MIN_BYTES: Final = 1_024
"""Smaller answers fit in a packet or two either way: compressing them costs more than it saves."""
NOT_COMPRESSED: Final = r"^/console(?!/static/)"
"""The console's pages carry the session's CSRF token and secrets shown once, beside text a lead can choose: left
uncompressed, so that their length cannot tell a secret away (BREACH). Its script is compressed."""


def _weights(accept_encoding: str) -> dict[str, float]:
    """Each coding of an ``Accept-Encoding`` header with its q-value (RFC 9110, 12.5.3); a bad q-value is 0."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.lower()] = weight if math.isfinite(weight) and 0 <= weight <= 1 else 0.0
    return weights


def preferred_encoding(accept_encoding: str) -> Literal["br", "gzip"] | None:
    """The coding to send an answer in: the client's favourite of brotli and gzip, or ``None`` for neither."""
    weights = _weights(accept_encoding)
    anything = weights.get("*", 0.0)
    brotli, gzip = weights.get("br", anything), weights.get("gzip", anything)
    if max(brotli, gzip) <= 0:
        return None
    return "br" if brotli >= gzip else "gzip"  # brotli is smaller for the same work: it wins a tie


def _vary_on_accept_encoding(send: Send) -> Send:
    """Every answer of a compressed route says it depends on Accept-Encoding, compressed or not, so that a cache
    never gives one client the coding another asked for."""

    async def send_with_vary(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableScopeHeaders(message)
            vary = headers.get("vary") or ""
            if "accept-encoding" not in vary.lower():
                headers["vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
        await send(message)

    return send_with_vary


class NegotiatedCompression(CompressionMiddleware):
    """Litestar's compression, choosing the coding by q-value rather than by substring, adding ``Vary`` to every
    answer, and leaving alone an answer that is already encoded."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        encoding = preferred_encoding(Headers.from_scope(scope).get("accept-encoding", ""))
        send = _vary_on_accept_encoding(send)
        if encoding is None:
            await self.app(scope, receive, send)
            return
        coding = CompressionEncoding.BROTLI if encoding == "br" else CompressionEncoding.GZIP
        await self.app(scope, receive, self.create_compression_send_wrapper(send, coding, scope))

    def create_compression_send_wrapper(
        self,
        send: Send,
        compression_encoding: Literal[CompressionEncoding.BROTLI, CompressionEncoding.GZIP] | str,
        scope: Scope,
    ) -> Send:
        compress = super().create_compression_send_wrapper(send, compression_encoding, scope)
        as_it_is = False

        async def send_compressed(message: Message) -> None:
            nonlocal as_it_is
            if message["type"] == "http.response.start":
                as_it_is = "content-encoding" in Headers(message.get("headers") or [])
            await (send if as_it_is else compress)(message)

        return send_compressed


def compression_config() -> CompressionConfig:
    """Brotli at a quality that costs about what gzip 6 does, gzip 6 for clients without brotli."""
    return CompressionConfig(
        backend="brotli",
        minimum_size=COMPRESS_MIN_BYTES,
        brotli_quality=4,
        gzip_compress_level=6,
        exclude=NOT_COMPRESSED,
        middleware_class=NegotiatedCompression,
    )
