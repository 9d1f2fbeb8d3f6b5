"""Slow clients on raw sockets of 127.0.0.1: requests sent a byte at a time, or in a few pieces."""

from __future__ import annotations

import asyncio
import time

__all__ = ("Slowpoke", "in_pieces", "run_all")


class Slowpoke:
    """A connection that sends ``at_once``, then ``slowly`` one byte every ``every`` seconds, and records what the
    server did: how long it kept the connection open and what it answered."""

    def __init__(
        self, port: int, *, at_once: bytes = b"", slowly: bytes = b"", every: float = 0.3, give_up: float = 15.0
    ) -> None:
        self.port = port
        self.at_once = at_once
        self.slowly = slowly
        self.every = every
        self.give_up = give_up
        self.held_s = 0.0
        """How long the server kept the connection open (about ``give_up`` when it never closed it)."""
        self.answer = b""

    async def run(self) -> Slowpoke:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        started = time.monotonic()
        pending = list(self.slowly)
        try:
            writer.write(self.at_once)
            while time.monotonic() - started < self.give_up:
                if pending:
                    writer.write(bytes([pending.pop(0)]))
                await writer.drain()
                try:
                    chunk = await asyncio.wait_for(reader.read(65_536), self.every)
                except TimeoutError:
                    continue
                if not chunk:
                    break  # the server closed the connection
                self.answer += chunk
        except OSError:
            pass  # reset by the server: closed as well
        finally:
            self.held_s = time.monotonic() - started
            writer.close()
        return self

    @property
    def status(self) -> int | None:
        """The status of the first answer, if any."""
        line = self.answer.split(b"\r\n", 1)[0].split()
        return int(line[1]) if len(line) > 1 else None

    @property
    def head(self) -> bytes:
        """The first answer's status line and headers, in lower case."""
        return self.answer.partition(b"\r\n\r\n")[0].lower()


async def run_all(clients: list[Slowpoke], label: str) -> list[Slowpoke]:
    """Run the clients at once; print how long each connection was held (``pytest -s`` shows it)."""
    done = list(await asyncio.gather(*(client.run() for client in clients)))
    print(f"{label}: held", ", ".join(f"{client.held_s:.1f} s" for client in done))  # noqa: T201
    return done


async def in_pieces(port: int, pieces: list[bytes], pause: float) -> bytes:
    """A slow but reasonable client: sends the pieces ``pause`` seconds apart; returns the answer's head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for index, piece in enumerate(pieces):
            if index:
                await asyncio.sleep(pause)
            writer.write(piece)
            await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()
