"""What the pages show: the form's fields as template context, errors in page order, and the headers that go with it."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from forms.schemas import FieldOption
from ingest.parse import TRACKING_FIELDS

if TYPE_CHECKING:
    from core.errors import FieldError
    from forms.definition import Definition
    from forms.models import Form
    from forms.schemas import FieldSpec

__all__ = (
    "DEFAULT_THEME",
    "FRAME_SCRIPT",
    "LOADER",
    "TEMPLATES",
    "Loader",
    "frame_context",
    "page_context",
    "page_headers",
)

_HERE = Path(__file__).parent
TEMPLATES = _HERE / "templates"
DEFAULT_THEME = "#1d4ed8"
_INPUT_TYPES = {"email": "email", "phone": "tel", "url": "url", "number": "number", "date": "date"}
_AUTOCOMPLETE = {"email": "email", "phone": "tel", "url": "url"}
_NAME_AUTOCOMPLETE = {
    "name": "name",
    "full_name": "name",
    "first_name": "given-name",
    "last_name": "family-name",
    "company": "organization",
    "organisation": "organization",
    "organization": "organization",
    "job_title": "organization-title",
    "country": "country-name",
    "postcode": "postal-code",
    "zip": "postal-code",
}
_PASSED_THROUGH = ("_page_url", "_referrer", *TRACKING_FIELDS)


@dataclass(frozen=True, slots=True)
class Loader:
    """``embed.js`` as served: the bytes and an ETag from their hash (the app compresses what it sends)."""

    body: bytes
    etag: str

    @classmethod
    def read(cls) -> Loader:
        body = (_HERE / "static" / "embed.js").read_bytes()
        return cls(body, f'"{hashlib.sha256(body).hexdigest()[:16]}"')


LOADER = Loader.read()
FRAME_SCRIPT = (_HERE / "static" / "frame.js").read_text(encoding="utf-8")
_FRAME_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(FRAME_SCRIPT.encode()).digest()).decode() + "'"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_headers(definition: Definition, *, embedded: bool) -> dict[str, str]:
    """No caching (the page carries a time-stamped token), and a policy that allows nothing but its own style.

    The plain page cannot be framed at all; the embed page only by the form's allowed origins (by anyone when the
    form lists none, as with the submit endpoint's origin check), and it may run its one inline script.
    """
    form_action = ["'self'"]
    if definition.settings.redirect_url:
        form_action.append(_origin_of(definition.settings.redirect_url))  # browsers check the redirect too
    if embedded:
        ancestors = " ".join(definition.settings.allowed_origins) or "*"
        script = f"; script-src {_FRAME_HASH}"
    else:
        ancestors, script = "'none'", ""
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            f"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'{script}; base-uri 'none'; "
            f"form-action {' '.join(form_action)}; frame-ancestors {ancestors}"
        ),
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
    }


def _field(spec: FieldSpec, sent: dict[str, list[Any]], query: dict[str, str]) -> dict[str, Any]:
    options = [o if isinstance(o, FieldOption) else FieldOption(value=o, label=o) for o in spec.options or []]
    values = [str(v) for v in sent.get(spec.name, []) if v is not None]
    if spec.type == "hidden" and not values and spec.name in query:
        values = [query[spec.name]]
    autocomplete = spec.autocomplete or _AUTOCOMPLETE.get(spec.type) or _NAME_AUTOCOMPLETE.get(spec.name.lower())
    return {
        "name": spec.name,
        "type": spec.type,
        "label": spec.label,
        "required": spec.required,
        "help": spec.help,
        "placeholder": spec.placeholder,
        "max_length": spec.max_length,
        "options": options,
        "input_type": _INPUT_TYPES.get(spec.type, "text"),
        "autocomplete": autocomplete if spec.type not in {"select", "multiselect", "checkbox", "hidden"} else None,
        "value": values[0] if values else "",
        "chosen": set(values),
    }


def _anchor(field: str, definition: Definition) -> str:
    if field.startswith("consent."):
        return "c-" + field.removeprefix("consent.")
    spec = next((s for s in definition.fields if s.name == field), None)
    if spec is not None and spec.type == "multiselect":
        return f"f-{field}-1"
    return f"f-{field}"


def frame_context(form: Form, definition: Definition, parent_origin: str | None) -> dict[str, Any]:
    """What ``base.html`` needs on every page of a form: its name and colour, and whether it talks to a parent."""
    return {
        "form_name": form.name,
        "slug": form.slug,
        "theme_color": definition.settings.theme_color or DEFAULT_THEME,
        "parent_origin": parent_origin,
        "frame_script": FRAME_SCRIPT,
    }


def page_context(
    form: Form,
    definition: Definition,
    *,
    render_token: str,
    query: dict[str, str],
    parent_origin: str | None,
    sent: dict[str, list[Any]] | None = None,
    granted: list[str] | None = None,
    errors: list[FieldError] | None = None,
) -> dict[str, Any]:
    """The context of ``form.html``.

    ``query`` holds what is passed through in hidden fields (page, referrer, campaign parameters): the page's own
    query string on a first visit, what was posted after a failed post. ``sent``, ``granted`` and ``errors`` fill
    the form in again after a failed post.
    """
    sent = sent or {}
    order = {f"{s.name}": i for i, s in enumerate(definition.fields)}
    shown = [e for e in errors or [] if e.field in order or e.field.startswith("consent.")]
    shown.sort(key=lambda e: order.get(e.field, len(order)))
    hidden = {name: query[name] for name in _PASSED_THROUGH if query.get(name)}
    if parent_origin:
        hidden["_embed_origin"] = parent_origin
    return {
        **frame_context(form, definition, parent_origin),
        "action": f"/f/{form.slug}",
        "fields": [_field(spec, sent, query) for spec in definition.fields],
        "consents": definition.consents,
        "granted": set(granted or []),
        "errors": {e.field: e.message for e in shown},
        "error_list": [{"anchor": _anchor(e.field, definition), "message": e.message} for e in shown],
        "hidden": hidden,
        "render_token": render_token,
        "submit_label": "Send",
        "privacy_notice_url": definition.settings.privacy_notice_url,
    }
