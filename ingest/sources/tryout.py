"""Trying a source's rules on a sample payload: what each lead would become and every problem, storing nothing.

The sample is read exactly as the hook reads its sender's request (``pushes.py``), a key it carries in its body
or query is removed as there, and each lead is mapped (``service.map_lead``) and checked against the form
(``ingest.validate``). Authentication is not checked, nor spam, nor idempotency: nothing is claimed or written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from core.errors import BadRequest, FieldError, PayloadTooLarge
from forms import service as forms
from ingest.parse import decode_json, read_body
from ingest.pipeline import definition_of
from ingest.sources import kinds, service
from ingest.sources.kinds import InboundLead
from ingest.sources.providers import provider
from ingest.sources.push_auth import push_auth, read_generically, without_key
from ingest.sources.pushes import Push, flat_document, form_pairs, lead_documents, read_push
from ingest.sources.schemas import TriedLead, TryOut
from ingest.validate import check_submission

if TYPE_CHECKING:
    from litestar import Request
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.settings import Settings
    from forms.models import Form
    from ingest.sources.models import Source

__all__ = ("SAMPLE_TYPES", "try_sample", "try_text")

SAMPLE_TYPES = ("json", "form", "query")
"""How a typed sample (``try_text``) is read: a JSON body, form fields (urlencoded) or a GET's query string."""


def _sample_leads(source: Source, push: Push) -> list[InboundLead]:
    """The sample's leads, read the way the source's kind reads its pushes."""
    if read_generically(source):
        document = without_key(push_auth(source), push.document)
        return [InboundLead("", each) for each in lead_documents(provider(source.kind), document)]
    document = push.document
    if not isinstance(document, dict):
        raise BadRequest("expected a JSON object, as the sender sends it")
    if source.kind == "google_ads":
        # The key is the sender's proof, not part of the lead: the sample is read as if it held the source's own.
        signed = {**document, "google_key": str(source.secrets.get("google_key", ""))}
        return [kinds.google_ads_lead(source, msgspec.json.encode(signed))]
    if source.kind == "meta_lead_ads":  # a sample is a lead as the Graph API answers it
        return [InboundLead(str(document.get("id") or ""), kinds.meta_values(document))]
    data = document.get("data", document)
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object (or one under 'data')")
    return [InboundLead("", data)]


def _tried(source: Source, form: Form, lead: InboundLead, settings: Settings) -> TriedLead:
    mapped = service.map_lead(source, form, lead)
    raw, _ = service.inbound_submission(source, lead, mapped, client_ip="", user_agent=None)
    values, granted, errors = check_submission(
        raw, definition_of(form), max_value_length=settings.ingest_max_value_length
    )
    problems = [FieldError(p.field, p.code, p.message) for p in mapped.problems]
    return TriedLead(
        lead_id=mapped.external_id,
        mapped={name: list(found) for name, found in mapped.values.items()},
        values=values,
        consents=granted,
        problems=[*problems, *errors],
    )


async def try_sample(
    session: AsyncSession,
    *,
    workspace_id: str,
    source_id: str,
    request: Request[Any, Any, Any],
    settings: Settings,
    method: str,
) -> TryOut:
    """Each lead of the sample in ``request``'s body, mapped and checked; ``method="GET"``: the body is the query
    string a GET would carry.

    Raises:
        NotFound: No such source in this workspace.
        BadRequest, PayloadTooLarge, UnsupportedMediaType: The sample cannot be read.
    """
    source = await service.get_source(session, workspace_id=workspace_id, source_id=source_id)
    form = await forms.get_form_any(session, form_id=source.form_id)
    if method == "GET":
        query = await read_body(request, settings.ingest_max_body_bytes)
        push = await read_push(request, settings, method="GET", query=query)
    else:
        push = await read_push(request, settings, method="POST", query=b"")
    return TryOut(leads=[_tried(source, form, lead, settings) for lead in _sample_leads(source, push)])


def _typed_push(sample: str, sample_type: str, settings: Settings) -> Push:
    body = sample.encode()
    if len(body) > settings.ingest_max_body_bytes:
        raise PayloadTooLarge(f"a sample may have at most {settings.ingest_max_body_bytes} bytes")
    if sample_type == "query":
        params = flat_document(form_pairs(body.strip().lstrip(b"?"), "utf-8", settings.ingest_max_fields))
        return Push(b"", dict(params), params)
    if sample_type == "form":
        return Push(body, flat_document(form_pairs(body.strip(), "utf-8", settings.ingest_max_fields)), {})
    return Push(body, decode_json(body), {})


async def try_text(
    session: AsyncSession, *, workspace_id: str, source_id: str, sample: str, sample_type: str, settings: Settings
) -> TryOut:
    """Each lead of a sample typed in (the console's try-out), read as ``sample_type`` (one of ``SAMPLE_TYPES``)
    the way the hook reads the sender's JSON body, form fields or query string, mapped and checked.

    Raises:
        NotFound: No such source in this workspace.
        BadRequest, PayloadTooLarge: The sample cannot be read.
    """
    source = await service.get_source(session, workspace_id=workspace_id, source_id=source_id)
    form = await forms.get_form_any(session, form_id=source.form_id)
    push = _typed_push(sample, sample_type, settings)
    return TryOut(leads=[_tried(source, form, lead, settings) for lead in _sample_leads(source, push)])
