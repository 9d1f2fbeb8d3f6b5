"""The hosted form page and its thank-you page: server-rendered, no JavaScript, no cookies, no external assets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from forms.schemas import FieldOption
from ingest import service as ingest

if TYPE_CHECKING:
    from forms.definition import Definition
    from forms.schemas import FieldSpec
    from ingest.pipeline import SubmitServices

__all__ = ("TEMPLATES", "hosted_form", "thank_you")

TEMPLATES = Path(__file__).parent / "templates"
_INPUT_TYPES = {"email": "email", "phone": "tel", "url": "url", "number": "number", "date": "date"}
_AUTOCOMPLETE = {"email": "email", "phone": "tel", "url": "url"}


def _security_headers(definition: Definition) -> dict[str, str]:
    form_action = ["'self'"]
    redirect = definition.settings.redirect_url
    if redirect:
        parts = urlsplit(redirect)
        form_action.append(f"{parts.scheme}://{parts.netloc}")  # browsers check the redirect after the post too
    return {
        "Cache-Control": "no-store",  # the page carries a render token with the time it was made
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
            f"form-action {' '.join(form_action)}; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
    }


def _field_context(spec: FieldSpec, query: dict[str, str]) -> dict[str, Any]:
    options = [o if isinstance(o, FieldOption) else FieldOption(value=o, label=o) for o in spec.options or []]
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
        "autocomplete": spec.autocomplete or _AUTOCOMPLETE.get(spec.type),
        "value": query.get(spec.name, "") if spec.type == "hidden" else "",
    }


@get("/f/{slug:str}", summary="The hosted form page", tags=["public"], include_in_schema=False)
async def hosted_form(slug: FromPath[str], request: Request[Any, Any, Any]) -> Template:
    services: SubmitServices = request.app.state.submit_services
    form = await ingest.published_form(services.db, slug)
    definition = ingest.definition_of(form)
    query = {key: str(value) for key, value in request.query_params.items()}
    context = {
        "form_name": form.name,
        "action": f"/f/{form.slug}",
        "fields": [_field_context(spec, query) for spec in definition.fields],
        "consents": definition.consents,
        "render_token": ingest.issue_render_token(services.settings, form_id=form.id),
    }
    return Template(template_name="form.html", context=context, headers=_security_headers(definition))


@get("/f/{slug:str}/thanks", summary="The thank-you page of a form", tags=["public"], include_in_schema=False)
async def thank_you(slug: FromPath[str], request: Request[Any, Any, Any]) -> Template:
    services: SubmitServices = request.app.state.submit_services
    form = await ingest.published_form(services.db, slug)
    definition = ingest.definition_of(form)
    message = definition.settings.success_message or "Thank you, we have received your details."
    context = {"form_name": form.name, "message": message}
    return Template(template_name="thanks.html", context=context, headers=_security_headers(definition))
