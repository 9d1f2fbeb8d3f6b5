"""Request and response bodies of the forms slice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from forms import limits

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

_Label = Annotated[str, Meta(max_length=limits.MAX_LABEL_CHARS)]
_OptionText = Annotated[str, Meta(min_length=1, max_length=limits.MAX_OPTION_CHARS)]
_Colour = Annotated[str, Meta(pattern=r"^#[0-9a-fA-F]{6}$", description="A colour as #rrggbb")]
_Url = Annotated[str, Meta(max_length=limits.MAX_URL_CHARS)]
_PrivacyUrl = Annotated[str, Meta(max_length=limits.MAX_URL_CHARS, pattern=r"^https?://")]
_Origins = Annotated[list[str], Meta(max_length=limits.MAX_ALLOWED_ORIGINS)]
_SuccessMessage = Annotated[str, Meta(max_length=limits.MAX_SUCCESS_MESSAGE_CHARS)]
_FormName = Annotated[str, Meta(min_length=1, max_length=limits.MAX_FORM_NAME_CHARS)]


class FieldOption(msgspec.Struct, forbid_unknown_fields=True):
    """A choice of a select or multiselect field: the value stored, the label shown."""

    value: _OptionText
    label: Annotated[str, Meta(max_length=limits.MAX_OPTION_CHARS)] = ""


_Options = Annotated[
    list[_OptionText | FieldOption],
    Meta(
        description=f"At most {limits.MAX_OPTIONS_PER_FIELD} in a field, and {limits.MAX_OPTIONS_PER_FORM:,} in a form "
        f"of which {limits.MAX_CHECKBOXES_PER_FORM} in multiselect fields (checked with the whole form)."
    ),
]


class FieldSpec(msgspec.Struct, forbid_unknown_fields=True):
    """One input of a form."""

    name: Annotated[
        str, Meta(min_length=1, max_length=limits.MAX_FIELD_NAME_CHARS, description="Key of the value in submissions.")
    ]
    type: FieldType
    label: _Label = ""
    required: bool = False
    help: Annotated[str, Meta(max_length=limits.MAX_HELP_CHARS)] | None = None
    placeholder: Annotated[str, Meta(max_length=limits.MAX_PLACEHOLDER_CHARS)] | None = None
    max_length: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    options: _Options | None = None
    autocomplete: Annotated[str, Meta(max_length=limits.MAX_AUTOCOMPLETE_CHARS)] | None = None


class ConsentSpec(msgspec.Struct, forbid_unknown_fields=True):
    """One purpose the prospect may agree to, with the exact text they are shown."""

    purpose: Annotated[
        str, Meta(min_length=1, max_length=limits.MAX_PURPOSE_CHARS, description="e.g. marketing, sales_contact")
    ]
    channel: Channel
    text: Annotated[str, Meta(min_length=1, max_length=limits.MAX_CONSENT_TEXT_CHARS)]
    required: bool = False


class FormSettings(msgspec.Struct, forbid_unknown_fields=True):
    """How the form behaves once published."""

    allowed_origins: _Origins = msgspec.field(default_factory=list)
    redirect_url: _Url | None = None
    success_message: _SuccessMessage | None = None
    dedupe_window_seconds: Annotated[int, Meta(ge=0, le=30 * 86_400)] = 86_400
    default_phone_region: Annotated[str, Meta(min_length=2, max_length=2)] | None = None
    double_opt_in: bool = False
    """Hold each lead until the person confirms: the CRM gets ``lead.confirmation_requested`` and sends the email."""
    accept_plain_posts: bool = False
    """Take browser posts that carry no render token: a plain ``<form action=".../f/{slug}">`` on your own pages.

    The honeypot, the ``allowed_origins`` check and the rate limits still apply; a token that is sent is still checked.
    Off, such posts are kept as spam (``no_render_token``)."""
    theme_color: _Colour | None = None
    """The colour of the hosted page's button and focus ring, ``#rrggbb``; Leadwire's blue when unset."""
    privacy_notice_url: _PrivacyUrl | None = None
    """The privacy notice the consents refer to; shown on the page and in consent receipts."""
    language: Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] = "en"
    """The language of the form's texts (BCP 47), recorded in consent receipts."""


class FormSettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A partial settings update: only the keys given change."""

    allowed_origins: _Origins | UnsetType = UNSET
    redirect_url: _Url | UnsetType | None = UNSET
    success_message: _SuccessMessage | UnsetType | None = UNSET
    dedupe_window_seconds: Annotated[int, Meta(ge=0, le=30 * 86_400)] | UnsetType = UNSET
    default_phone_region: Annotated[str, Meta(min_length=2, max_length=2)] | UnsetType | None = UNSET
    double_opt_in: bool | UnsetType = UNSET
    accept_plain_posts: bool | UnsetType = UNSET
    theme_color: _Colour | UnsetType | None = UNSET
    privacy_notice_url: _PrivacyUrl | UnsetType | None = UNSET
    language: Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | UnsetType = UNSET


_Fields = Annotated[list[FieldSpec], Meta(max_length=limits.MAX_FIELDS)]
_Consents = Annotated[list[ConsentSpec], Meta(max_length=limits.MAX_CONSENTS)]


class FormCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: _FormName
    fields: _Fields = msgspec.field(default_factory=list)
    consents: _Consents = msgspec.field(default_factory=list)
    settings: FormSettings = msgspec.field(default_factory=FormSettings)
    status: FormStatus = "draft"


class FormUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update: ``fields`` and ``consents`` are replaced whole, ``settings`` key by key."""

    name: _FormName | UnsetType = UNSET
    fields: _Fields | UnsetType = UNSET
    consents: _Consents | UnsetType = UNSET
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
