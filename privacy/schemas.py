"""Request and response bodies of the privacy slice: a person, their export, an erasure's result."""

from __future__ import annotations

from typing import Annotated

import msgspec

from consent.schemas import ConsentEventOut
from leads.schemas import LeadOut, SourcePayloadOut, SubmissionOut

__all__ = ("ErasureResult", "PersonExport", "PersonRequest")


class PersonRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A person, by email or by phone (one of them)."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(min_length=3, max_length=40)] | None = None


class PersonExport(msgspec.Struct):
    """Everything the workspace holds about one person."""

    leads: list[LeadOut]
    submissions: list[SubmissionOut]
    consent_events: list[ConsentEventOut]
    source_payloads: list[SourcePayloadOut]
    """What inbound sources received of the person (the last 50 of each source are kept), secrets redacted."""


class ErasureResult(msgspec.Struct):
    erased_leads: list[str]
    """Tombstones are kept under these ids; everything personal about them is gone."""
