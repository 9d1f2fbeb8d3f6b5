"""Consent notices: exact texts, hashed, versioned, never rewritten."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from consent import service
from consent.models import ConsentNotice
from forms import service as forms
from forms.schemas import ConsentSpec, FieldSpec, FormCreate, FormUpdate

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Client, Tenant

MARKETING = "Email me product news. I can unsubscribe at any time."
CONTACT = "Call me about this enquiry."


async def make_form(db: Database, tenant: Tenant) -> str:
    data = FormCreate(
        name="Demo",
        fields=[FieldSpec(name="email", type="email")],
        consents=[
            ConsentSpec(purpose="marketing", channel="email", text=MARKETING),
            ConsentSpec(purpose="contact", channel="call", text=CONTACT, required=True),
        ],
    )
    async with db.session(write=True) as session:
        form = await forms.create_form(session, workspace_id=tenant.workspace_id, data=data, actor="test")
    return form.id


async def current_notices(db: Database, tenant: Tenant, form_id: str) -> dict[str, ConsentNotice]:
    async with db.session(write=True) as session:
        form = await forms.get_form(session, workspace_id=tenant.workspace_id, form_id=form_id)
        return await session.run_sync(service.notices_for, form=form)


async def set_marketing_text(db: Database, tenant: Tenant, form_id: str, text: str) -> None:
    update = FormUpdate(
        consents=[
            ConsentSpec(purpose="marketing", channel="email", text=text),
            ConsentSpec(purpose="contact", channel="call", text=CONTACT, required=True),
        ]
    )
    async with db.session(write=True) as session:
        await forms.update_form(session, workspace_id=tenant.workspace_id, form_id=form_id, data=update, actor="t")


async def count_notices(db: Database) -> int:
    async with db.session(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(ConsentNotice)) or 0)


async def test_first_use_creates_version_1_with_the_hash_of_the_exact_text(db: Database, tenant: Tenant) -> None:
    form_id = await make_form(db, tenant)
    notices = await current_notices(db, tenant, form_id)
    assert set(notices) == {"marketing", "contact"}
    marketing = notices["marketing"]
    assert (marketing.version, marketing.channel, marketing.text) == (1, "email", MARKETING)
    assert marketing.text_sha256 == hashlib.sha256(MARKETING.encode()).hexdigest()
    again = await current_notices(db, tenant, form_id)
    assert {p: n.id for p, n in again.items()} == {p: n.id for p, n in notices.items()}
    assert await count_notices(db) == 2


async def test_a_new_text_is_a_new_version_and_old_ones_stay_as_they_were(db: Database, tenant: Tenant) -> None:
    form_id = await make_form(db, tenant)
    first = await current_notices(db, tenant, form_id)
    await set_marketing_text(db, tenant, form_id, "Email and text me offers.")
    second = await current_notices(db, tenant, form_id)
    assert second["marketing"].version == 2
    assert second["marketing"].id != first["marketing"].id
    assert second["contact"].id == first["contact"].id
    async with db.session(write=False) as session:
        old = await session.get(ConsentNotice, first["marketing"].id)
    assert old is not None
    assert (old.text, old.version) == (MARKETING, 1)
    # Going back to an earlier text points at its earlier notice; it is not a third version.
    await set_marketing_text(db, tenant, form_id, MARKETING)
    third = await current_notices(db, tenant, form_id)
    assert third["marketing"].id == first["marketing"].id
    assert await count_notices(db) == 3


async def test_concurrent_first_use_creates_each_notice_once(db: Database, tenant: Tenant) -> None:
    form_id = await make_form(db, tenant)
    results = await asyncio.gather(*(current_notices(db, tenant, form_id) for _ in range(10)))
    assert len({r["marketing"].id for r in results}) == 1
    assert len({r["contact"].id for r in results}) == 1
    assert await count_notices(db) == 2


async def test_the_api_shows_every_version_to_its_workspace_only(
    client: Client, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    form_id = await make_form(db, tenant)
    await current_notices(db, tenant, form_id)
    await set_marketing_text(db, tenant, form_id, "Email and text me offers.")
    await current_notices(db, tenant, form_id)
    response = await client.get(f"/api/v1/forms/{form_id}/consent-notices", headers=tenant.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(n["purpose"], n["version"]) for n in items] == [("contact", 1), ("marketing", 1), ("marketing", 2)]
    assert items[1]["text"] == MARKETING
    other = await client.get(f"/api/v1/forms/{form_id}/consent-notices", headers=other_tenant.headers)
    assert other.status_code == 404
