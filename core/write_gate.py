"""This process's SQLite write transactions, one at a time and first come, first served."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import TimeoutError as SATimeoutError

__all__ = ("NestedWriteError", "WriteGate", "WriteTurn")


class NestedWriteError(RuntimeError):
    """A task asked for a write transaction while it held another one: on SQLite it would wait for itself."""


class WriteTurn:
    """One write transaction's place in its gate: taken when the transaction begins, given back when it ends."""

    __slots__ = ("gate", "task")

    def __init__(self, gate: WriteGate) -> None:
        self.gate = gate
        self.task: asyncio.Task[object] | None = None
        """The task that took the turn, while it is held."""

    async def take(self) -> None:
        """Wait until every write transaction of this process that asked earlier has ended (at once if held)."""
        await self.gate.take(self)

    def give_back(self) -> None:
        """The transaction has ended: the next in line may begin. Does nothing when the turn is not held."""
        self.gate.give_back(self)


class WriteGate:
    """The order in which this process's write transactions get SQLite's write lock: the order they asked for it.

    Left to SQLite, a transaction that finds the lock taken sleeps in the busy handler (1, 2, 5, 10 … 100 ms) and
    retries, and whoever asks in the meantime takes the lock first: the ingest writer's back-to-back group commits
    took it again and again while the delivery worker slept. Here each write transaction takes its turn (a FIFO
    lock) just before its ``BEGIN IMMEDIATE`` and gives it back once it has committed or rolled back, so inside one
    process the busy handler never decides the order; it still orders this process against others on the file.
    """

    def __init__(self, *, timeout_s: float) -> None:
        self._lock = asyncio.Lock()  # wakes waiters in the order they came; one that leaves passes the lock on
        self._holder: WriteTurn | None = None
        self._timeout_s = timeout_s

    def turn(self) -> WriteTurn:
        """A place in line for one transaction, to be taken when it begins."""
        return WriteTurn(self)

    async def take(self, turn: WriteTurn) -> None:
        """Wait for ``turn``: after every turn taken or asked for before it.

        Raises:
            NestedWriteError: The calling task holds another turn; waiting would never end.
            sqlalchemy.exc.TimeoutError: The turn did not come within the timeout (the busy timeout), as when
                SQLite's busy handler gives up: the caller may retry, and the API answers 503.
        """
        if self._holder is turn:
            return
        task = asyncio.current_task()
        if self._holder is not None and self._holder.task is task:
            raise NestedWriteError("a write transaction began inside another one of the same task")
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._lock.acquire()
        except TimeoutError:
            raise SATimeoutError(
                f"waited {self._timeout_s:g} s for this process's other write transactions to end"
            ) from None
        self._holder, turn.task = turn, task

    def give_back(self, turn: WriteTurn) -> None:
        """End ``turn`` if it is held; the next in line gets the lock."""
        if self._holder is turn:
            self._holder, turn.task = None, None
            self._lock.release()
