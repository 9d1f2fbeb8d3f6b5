"""The public form cache: one database read per slug when its entry expires, however many requests are waiting."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event

from core.errors import NotFound
from forms import service as forms
from forms.schemas import FieldSpec, FormCreate
from ingest.pipeline import FormCache

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant

DEMO = FormCreate(name="Demo", fields=[FieldSpec(name="email", type="email")], status="published")


async def test_requests_waiting_for_an_expired_form_share_one_read(db: Database, tenant: Tenant) -> None:
    async with db.session(write=True) as session:
        form = await forms.create_form(session, workspace_id=tenant.workspace_id, data=DEMO, actor="t")
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM form" in statement:
            reads.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        cache = FormCache(db, ttl=0.0)  # every entry is expired at once
        found = await asyncio.gather(*(cache.get(form.slug) for _ in range(20)))
        assert {each.id for each in found} == {form.id}
        assert len(reads) == 1  # before: one read per waiting request (20)

        await cache.get(form.slug)
        assert len(reads) == 2  # expired again: read again, not served stale forever

        with pytest.raises(NotFound):
            await asyncio.gather(*(cache.get("no-such-form") for _ in range(5)))
        assert len(reads) == 3
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
