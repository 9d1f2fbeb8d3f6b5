"""Steps 5 and 6 of the pipeline: idempotency, person de-duplication and the writes, for a batch in one transaction."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import msgspec
from sqlalchemy import delete, insert, select

from consent import service as consent
from consent.ledger import ConsentLedger
from consent.models import ConsentEvent
from core.database import call_after_commit
from core.errors import FieldError, LeadwireError, NotFound, ValidationFailed
from core.ids import new_id
from delivery import service as delivery
from forms import service as forms
from leads.models import IdempotencyRecord, Submission
from leads.people import Person, PersonKey, by_group, find_or_create_people, save_people

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.orm import Session

    from consent.models import ConsentNotice
    from forms.models import Form
    from ingest.validate import CleanSubmission

__all__ = ("FormChanged", "Pending", "StoredResponse", "Written", "fingerprint", "write_batch")

_SUBMISSION = cast("Table", Submission.__table__)
_CONSENT_EVENT = cast("Table", ConsentEvent.__table__)
_IDEMPOTENCY = cast("Table", IdempotencyRecord.__table__)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The answer given to a request with an idempotency key, replayed to its retries."""

    status_code: int
    body: str
    location: str | None


@dataclass(slots=True)
class Pending:
    """A checked submission waiting for its batch: everything to store, nothing left to decide but de-duplication."""

    submission_id: str
    form: Form
    dedupe_window_seconds: int
    clean: CleanSubmission
    spam_reason: str | None
    source: str
    indication: str
    page_url: str | None
    referrer: str | None
    utm: dict[str, str]
    user_agent: str | None
    client_ip: str | None
    created_at: datetime
    idempotency_key: str | None = None
    idempotency_scope: str = "client"
    """Whose key space ``idempotency_key`` is in: ``client`` (the public submit endpoint) or a source's id."""
    request_sha256: str | None = None
    idempotency_expires_at: datetime | None = None
    source_id: str | None = None
    source_lead_id: str | None = None
    """The sender's own id of the lead, for a lead from an inbound source that gave one."""
    test_lead: bool = False
    """A test lead from a source: stored with verdict ``test``, never a lead, never delivered."""
    double_opt_in: bool = False
    """Hold the lead event until the person confirms through ``confirmation_url``."""
    receipt_url: str | None = None
    confirmation_url: str | None = None
    confirmation_expires_at: datetime | None = None
    response: StoredResponse | None = None
    """What to store for the idempotency key (``None`` without one)."""

    @property
    def person_key(self) -> PersonKey | None:
        if self.clean.email:
            return (self.form.workspace_id, "email", self.clean.email)
        if self.clean.phone:
            return (self.form.workspace_id, "phone", self.clean.phone)
        return None


class FormChanged(Exception):
    """The form changed after the submission was checked against it: check it again against the new version."""


@dataclass(frozen=True, slots=True)
class Written:
    """What became of one submission of a batch."""

    submission_id: str
    verdict: str
    """``accepted``, ``duplicate`` or ``spam``."""
    replay: StoredResponse | None = None
    """Set when the idempotency key had been used before with the same request: answer with this instead."""
    error: LeadwireError | FormChanged | None = None


def fingerprint(form_id: str, clean: CleanSubmission) -> str:
    """The submission's content: the same person sending the same values and consents to the same form."""
    document = msgspec.json.encode([form_id, sorted(clean.fields.items()), sorted(clean.granted)])
    return hashlib.sha256(document).hexdigest()


def _refuse_outdated(session: Session, items: list[Pending]) -> dict[int, Written]:
    """Items whose form was unpublished, or changed, since it was read (the pipeline's form cache may be stale)."""
    versions = forms.published_versions(session, {item.form.id for item in items})
    refused: dict[int, Written] = {}
    for i, item in enumerate(items):
        version = versions.get(item.form.id)
        if version is None:
            refused[i] = Written(item.submission_id, "rejected", error=NotFound("no published form at this address"))
        elif version != item.form.version:
            refused[i] = Written(item.submission_id, "rejected", error=FormChanged())
    return refused


_KeyId = tuple[str, str, str]
"""(form id, scope, key): a client's keys and each source's live in key spaces of their own."""


def _key_id(item: Pending) -> _KeyId:
    return (item.form.id, item.idempotency_scope, cast("str", item.idempotency_key))


def _claim_idempotency_keys(
    session: Session, indexes: list[int], items: list[Pending], now: datetime
) -> dict[int, Written]:
    """Store each item's key with its response, or say how the key was used before."""
    keyed = [(i, items[i]) for i in indexes if items[i].idempotency_key is not None]
    if not keyed:
        return {}
    # By form and scope, the leading columns of the unique (form_id, scope, key) index: by form alone, the lookup
    # would walk every stored key of the form.
    groups = by_group(
        sorted(((item.form.id, item.idempotency_scope), cast("str", item.idempotency_key)) for _, item in keyed)
    )
    for (form_id, scope), keys in groups.items():
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.form_id == form_id,
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key.in_(keys),
                IdempotencyRecord.expires_at <= now,
            )
        )
    known = _stored(session, groups)
    answered: dict[int, Written] = {}
    rows: list[dict[str, Any]] = []
    claimed: dict[_KeyId, int] = {}
    for index, item in keyed:
        key_id = _key_id(item)
        if key_id in known or key_id in claimed:
            continue
        assert item.response is not None
        assert item.request_sha256 is not None
        claimed[key_id] = index
        rows.append(
            {
                "id": new_id("idem"),
                "form_id": key_id[0],
                "scope": key_id[1],
                "key": key_id[2],
                "request_sha256": item.request_sha256,
                "status_code": item.response.status_code,
                "body": item.response.body,
                "location": item.response.location,
                "submission_id": item.submission_id,
                "created_at": now,
                "expires_at": item.idempotency_expires_at or now,
            }
        )
    if rows:
        # One order for every batch: fewer deadlocks.
        rows.sort(key=lambda row: (row["form_id"], row["scope"], row["key"]))
        session.execute(insert(_IDEMPOTENCY), rows)
    for index, item in keyed:
        key_id = _key_id(item)
        if claimed.get(key_id) == index:
            continue
        record = known.get(key_id)
        if record is None:  # the same key twice in this batch: answer as the first one will be
            first = items[claimed[key_id]]
            assert first.response is not None
            record = (cast("str", first.request_sha256), first.response, first.submission_id)
        answered[index] = _answer_reuse(item, record)
    return answered


def _stored(
    session: Session, groups: dict[tuple[str, str], list[str]]
) -> dict[_KeyId, tuple[str, StoredResponse, str]]:
    """The stored keys among these keys by (form id, scope)."""
    found: dict[_KeyId, tuple[str, StoredResponse, str]] = {}
    for (form_id, scope), keys in groups.items():
        rows = session.execute(
            select(
                _IDEMPOTENCY.c.form_id,
                _IDEMPOTENCY.c.scope,
                _IDEMPOTENCY.c.key,
                _IDEMPOTENCY.c.request_sha256,
                _IDEMPOTENCY.c.status_code,
                _IDEMPOTENCY.c.body,
                _IDEMPOTENCY.c.location,
                _IDEMPOTENCY.c.submission_id,
            ).where(_IDEMPOTENCY.c.form_id == form_id, _IDEMPOTENCY.c.scope == scope, _IDEMPOTENCY.c.key.in_(keys))
        )
        for r in rows:
            response = StoredResponse(r.status_code, r.body, r.location)
            found[(r.form_id, r.scope, r.key)] = (r.request_sha256, response, r.submission_id)
    return found


def _answer_reuse(item: Pending, record: tuple[str, StoredResponse, str]) -> Written:
    request_sha, response, submission_id = record
    if request_sha != item.request_sha256:
        error = ValidationFailed(
            [FieldError("Idempotency-Key", "reused", "this key was already used for a different request")]
        )
        return Written(item.submission_id, "rejected", error=error)
    return Written(submission_id, "replayed", replay=response)


def _person_values(item: Pending) -> dict[str, Any]:
    clean = item.clean
    status = "pending" if item.double_opt_in else "active"
    return {"email": clean.email, "phone": clean.phone, "name": clean.name, "fields": clean.fields, "status": status}


def _submission_row(item: Pending, verdict: str, lead_id: str | None, fp: str) -> dict[str, Any]:
    return {
        "id": item.submission_id,
        "workspace_id": item.form.workspace_id,
        "form_id": item.form.id,
        "form_version": item.form.version,
        "lead_id": lead_id,
        "verdict": verdict,
        "spam_reason": item.spam_reason,
        "source": item.source,
        "fields": item.clean.fields,
        "consents": item.clean.granted,
        "fingerprint": fp,
        "person": item.clean.email or item.clean.phone,
        "source_id": item.source_id,
        "source_lead_id": item.source_lead_id,
        "page_url": item.page_url,
        "referrer": item.referrer,
        "utm": item.utm,
        "user_agent": item.user_agent,
        "client_ip": item.client_ip,
        "event_type": None,
        "message_id": None,
        "confirmation": None,
        "confirmed_at": None,
        "pending_event": None,
        "erased_at": None,
        "created_at": item.created_at,
    }


def _recent_fingerprints(
    session: Session, items: list[Pending], prints: dict[int, str], now: datetime
) -> dict[tuple[str, str], datetime]:
    """When each (form, fingerprint) of the batch was last accepted inside the longest de-duplication window."""
    pairs = sorted({(items[i].form.id, fp) for i, fp in prints.items()})
    if not pairs:
        return {}
    longest = max(items[i].dedupe_window_seconds for i in prints)
    latest: dict[tuple[str, str], datetime] = {}
    for form_id, fps in by_group(pairs).items():
        rows = session.execute(
            select(_SUBMISSION.c.fingerprint, _SUBMISSION.c.created_at).where(
                _SUBMISSION.c.form_id == form_id,
                _SUBMISSION.c.fingerprint.in_(fps),
                _SUBMISSION.c.verdict == "accepted",
                _SUBMISSION.c.created_at >= now - timedelta(seconds=longest),
            )
        )
        for fp, created_at in rows:
            if (form_id, fp) not in latest or created_at > latest[(form_id, fp)]:
                latest[(form_id, fp)] = created_at
    return latest


_NOTICES: dict[tuple[str, int], dict[str, ConsentNotice]] = {}
"""The notices of each form version, once committed: a version's texts never change, nor do their notices."""
_MAX_NOTICES = 10_000


def _notices(session: Session, items: list[Pending], accepted: list[int]) -> dict[str, dict[str, ConsentNotice]]:
    by_form: dict[str, dict[str, ConsentNotice]] = {}
    for index in accepted:
        form = items[index].form
        if form.id in by_form:
            continue
        key = (form.id, form.version)
        cached = _NOTICES.get(key)
        if cached is None:
            cached = consent.notices_for(session, form=form)
            call_after_commit(session, functools.partial(_remember_notices, key, cached))
        by_form[form.id] = cached
    return by_form


def _remember_notices(key: tuple[str, int], notices: dict[str, ConsentNotice]) -> None:
    if len(_NOTICES) >= _MAX_NOTICES:
        _NOTICES.clear()
    _NOTICES[key] = notices


def _consent_rows(item: Pending, lead_id: str, notices: dict[str, ConsentNotice]) -> list[dict[str, Any]]:
    return [
        {
            "id": new_id("ce"),
            "workspace_id": item.form.workspace_id,
            "lead_id": lead_id,
            "submission_id": item.submission_id,
            "notice_id": notice.id,
            "form_id": item.form.id,
            "purpose": purpose,
            "channel": notice.channel,
            "state": "given" if purpose in item.clean.granted else "refused",
            "indication": item.indication,
            "page_url": item.page_url,
            "recorded_at": item.created_at,
        }
        for purpose, notice in notices.items()
    ]


def _payload(
    item: Pending,
    person: Person,
    consents: list[dict[str, Any]],
    notices: dict[str, ConsentNotice],
    *,
    is_new: bool,
) -> dict[str, Any]:
    """The ``data`` of ``lead.created`` and ``lead.updated``."""
    return {
        "lead": {
            "id": person.id,
            "email": person.email,
            "phone": person.phone,
            "name": person.name,
            "is_new": is_new,
        },
        "submission": {
            "id": item.submission_id,
            "form_id": item.form.id,
            "form_name": item.form.name,
            "fields": item.clean.fields,
            "page_url": item.page_url,
            "referrer": item.referrer,
            "utm": item.utm,
            "created_at": item.created_at.isoformat().replace("+00:00", "Z"),
            "receipt_url": item.receipt_url,
            "source": item.source,
            "source_lead_id": item.source_lead_id,
        },
        "consent": [
            {
                "purpose": row["purpose"],
                "channel": row["channel"],
                "state": row["state"],
                "notice_version": notices[row["purpose"]].version,
                "text_sha256": notices[row["purpose"]].text_sha256,
                "recorded_at": item.created_at.isoformat().replace("+00:00", "Z"),
            }
            for row in consents
        ],
    }


def _lead_event(
    item: Pending,
    person: Person,
    row: dict[str, Any],
    recorded: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    notices: dict[str, ConsentNotice],
) -> delivery.Event:
    """The event an accepted submission announces; under double opt-in, the request to confirm it instead."""
    is_new = person.created_with_first or (person.status == "pending" and not item.double_opt_in)
    # Under double opt-in, a known person's lead changes only once they confirm: anyone can type their address.
    held = item.double_opt_in and not person.created_with_first
    if not held:
        person.absorb()
    event_type = "lead.created" if is_new else "lead.updated"
    consents, state = recorded
    payload = _payload(item, person, consents, notices, is_new=is_new)
    payload["consent_state"] = state
    if item.double_opt_in:
        # Nothing about the lead goes out until the person confirms: the CRM gets the link to send them.
        row["confirmation"] = "pending"
        changes = {"name": item.clean.name, "phone": item.clean.phone} if held else None
        row["pending_event"] = {"type": event_type, "data": payload, "apply_to_lead": changes}
        row["event_type"] = "lead.confirmation_requested"
        return delivery.Event(item.form.workspace_id, row["event_type"], _confirmation_payload(item, payload))
    if person.status == "pending":  # known only through unconfirmed double opt-in until now
        person.status = "active"
        person.changed = True
    row["event_type"] = event_type
    return delivery.Event(item.form.workspace_id, event_type, payload)


def _confirmation_payload(item: Pending, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of ``lead.confirmation_requested``: who to ask, and the single-use link to send them."""
    expires = item.confirmation_expires_at
    return {
        "lead": {key: payload["lead"][key] for key in ("id", "email", "phone", "name")},
        "submission": {key: payload["submission"][key] for key in ("id", "form_id", "form_name", "created_at")},
        "confirmation_url": item.confirmation_url,
        "expires_at": expires.isoformat().replace("+00:00", "Z") if expires else None,
    }


def _verdicts(
    items: list[Pending], live: list[int], prints: dict[int, str], last_accepted: dict[tuple[str, str], datetime]
) -> dict[int, str]:
    """Spam stays spam; the same content from the same person inside the form's window is a duplicate.

    A submission without email or phone has no person to compare with: it is never a duplicate (two people may
    well send the same answers to an anonymous survey).
    """
    verdicts: dict[int, str] = {}
    for index in live:
        item = items[index]
        if item.spam_reason is not None:
            verdicts[index] = "spam"
            continue
        if item.test_lead:
            verdicts[index] = "test"
            continue
        if item.person_key is None:
            verdicts[index] = "accepted"
            continue
        seen = last_accepted.get((item.form.id, prints[index]))
        if seen is not None and seen >= item.created_at - timedelta(seconds=item.dedupe_window_seconds):
            verdicts[index] = "duplicate"
        else:
            verdicts[index] = "accepted"
            last_accepted[(item.form.id, prints[index])] = item.created_at  # later items of the batch see it
    return verdicts


def write_batch(session: Session, items: list[Pending], now: datetime) -> list[Written]:
    """Store a batch of submissions in the caller's transaction and enqueue their webhooks.

    In order: idempotency keys are claimed (a reused key answers with the stored response); the people of the
    batch are found or created and locked; a submission whose content the same person sent to the same form inside
    the form's de-duplication window is a ``duplicate``; then every submission, its consent events, the changed
    leads and the outbox rows are written with one multi-row statement each.

    Args:
        session: A write transaction's synchronous session (run by :meth:`core.database.Database.transact`); the
            caller commits it and only then answers the clients.
        items: The batch, in arrival order (earlier items win de-duplication).
        now: The batch's time (the transaction's view of "now" for windows and expiry).
    """
    answered = _refuse_outdated(session, items)
    answered.update(_claim_idempotency_keys(session, [i for i in range(len(items)) if i not in answered], items, now))
    live = [i for i in range(len(items)) if i not in answered]
    wanted: dict[PersonKey, dict[str, Any]] = {}
    for index in live:
        key = items[index].person_key
        if key is not None and items[index].spam_reason is None and not items[index].test_lead:
            wanted.setdefault(key, _person_values(items[index]))
    people = find_or_create_people(session, wanted, now) if wanted else {}
    prints = {
        i: fingerprint(items[i].form.id, items[i].clean)
        for i in live
        if items[i].spam_reason is None and not items[i].test_lead
    }
    # A person created just now has sent nothing before: only people known before this batch can send a duplicate.
    known = {i: fp for i, fp in prints.items() if (key := items[i].person_key) is not None and not people[key].is_new}
    last_accepted = _recent_fingerprints(session, items, known, now)

    verdicts = _verdicts(items, live, prints, last_accepted)
    accepted = [i for i in live if verdicts[i] == "accepted"]
    anonymous = {(items[i].form.workspace_id, "anonymous", items[i].submission_id): i for i in accepted}
    anonymous = {key: i for key, i in anonymous.items() if items[i].person_key is None}
    if anonymous:  # neither email nor phone: each accepted submission is a lead of its own
        people.update(find_or_create_people(session, {k: _person_values(items[i]) for k, i in anonymous.items()}, now))
    notices = _notices(session, items, accepted)

    # Only people known before this batch have stored consents to weigh the new ones against.
    ledger = ConsentLedger.load(
        session, {people[k].id for i in accepted if (k := items[i].person_key) is not None and not people[k].is_new}
    )
    submissions: list[dict[str, Any]] = []
    consent_rows: list[dict[str, Any]] = []
    events: list[delivery.Event] = []
    for index in live:
        item = items[index]
        key = item.person_key or (item.form.workspace_id, "anonymous", item.submission_id)
        person = people.get(key) if verdicts[index] not in {"spam", "test"} else None
        row = _submission_row(item, verdicts[index], person.id if person else None, prints.get(index, ""))
        submissions.append(row)
        if person is None or verdicts[index] != "accepted":
            continue
        rows = _consent_rows(item, person.id, notices[item.form.id])
        consent_rows.extend(rows)
        state = ledger.record(person.id, rows, unconfirmed=item.submission_id if item.double_opt_in else None)
        events.append(_lead_event(item, person, row, (rows, state), notices[item.form.id]))
    messages = delivery.enqueue_many(session, events)
    for row, message in zip((r for r in submissions if r["event_type"]), messages, strict=True):
        row["message_id"] = message.id
    save_people(session, {id(p): p for p in people.values()}.values(), now)
    if submissions:
        session.execute(insert(_SUBMISSION), submissions)
    if consent_rows:
        session.execute(insert(_CONSENT_EVENT), consent_rows)
    return [answered.get(i) or Written(items[i].submission_id, verdicts[i]) for i in range(len(items))]
