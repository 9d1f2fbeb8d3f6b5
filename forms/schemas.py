"""Request and response bodies of the forms slice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = (
    "Channel",
    "ConsentSpec",
    "FieldOption",
    "FieldSpec",
    "FieldType",
    "FormCreate",
    "FormList",
    "FormOut",
    "FormSettings",
    "FormSettingsPatch",
    "FormStatus",
    "FormUpdate",
)

FieldType = Literal[
    "text", "email", "phone", "textarea", "select", "multiselect", "checkbox", "number", "url", "date", "hidden"
]
Channel = Literal["email", "sms", "whatsapp", "call", "none"]
FormStatus = Literal["draft", "published", "archived"]

_ShortText = Annotated[str, Meta(max_length=200)]
_Colour = Annotated[str, Meta(pattern=r"^#[0-9a-fA-F]{6}$", description="A colour as #rrggbb")]
_MAX_FIELDS = 100
_MAX_CONSENTS = 20


class FieldOption(msgspec.Struct, forbid_unknown_fields=True):
    """A choice of a select or multiselect field: the value stored, the label shown."""

    value: Annotated[str, Meta(min_length=1, max_length=200)]
    label: _ShortText = ""


class FieldSpec(msgspec.Struct, forbid_unknown_fields=True):
    """One input of a form."""

    name: Annotated[str, Meta(min_length=1, max_length=64, description="Key of the value in submissions.")]
    type: FieldType
    label: _ShortText = ""
    required: bool = False
    help: Annotated[str, Meta(max_length=500)] | None = None
    placeholder: _ShortText | None = None
    max_length: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    options: list[str | FieldOption] | None = None
    autocomplete: Annotated[str, Meta(max_length=100)] | None = None


class ConsentSpec(msgspec.Struct, forbid_unknown_fields=True):
    """One purpose the prospect may agree to, with the exact text they are shown."""

    purpose: Annotated[str, Meta(min_length=1, max_length=64, description="e.g. marketing, sales_contact")]
    channel: Channel
    text: Annotated[str, Meta(min_length=1, max_length=5_000)]
    required: bool = False


class FormSettings(msgspec.Struct, forbid_unknown_fields=True):
    """How the form behaves once published."""

    allowed_origins: Annotated[list[str], Meta(max_length=50)] = msgspec.field(default_factory=list)
    redirect_url: Annotated[str, Meta(max_length=2_000)] | None = None
    success_message: Annotated[str, Meta(max_length=1_000)] | None = None
    dedupe_window_seconds: Annotated[int, Meta(ge=0, le=30 * 86_400)] = 86_400
    default_phone_region: Annotated[str, Meta(min_length=2, max_length=2)] | None = None
    double_opt_in: bool = False
    theme_color: _Colour | None = None
    """The colour of the hosted page's button and focus ring, ``#rrggbb``; Leadwire's blue when unset."""
    privacy_notice_url: Annotated[str, Meta(max_length=2_000, pattern=r"^https?://")] | None = None
    """The privacy notice the consents refer to; shown on the page and in consent receipts."""
    language: Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] = "en"
    """The language of the form's texts (BCP 47), recorded in consent receipts."""


class FormSettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A partial settings update: only the keys given change."""

    allowed_origins: Annotated[list[str], Meta(max_length=50)] | UnsetType = UNSET
    redirect_url: Annotated[str, Meta(max_length=2_000)] | UnsetType | None = UNSET
    success_message: Annotated[str, Meta(max_length=1_000)] | UnsetType | None = UNSET
    dedupe_window_seconds: Annotated[int, Meta(ge=0, le=30 * 86_400)] | UnsetType = UNSET
    default_phone_region: Annotated[str, Meta(min_length=2, max_length=2)] | UnsetType | None = UNSET
    double_opt_in: bool | UnsetType = UNSET
    theme_color: _Colour | UnsetType | None = UNSET
    privacy_notice_url: Annotated[str, Meta(max_length=2_000, pattern=r"^https?://")] | UnsetType | None = UNSET
    language: Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | UnsetType = UNSET


class FormCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    fields: Annotated[list[FieldSpec], Meta(max_length=_MAX_FIELDS)] = msgspec.field(default_factory=list)
    consents: Annotated[list[ConsentSpec], Meta(max_length=_MAX_CONSENTS)] = msgspec.field(default_factory=list)
    settings: FormSettings = msgspec.field(default_factory=FormSettings)
    status: FormStatus = "draft"


class FormUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update: ``fields`` and ``consents`` are replaced whole, ``settings`` key by key."""

    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    fields: Annotated[list[FieldSpec], Meta(max_length=_MAX_FIELDS)] | UnsetType = UNSET
    consents: Annotated[list[ConsentSpec], Meta(max_length=_MAX_CONSENTS)] | UnsetType = UNSET
    settings: FormSettingsPatch | UnsetType = UNSET
    status: FormStatus | UnsetType = UNSET


class FormOut(msgspec.Struct):
    id: str
    name: str
    slug: str
    status: FormStatus
    version: int
    fields: list[FieldSpec]
    consents: list[ConsentSpec]
    settings: FormSettings
    public_url: str
    created_at: datetime
    updated_at: datetime


class FormList(msgspec.Struct):
    items: list[FormOut]
    next_cursor: str | None
