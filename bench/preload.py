"""A workspace with a history: N people who each sent one form, stored as the ingest pipeline would have stored them.

With ``history`` (the default), every person gets the rows one accepted submission writes: the lead, the submission,
one consent event per purpose of the form, and the ``lead.created`` outbox message (no deliveries: the workspace has
no endpoints), and optionally the idempotency key it came with, kept until it expires. Without, only the lead.
Everything goes in with multi-row ``INSERT``s (executemany), in chunks, in the caller's transaction: 200,000 leads
take about half a minute on SQLite, several times that with their history.

Emails and phones look like real ones (names, company and mail domains, Indian and US mobile numbers), are all
distinct, and never collide with the benchmark's own submissions (``bench-…@example.com``) or with tests' people.
"""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import insert

from consent import service as consent
from consent.models import ConsentEvent
from core.database import utcnow
from core.ids import new_id
from delivery.models import Message
from forms import service as forms
from leads.models import IdempotencyRecord, Lead, Submission

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.models import ConsentNotice
    from forms.models import Form

__all__ = ("preload_people",)

_CHUNK = 5_000
_FIRST = (
    "Aarav",
    "Aditi",
    "Ananya",
    "Arjun",
    "Deepa",
    "Divya",
    "Farah",
    "Gaurav",
    "Isha",
    "Karan",
    "Kavya",
    "Meera",
    "Nikhil",
    "Priya",
    "Rahul",
    "Riya",
    "Rohan",
    "Sanjay",
    "Sara",
    "Tanvi",
    "Vikram",
    "Zoya",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Sofia",
    "James",
    "Chloe",
    "Daniel",
    "Grace",
    "Leo",
    "Hannah",
)
_LAST = (
    "Sharma",
    "Iyer",
    "Reddy",
    "Nair",
    "Gupta",
    "Menon",
    "Rao",
    "Patel",
    "Singh",
    "Das",
    "Bose",
    "Khan",
    "Mehta",
    "Joshi",
    "Kulkarni",
    "Pillai",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Garcia",
    "Martin",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Hill",
)
_MAIL = (
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "proton.me",
    "hotmail.com",
    "icloud.com",
    "rediffmail.com",
)
_COMPANY = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Vandelay",
    "Pied",
    "Piper",
    "Aperture",
    "Massive",
    "Dynamic",
    "Oscorp",
    "Zentech",
    "Infobyte",
    "Tatva",
    "Prism",
    "Kestrel",
    "Nimbus",
    "Quanta",
    "Orbit",
    "Saffron",
    "Lotus",
    "Banyan",
)
_TEAM = ("1-10", "11-50", "51-200", "201+")
_MESSAGES = (
    "We would like a demo for our sales team.",
    "What does the enterprise plan cost for 40 seats?",
    "Do you integrate with our CRM? We use webhooks today.",
    "",
)


def _person(n: int, rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    company = rng.choice(_COMPANY)
    if n % 3 == 0:  # a work address
        email = f"{first}.{last}.{n}@{company.lower()}-{n % 97}.example.net".lower()
    else:
        email = f"{first}{rng.choice(('.', '_', ''))}{last}{n}@{rng.choice(_MAIL)}".lower()
    phone = None
    if n % 2 == 0:  # half of them left a mobile number: Indian, else American, all distinct
        phone = f"+91{7_000_000_000 + n:010d}" if n % 4 == 0 else f"+1415{5_000_000 + n % 5_000_000:07d}"
    fields: dict[str, Any] = {"name": f"{first} {last}", "email": email, "company": f"{company} Ltd"}
    if phone is not None:
        fields["phone"] = phone
    fields["team_size"] = rng.choice(_TEAM)
    message = rng.choice(_MESSAGES)
    if message:
        fields["message"] = message
    return fields


def _lead(fields: dict[str, Any], form: Form, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id("lead"),
        "workspace_id": form.workspace_id,
        "email": fields["email"],
        "phone": fields.get("phone"),
        "name": fields["name"],
        "fields": fields,
        "submission_count": 1,
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }


def _history(
    lead: dict[str, Any], form: Form, notices: dict[str, ConsentNotice], now: datetime, *, key: bool
) -> dict[str, list[dict[str, Any]]]:
    """The other rows the accepted submission that created ``lead`` wrote."""
    lead_id, submission_id, message_id = lead["id"], new_id("sub"), new_id("msg")
    fields, email, phone = lead["fields"], lead["email"], lead["phone"]
    granted = ["sales_contact"] if len(email) % 2 else ["sales_contact", "marketing"]
    consents = [
        {
            "id": new_id("ce"),
            "workspace_id": form.workspace_id,
            "lead_id": lead_id,
            "submission_id": submission_id,
            "notice_id": notice.id,
            "form_id": form.id,
            "purpose": purpose,
            "channel": notice.channel,
            "state": "given" if purpose in granted else "refused",
            "indication": "api",
            "page_url": None,
            "recorded_at": now,
        }
        for purpose, notice in notices.items()
    ]
    payload = {
        "lead": {"id": lead_id, "email": email, "phone": phone, "name": fields["name"], "is_new": True},
        "submission": {
            "id": submission_id,
            "form_id": form.id,
            "form_name": form.name,
            "fields": fields,
            "page_url": None,
            "referrer": None,
            "utm": {},
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "receipt_url": f"https://leads.example.com/c/{submission_id}",
            "source": "api",
        },
        "consent": [
            {"purpose": c["purpose"], "channel": c["channel"], "state": c["state"], "notice_version": 1}
            for c in consents
        ],
        "consent_state": [{"purpose": c["purpose"], "state": c["state"]} for c in consents],
    }
    rows: dict[str, list[dict[str, Any]]] = {
        "submission": [
            {
                "id": submission_id,
                "workspace_id": form.workspace_id,
                "form_id": form.id,
                "form_version": form.version,
                "lead_id": lead_id,
                "verdict": "accepted",
                "source": "api",
                "fields": fields,
                "consents": granted,
                "fingerprint": hashlib.sha256(f"{form.id}/{email}".encode()).hexdigest(),
                "person": email,
                "utm": {},
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
                "client_ip": "203.0.113.0",
                "event_type": "lead.created",
                "message_id": message_id,
                "created_at": now,
            }
        ],
        "consent_event": consents,
        "message": [
            {
                "id": message_id,
                "workspace_id": form.workspace_id,
                "event_type": "lead.created",
                "payload": payload,
                "created_at": now,
            }
        ],
        "idempotency_key": [],
    }
    if key:
        rows["idempotency_key"].append(
            {
                "id": new_id("idem"),
                "form_id": form.id,
                "scope": "client",
                "key": f"preload-{submission_id}",
                "request_sha256": hashlib.sha256(submission_id.encode()).hexdigest(),
                "status_code": 201,
                "body": '{"id":"' + submission_id + '","status":"accepted"}',
                "location": None,
                "submission_id": submission_id,
                "created_at": now,
                "expires_at": now + timedelta(days=1),
            }
        )
    return rows


_TABLES: dict[str, Table] = {
    model.__tablename__: cast("Table", model.__table__)
    for model in (Lead, Submission, ConsentEvent, Message, IdempotencyRecord)
}


async def preload_people(
    session: AsyncSession,
    *,
    workspace_id: str,
    form_ids: Sequence[str],
    count: int,
    history: bool = True,
    idempotency_keys: bool = False,
    seed: int = 15,
) -> int:
    """Store ``count`` people of the workspace, each with one accepted submission of one of the forms (in turn).

    Args:
        session: A write session; the caller commits.
        workspace_id: Whose people they are.
        form_ids: Published forms of the workspace (with their consent texts) that the people sent.
        count: How many people.
        history: Store each person's submission, consent events and message too; else only the leads.
        idempotency_keys: Each submission came with an ``Idempotency-Key``, stored until it expires.
        seed: Names and domains are drawn from this seed: the same people every time.

    Returns:
        How many rows were written in all.
    """
    rng = random.Random(seed)  # made-up people, not secrets
    now = utcnow()
    chosen = []
    for form_id in form_ids:
        form = await forms.get_form(session, workspace_id=workspace_id, form_id=form_id)
        chosen.append((form, await session.run_sync(consent.notices_for, form=form)))
    written = 0
    for start in range(0, count, _CHUNK):
        batch: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
        for n in range(start, min(start + _CHUNK, count)):
            form, notices = chosen[n % len(chosen)]
            lead = _lead(_person(n, rng), form, now)
            batch["lead"].append(lead)
            if history:
                for name, rows in _history(lead, form, notices, now, key=idempotency_keys).items():
                    batch[name].extend(rows)
        for name in ("lead", "submission", "consent_event", "message", "idempotency_key"):  # foreign keys first
            if batch[name]:
                await session.execute(insert(_TABLES[name]), batch[name])
                written += len(batch[name])
    return written
