"""On SQLite, the delivery worker's write transactions take their turn between the ingest writer's group commits.

SQLite has one write lock per file. Inside one process the order in which write transactions get it must be the
order in which they asked: left to SQLite's busy handler, a transaction that finds the lock taken sleeps (1, 2, 5,
10 … 100 ms) and the writer's back-to-back group commits take the lock again and again before it wakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from sqlalchemy import event

from core.database import utcnow
from core.ids import new_id
from delivery import service as delivery
from delivery.schemas import EndpointCreate
from delivery.worker import DeliveryWorker
from forms import service as forms
from forms.schemas import FormCreate
from ingest.persist import Pending
from ingest.validate import CleanSubmission
from ingest.writer import SubmissionWriter
from tests.conftest import make_settings, new_tenant
from tests.delivery.conftest import FAST_WORKER
from tests.ingest.conftest import FORM

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy.engine import Connection, Engine

    from core.database import Database
    from core.settings import Settings
    from core.write_gate import WriteTurn
    from forms.models import Form
    from tests.webhooks import Receiver

WRITER_TASK = "leadwire-submission-writer"
SUBMISSIONS = 300
PER_SECOND = 200
# A commit that takes this long holds the lock while the writer's next batch queues up behind it, as on a disk where
# each commit waits for the device: the writer then commits back to back, as under heavy load.
WRITER_COMMIT_S = 0.01
# First come, first served: a write transaction that asks while a batch holds the lock waits for that batch (and for
# any that asked before it), never for one that asked after it.
MOST_OVERTAKES = 0


@dataclass
class WriteTransaction:
    task: str
    asked: int  # positions in the ordering log
    granted: int = -1
    ended: int = -1


class WriteOrder:
    """Who asked for a transaction, who got SQLite's write lock (``BEGIN IMMEDIATE`` returned) and when each ended.

    Engine events, so they see every transaction of the app: a session's transaction asks as soon as it has a pooled
    connection (``engine_connect``, just before its ``BEGIN``); it ends with its commit or rollback. The writer's
    batches run in the SQLite writer thread (``Database.transact``) on an engine of their own: each asks when the
    writer task asks the process's write gate for its turn, and is granted at its ``BEGIN IMMEDIATE`` in the thread.
    """

    def __init__(self, db: Database) -> None:
        self.position = 0
        self.asking: dict[int, WriteTransaction] = {}
        self.open: dict[int, WriteTransaction] = {}
        self.writes: list[WriteTransaction] = []
        assert db._writer is not None  # an SQLite file: batches go through the writer thread
        assert db._gate is not None
        self._gate = db._gate
        self._take = db._gate.take
        self._engines: list[Engine] = [db.engine.sync_engine, db._writer.engine]
        self._listeners: list[tuple[str, Callable[..., None]]] = [
            ("engine_connect", self._asked),
            ("after_cursor_execute", self._executed),
            ("commit", self._ended),
            ("rollback", self._ended),
        ]
        self._thread_asking: WriteTransaction | None = None

    def __enter__(self) -> WriteOrder:
        for engine in self._engines:
            for name, listener in self._listeners:
                event.listen(engine, name, listener)
        self._gate.take = self._taking  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        self._gate.take = self._take  # type: ignore[method-assign]
        for engine in self._engines:
            for name, listener in self._listeners:
                event.remove(engine, name, listener)

    async def _taking(self, turn: WriteTurn) -> None:
        task = asyncio.current_task()
        if task is not None and task.get_name() == WRITER_TASK:
            self._thread_asking = WriteTransaction(WRITER_TASK, self._next())
        await self._take(turn)

    def _next(self) -> int:
        self.position += 1
        return self.position

    def _asked(self, connection: Connection) -> None:
        if connection.engine is self._engines[1]:  # the writer thread: the batch asked at the gate
            asked, self._thread_asking = self._thread_asking, None
            if asked is not None:
                self.asking[id(connection)] = asked
            return
        task = asyncio.current_task()
        self.asking[id(connection)] = WriteTransaction(task.get_name() if task else "?", self._next())

    def _executed(self, connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if statement == "BEGIN IMMEDIATE" and (transaction := self.asking.pop(id(connection), None)) is not None:
            transaction.granted = self._next()
            self.open[id(connection)] = transaction
            self.writes.append(transaction)

    def _ended(self, connection: Connection) -> None:
        self.asking.pop(id(connection), None)
        if (transaction := self.open.pop(id(connection), None)) is not None:
            transaction.ended = self._next()

    def overtakes(self, waiting: WriteTransaction) -> int:
        """How many of the writer's transactions asked after ``waiting`` and got the lock before it."""
        return sum(
            1 for w in self.writes if w.task == WRITER_TASK and waiting.asked < w.asked and w.granted < waiting.granted
        )

    def contended(self, waiting: WriteTransaction) -> bool:
        """Whether ``waiting`` asked while one of the writer's transactions was waiting for the lock or holding it."""
        return any(
            w.task == WRITER_TASK and w.asked < waiting.asked and (w.ended < 0 or waiting.asked < w.ended)
            for w in self.writes
        )


@contextlib.contextmanager
def slow_writer_commits(db: Database) -> Iterator[None]:
    """Each commit of the writer takes ``WRITER_COMMIT_S`` longer, holding the lock (in the writer thread, so without
    blocking the event loop)."""
    assert db._writer is not None
    engine = db._writer.engine

    def slow(_connection: Connection) -> None:
        time.sleep(WRITER_COMMIT_S)

    event.listen(engine, "commit", slow)
    try:
        yield
    finally:
        event.remove(engine, "commit", slow)


@pytest.fixture
def settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    """A migrated SQLite file (the fairness is SQLite's concern: PostgreSQL locks rows, not the database)."""
    path = tmp_path / "leadwire.db"
    shutil.copyfile(sqlite_template, path)
    return make_settings(f"sqlite+aiosqlite:///{path}", **FAST_WORKER)


async def _published_form(db: Database, settings: Settings, receiver_url: str) -> Form:
    tenant = await new_tenant(db, "Acme")
    async with db.session(write=True) as session:
        data = msgspec.convert(FORM, FormCreate)
        form = await forms.create_form(session, workspace_id=tenant.workspace_id, data=data, actor="test")
        endpoint = EndpointCreate(url=receiver_url)
        await delivery.create_endpoint(
            session, workspace_id=tenant.workspace_id, data=endpoint, settings=settings, actor="test"
        )
    return form


def _submission(form: Form, number: int) -> Pending:
    """A checked submission of a new person, as the pipeline hands it to the writer."""
    email = f"person-{number}@example.com"
    clean = CleanSubmission(
        fields={"name": f"Person {number}", "email": email}, granted=["sales_contact"], email=email, phone=None,
        name=f"Person {number}",
    )  # fmt: skip
    return Pending(
        submission_id=new_id("sub"), form=form, dedupe_window_seconds=0, clean=clean, spam_reason=None, source="api",
        indication="api", page_url=None, referrer=None, utm={}, user_agent=None, client_ip=None, created_at=utcnow(),
    )  # fmt: skip


async def test_the_worker_takes_its_turn_between_back_to_back_group_commits(
    settings: Settings, db: Database, receiver: Receiver
) -> None:
    form = await _published_form(db, settings, receiver.url)
    writer = SubmissionWriter(db)
    worker = DeliveryWorker(db, settings)
    await writer.start()
    await worker.start()

    async def submit(number: int) -> str:
        await asyncio.sleep(number / PER_SECOND)  # on a schedule: submissions keep arriving while a batch commits
        return (await writer.write(_submission(form, number))).verdict

    try:
        with WriteOrder(db) as order, slow_writer_commits(db):
            verdicts = await asyncio.gather(*(submit(number) for number in range(SUBMISSIONS)))
            await receiver.wait_for(SUBMISSIONS, seconds=120)
    finally:
        await worker.stop()
        await writer.stop()

    assert verdicts == ["accepted"] * SUBMISSIONS
    others = [w for w in order.writes if w.task != WRITER_TASK]
    contended = [w for w in others if order.contended(w)]
    overtakes = sorted((order.overtakes(w) for w in contended), reverse=True)
    print(
        f"\nwriter batches {writer.batches}, other write transactions {len(others)}, {len(contended)} of them asked "
        f"while a batch held the lock or waited for it; batches that asked later and got it first, for each of "
        f"those (most first): {overtakes[:15]}"
    )
    assert max(overtakes, default=0) <= MOST_OVERTAKES
    # The load must have made the worker wait behind the writer, or this test could not fail.
    assert len(contended) >= 5
