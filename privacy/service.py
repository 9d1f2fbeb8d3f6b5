"""Privacy rights over the admin API: everything about a person as JSON, and erasure that leaves a tombstone.

The raw payloads inbound sources received (``leads.models.SourcePayload``) are the person's when they became one
of the person's submissions or leads, or when they carried the person's email or phone (found by the keyed hash
stored beside the encrypted payload: a refused request is personal data too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, delete, or_, select, update

from consent import service as consent
from core.database import utcnow
from core.errors import FieldError, ValidationFailed
from delivery import service as delivery
from leads.models import IdempotencyRecord, Lead, SourcePayload, Submission
from leads.normalise import InvalidValueError, canonical_email, e164_phone
from workspaces import service as workspaces

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("erase_person", "find_person", "person_export")

_ERASED_PAYLOAD_NOTE = "the personal data of this event was erased at the person's request"


def _identity(email: str | None, phone: str | None) -> str:
    """The person's canonical email or E.164 phone.

    Blank counts as missing: an empty value must never match the leads that have no email, or an erasure of ""
    would erase them all.
    """
    email = email.strip() if email else None
    phone = phone.strip() if phone else None
    if bool(email) == bool(phone):
        raise ValidationFailed([FieldError("email", "required", "give the person's email or their phone, not both")])
    try:
        return canonical_email(email) if email else e164_phone(phone or "", None)
    except InvalidValueError as exc:
        raise ValidationFailed([FieldError("email" if email else "phone", exc.code, exc.message)]) from exc


async def find_person(
    session: AsyncSession, *, workspace_id: str, email: str | None, phone: str | None, for_update: bool = False
) -> list[Lead]:
    """The workspace's leads of the person with this email (canonical), or this phone (E.164); erased ones excluded.

    Raises:
        ValidationFailed: Neither or both given, or not an address or number.
    """
    person = _identity(email, phone)
    column = Lead.email if "@" in person else Lead.phone
    statement = select(Lead).where(Lead.workspace_id == workspace_id, Lead.erased_at.is_(None), column == person)
    if for_update:
        statement = statement.with_for_update()
    return list((await session.scalars(statement.order_by(Lead.id))).all())


def _submissions_of(workspace_id: str, lead_ids: list[str], person: str) -> Select[Submission]:
    """The person's submissions: those of their leads, and those that carried their email or phone but belong to
    no lead (spam is personal data too)."""
    return select(Submission).where(
        Submission.workspace_id == workspace_id,
        or_(Submission.lead_id.in_(lead_ids), Submission.person == person),
        Submission.erased_at.is_(None),
    )


async def _payloads_of(
    session: AsyncSession, workspace_id: str, person: str, lead_ids: list[str], submission_ids: list[str]
) -> list[SourcePayload]:
    """The payloads sources received of the person: those that became their submissions or leads, and those that
    carried their email (or phone), by its keyed hash."""
    carried = SourcePayload.email_hash if "@" in person else SourcePayload.phone_hash
    # The column's type hashes the value with the same key. Each term has an index of its own; the lead and
    # submission ids are the workspace's already.
    conditions = [and_(SourcePayload.workspace_id == workspace_id, carried == person)]
    if lead_ids:
        conditions.append(SourcePayload.lead_id.in_(lead_ids))
    if submission_ids:
        conditions.append(SourcePayload.submission_id.in_(submission_ids))
    statement = select(SourcePayload).where(or_(*conditions))
    return list((await session.scalars(statement.order_by(SourcePayload.received_at, SourcePayload.id))).all())


async def person_export(
    session: AsyncSession, *, workspace_id: str, email: str | None, phone: str | None
) -> dict[str, Any]:
    """Every lead, submission, consent event and source payload of the person, for a data subject access request.

    Raises:
        ValidationFailed: Neither or both of email and phone, or an invalid one.
    """
    person = _identity(email, phone)
    leads = await find_person(session, workspace_id=workspace_id, email=email, phone=phone)
    lead_ids = [lead.id for lead in leads]
    statement = _submissions_of(workspace_id, lead_ids, person).order_by(Submission.id)
    submissions = list((await session.scalars(statement)).all())
    events = [pair for lead_id in lead_ids for pair in await consent.events_of_lead(session, lead_id=lead_id)]
    payloads = await _payloads_of(session, workspace_id, person, lead_ids, [s.id for s in submissions])
    return {"leads": leads, "submissions": submissions, "consent_events": events, "source_payloads": payloads}


async def _blank_submissions(session: AsyncSession, submission_ids: list[str], now: datetime) -> None:
    """Remove everything personal from these submissions, hashes of it included, and their idempotency records."""
    if not submission_ids:
        return
    await session.execute(
        update(Submission)
        .where(Submission.id.in_(submission_ids))
        .values(
            fields={},
            page_url=None,
            referrer=None,
            utm={},
            user_agent=None,
            client_ip=None,
            pending_event=None,
            source_lead_id=None,
            fingerprint="",
            person=None,
            erased_at=now,
        )
    )
    await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.submission_id.in_(submission_ids)))


async def erase_person(
    session: AsyncSession, *, workspace_id: str, email: str | None, phone: str | None, actor: str
) -> list[str]:
    """Erase the person's personal data; keep a tombstone of each lead and the non-personal consent facts.

    Lead fields, submission values (spam included), pages, addresses and user agents are removed, and the raw
    payloads sources received of the person are deleted; the consent events keep their purpose, state, notice and
    time. The webhooks about the person are redacted (their pending
    deliveries stop, so erased data is never sent again), ``lead.erased`` is delivered, and the audit log records
    the erasure without the data.

    Returns:
        The ids of the erased leads (empty when the person has no lead).

    Raises:
        ValidationFailed: Neither or both of email and phone, or an invalid one.
    """
    person = _identity(email, phone)
    leads = await find_person(session, workspace_id=workspace_id, email=email, phone=phone, for_update=True)
    now = utcnow()
    strays = await session.scalars(_submissions_of(workspace_id, [], person).where(Submission.lead_id.is_(None)))
    blanked = [s.id for s in strays]
    await _blank_submissions(session, blanked, now)
    erased = []
    for lead in leads:
        submissions = list((await session.scalars(select(Submission.id).where(Submission.lead_id == lead.id))).all())
        messages = await delivery.messages_mentioning(
            session, workspace_id=workspace_id, needles=[lead.id, *submissions]
        )
        tombstone = {"lead": {"id": lead.id}, "erased": True, "note": _ERASED_PAYLOAD_NOTE}
        await delivery.redact_messages(
            session, workspace_id=workspace_id, message_ids=messages, payload=tombstone, reason="erased before delivery"
        )
        await _blank_submissions(session, submissions, now)
        blanked.extend(submissions)
        await consent.redact_events(session, lead_id=lead.id)
        lead.email = lead.phone = lead.name = None
        lead.fields = {}
        lead.erased_at = now
        lead.status = "erased"
        lead.updated_at = now
        await delivery.enqueue(
            session,
            workspace_id=workspace_id,
            event_type="lead.erased",
            payload={"lead": {"id": lead.id}, "submissions": submissions, "erased_at": now.isoformat()},
        )
        await workspaces.record_audit(
            session,
            workspace_id=workspace_id,
            actor=actor,
            action="lead.erased",
            target_type="lead",
            target_id=lead.id,
            details={"submissions": len(submissions)},
        )
        erased.append(lead.id)
    payloads = await _payloads_of(session, workspace_id, person, [lead.id for lead in leads], blanked)
    if payloads:
        await session.execute(delete(SourcePayload).where(SourcePayload.id.in_([p.id for p in payloads])))
    return erased
