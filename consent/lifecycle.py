"""After the submission: consent receipts, withdrawal, and double opt-in confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from consent import service as consent
from consent.models import ConsentEvent
from consent.schemas import (
    ConsentReceipt,
    ReceiptController,
    ReceiptNotice,
    ReceiptPurpose,
    ReceiptSubject,
)
from consent.tokens import receipt_token
from core.database import utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationFailed
from delivery import service as delivery
from forms import service as forms
from leads.models import Lead, Submission
from workspaces import service as workspaces

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from core.settings import Settings

__all__ = (
    "confirm_submission",
    "lead_consent_states",
    "pending_confirmation",
    "receipt_of",
    "withdraw_consents",
    "withdraw_from_receipt",
)

SCHEMA_VERSION = "ISO/IEC TS 27560:2023"
_METHODS = {"form": "web form", "api": "api"}


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _submission(session: AsyncSession, submission_id: str, *, for_update: bool = False) -> Submission:
    statement = select(Submission).where(Submission.id == submission_id)
    if for_update:
        statement = statement.with_for_update()
    submission = await session.scalar(statement)
    if submission is None:
        raise NotFound("no such submission")
    return submission


async def _lead_consents(session: AsyncSession, lead_id: str) -> tuple[list[ConsentEvent], set[str]]:
    """The lead's consent events (oldest first) and the ids of its double opt-in submissions not yet confirmed."""
    events = [event for event, _ in await consent.events_of_lead(session, lead_id=lead_id)]
    unconfirmed = await session.scalars(
        select(Submission.id).where(Submission.lead_id == lead_id, Submission.confirmation == "pending")
    )
    return events, set(unconfirmed)


async def lead_consent_states(session: AsyncSession, *, lead_id: str) -> dict[str, ConsentEvent]:
    """Where each purpose of the lead stands now: the event that put it there (see ``consent.standing_states``)."""
    events, unconfirmed = await _lead_consents(session, lead_id)
    return consent.standing_states(events, unconfirmed=unconfirmed)


def _withdrawn_since(events: list[ConsentEvent], own: ConsentEvent) -> bool:
    """Whether the purpose of ``own`` was withdrawn (by any means) after ``own`` was recorded."""
    return any(
        e.purpose == own.purpose and e.state == "withdrawn" and (e.recorded_at, e.id) > (own.recorded_at, own.id)
        for e in events
    )


def _receipt_state(own: ConsentEvent, events: list[ConsentEvent], *, unconfirmed: set[str]) -> str:
    """Where the consent a receipt records stands now: :func:`consent.standing_states` over that consent and what
    happened to it since (its confirmation, a withdrawal), and nothing of the person's other submissions."""
    later = [
        e
        for e in events
        if e.purpose == own.purpose
        and (e.recorded_at, e.id) > (own.recorded_at, own.id)
        and (e.state == "withdrawn" or (e.state == "confirmed" and e.submission_id == own.submission_id))
    ]
    standing = consent.standing_states([own, *later], unconfirmed=unconfirmed)
    return standing[own.purpose].state if own.purpose in standing else "pending"


def _own_contact(submission: Submission, definition: Any) -> ReceiptSubject:
    """The email and phone this submission itself carried (never the lead's stored ones)."""
    values = submission.fields
    email = next((values.get(f.name) for f in definition.fields if f.type == "email" and values.get(f.name)), None)
    phone = next((values.get(f.name) for f in definition.fields if f.type == "phone" and values.get(f.name)), None)
    return ReceiptSubject(
        email=email if isinstance(email, str) else None, phone=phone if isinstance(phone, str) else None
    )


async def receipt_of(session: AsyncSession, settings: Settings, *, submission_id: str) -> ConsentReceipt:
    """The consent receipt of one submission: what it carried, the exact texts agreed to, and where each stands.

    A receipt shows only its own submission (its values, its consent events and their notices), never the lead's
    stored data or another submission's: whoever posts a form with someone's address must learn nothing of them.

    Raises:
        NotFound: No such submission.
    """
    submission = await _submission(session, submission_id)
    form = await forms.get_form_any(session, form_id=submission.form_id)
    workspace = await workspaces.get_workspace(session, submission.workspace_id)
    definition = forms.definition_of(form)
    events, unconfirmed = await _lead_consents(session, submission.lead_id) if submission.lead_id else ([], set())
    erased = submission.erased_at is not None
    purposes = []
    for event, notice in await consent.events_of_submission(session, submission_id=submission.id):
        current_state = _receipt_state(event, events, unconfirmed=unconfirmed)
        purposes.append(
            ReceiptPurpose(
                purpose=event.purpose,
                channel=event.channel,
                state=event.state,
                current_state=current_state,
                notice_version=notice.version,
                notice_text=notice.text,
                text_sha256=notice.text_sha256,
                recorded_at=event.recorded_at,
                withdrawable=current_state in consent.GIVING and not erased,
            )
        )
    url = f"{settings.public_base_url.rstrip('/')}/c/{receipt_token(settings, submission.id)}"
    owner = workspaces.settings_of(workspace)
    notice_url = definition.settings.privacy_notice_url or owner.privacy_policy_url
    return ConsentReceipt(
        schema_version=SCHEMA_VERSION,
        receipt_id=f"rcpt_{submission.id.removeprefix('sub_')}",
        receipt_url=url,
        event_time=submission.created_at,
        collection_method=_METHODS.get(submission.source, submission.source),
        data_subject=ReceiptSubject(email=None, phone=None) if erased else _own_contact(submission, definition),
        controller=ReceiptController(name=workspace.name, contact=owner.contact_email),
        privacy_notice=ReceiptNotice(url=notice_url, language=definition.settings.language),
        purposes=purposes,
        withdrawal_method=f"one click per purpose on {url}, or ask {workspace.name} directly",
        repeated=submission.verdict == "duplicate",
        awaiting_confirmation=submission.confirmation == "pending",
    )


async def withdraw_from_receipt(
    session: AsyncSession,
    settings: Settings,
    *,
    submission_id: str,
    purpose: str,
    client_ip: str | None,
    user_agent: str | None,
) -> list[str]:
    """The receipt's button: withdraw the person's consent to ``purpose``, which this submission gave.

    Returns:
        The purposes withdrawn now (none when it was already withdrawn).

    Raises:
        NotFound: No such submission, or its receipt holds no such consent that can be withdrawn.
    """
    receipt = await receipt_of(session, settings, submission_id=submission_id)
    submission = await _submission(session, submission_id)
    mine = next((p for p in receipt.purposes if p.purpose == purpose), None)
    if mine is None or submission.lead_id is None or (not mine.withdrawable and mine.current_state != "withdrawn"):
        raise NotFound("this receipt holds no such consent")
    if not mine.withdrawable:
        return []
    return await withdraw_consents(
        session,
        workspace_id=submission.workspace_id,
        lead_id=submission.lead_id,
        purposes=[purpose],
        indication="receipt",
        submission_id=submission_id,
        client_ip=client_ip,
        user_agent=user_agent,
    )


async def withdraw_consents(
    session: AsyncSession,
    *,
    workspace_id: str,
    lead_id: str,
    purposes: list[str],
    indication: str,
    submission_id: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> list[str]:
    """Withdraw the lead's consent to ``purposes``: one ``withdrawn`` event each, and one ``consent.withdrawn``.

    Purposes already withdrawn or never given are left alone, so withdrawing twice changes nothing.

    Args:
        indication: How the person asked: ``receipt`` (the link on their receipt) or ``crm`` (they asked the CRM).

    Returns:
        The purposes withdrawn now.

    Raises:
        NotFound: No such lead in this workspace (or it was erased).
        ValidationFailed: A purpose the lead was never asked about.
    """
    lead = await session.scalar(
        select(Lead)
        .where(Lead.id == lead_id, Lead.workspace_id == workspace_id, Lead.erased_at.is_(None))
        .with_for_update()
    )
    if lead is None:
        raise NotFound("no such lead")
    events, unconfirmed = await _lead_consents(session, lead.id)
    states = consent.standing_states(events, unconfirmed=unconfirmed)
    # Given in a double opt-in submission not confirmed yet: withdrawn now, it is never confirmed.
    awaiting = {
        e.purpose: e
        for e in events
        if e.state == "given" and e.submission_id in unconfirmed and not _withdrawn_since(events, e)
    }
    unknown = [p for p in purposes if p not in {e.purpose for e in events}]
    if unknown:
        raise ValidationFailed(
            [
                FieldError("purposes", "unknown_purpose", f"this person was never asked about '{p[:64]}'")
                for p in unknown
            ]
        )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for purpose in dict.fromkeys(purposes):
        standing = states.get(purpose)
        latest = standing if standing is not None and standing.state in consent.GIVING else awaiting.get(purpose)
        if latest is None:
            continue
        rows.append(
            {
                "workspace_id": workspace_id,
                "lead_id": lead.id,
                "submission_id": submission_id,
                "notice_id": latest.notice_id,
                "form_id": latest.form_id,
                "purpose": purpose,
                "channel": latest.channel,
                "state": "withdrawn",
                "indication": indication,
                "page_url": None,
                "client_ip": client_ip,
                "user_agent": user_agent,
                "recorded_at": now,
            }
        )
    if not rows:
        return []
    await consent.append_events(session, rows)
    state = consent.state_summary([*events, *(ConsentEvent(**row) for row in rows)], unconfirmed=unconfirmed)
    payload = {
        "lead": {"id": lead.id, "email": lead.email, "phone": lead.phone, "name": lead.name},
        "consent": [
            {"purpose": r["purpose"], "channel": r["channel"], "state": "withdrawn", "recorded_at": _stamp(now)}
            for r in rows
        ],
        "indication": indication,
        "consent_state": state,
    }
    await delivery.enqueue(session, workspace_id=workspace_id, event_type="consent.withdrawn", payload=payload)
    return [r["purpose"] for r in rows]


async def pending_confirmation(session: AsyncSession, *, submission_id: str) -> Submission:
    """The submission a confirmation link is for, if it still waits for confirmation.

    Raises:
        NotFound: No such submission, or not one that needs confirming.
        Conflict: Already confirmed (a link works once).
    """
    submission = await _submission(session, submission_id)
    if submission.confirmation is None or submission.erased_at is not None:
        raise NotFound("nothing to confirm")
    if submission.confirmation != "pending":
        raise Conflict("this link has already been used")
    return submission


async def confirm_submission(
    session: AsyncSession, *, submission_id: str, client_ip: str | None, user_agent: str | None
) -> Submission:
    """Double opt-in: record the confirmation and only now deliver the lead event that was held back.

    Appends a ``confirmed`` event (time, truncated address, user agent) for each purpose the person gave, marks the
    lead active, and delivers ``lead.created`` (or ``lead.updated`` for a person already confirmed before).

    Raises:
        NotFound: No such submission, or not one that needs confirming.
        Conflict: Already confirmed: a link works once.
    """
    # Lead first, then submission: the order erasure takes them in, so the two never deadlock on PostgreSQL.
    lead_id = (await _submission(session, submission_id)).lead_id
    lead = await session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update()) if lead_id else None
    submission = await _submission(session, submission_id, for_update=True)
    if submission.confirmation is None or submission.erased_at is not None or lead is None or lead.erased_at:
        raise NotFound("nothing to confirm")
    if submission.confirmation != "pending":
        raise Conflict("this link has already been used")
    now = utcnow()
    events, unconfirmed = await _lead_consents(session, lead.id)
    given = [  # still given: not withdrawn (through the CRM, say) since
        event
        for event, _ in await consent.events_of_submission(session, submission_id=submission.id)
        if event.state == "given" and not _withdrawn_since(events, event)
    ]
    confirmations = [
        {
            "workspace_id": submission.workspace_id,
            "lead_id": lead.id,
            "submission_id": submission.id,
            "notice_id": event.notice_id,
            "form_id": event.form_id,
            "purpose": event.purpose,
            "channel": event.channel,
            "state": "confirmed",
            "indication": "link",
            "page_url": None,
            "client_ip": client_ip,
            "user_agent": user_agent,
            "recorded_at": now,
        }
        for event in given
    ]
    await consent.append_events(session, confirmations)
    held = dict(submission.pending_event or {})
    data = dict(held.get("data", {}))
    changes = held.get("apply_to_lead")
    if changes:  # a known person: what they sent changes their lead only now
        lead.fields = {**lead.fields, **submission.fields}
        lead.name = changes.get("name") or lead.name
        lead.phone = changes.get("phone") or lead.phone
        lead.submission_count += 1
        lead.updated_at = now
        data["lead"] = {**data.get("lead", {}), "name": lead.name, "phone": lead.phone}
    first = lead.status == "pending"
    event_type = "lead.created" if first else "lead.updated"
    data["lead"] = {**data.get("lead", {}), "is_new": first}
    data["confirmation"] = {"confirmed_at": _stamp(now), "client_ip": client_ip, "user_agent": user_agent}
    data["consent"] = [
        *data.get("consent", []),
        *(
            {"purpose": e.purpose, "channel": e.channel, "state": "confirmed", "recorded_at": _stamp(now)}
            for e in given
        ),
    ]
    data["consent_state"] = consent.state_summary(
        [*events, *(ConsentEvent(**row) for row in confirmations)], unconfirmed=unconfirmed - {submission.id}
    )
    message = await delivery.enqueue(session, workspace_id=submission.workspace_id, event_type=event_type, payload=data)
    lead.status = "active"
    submission.confirmation = "confirmed"
    submission.confirmed_at = now
    submission.pending_event = None
    submission.event_type = event_type
    submission.message_id = message.id
    return submission
