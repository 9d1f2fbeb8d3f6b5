"""Copy-paste HTML for a form on the marketer's own page: a plain ``<form>`` that posts to ``/f/{slug}``.

It carries no render token (it is not rendered by Leadwire), so the form must have ``accept_plain_posts`` on; it keeps
the honeypot, which people never see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import escape

from forms.schemas import FieldOption

if TYPE_CHECKING:
    from forms.definition import Definition
    from forms.schemas import FieldSpec

__all__ = ("plain_form_html",)

_INPUT_TYPES = {"email": "email", "phone": "tel", "number": "number", "url": "url", "date": "date"}
# Off-screen rather than display:none: some bots skip fields that are not displayed.
_HONEYPOT = (
    '  <div style="position:absolute;left:-10000px" aria-hidden="true">'
    '<input type="text" name="_hp" value="" tabindex="-1" autocomplete="off"></div>'
)


def _options(spec: FieldSpec) -> list[tuple[str, str]]:
    pairs = []
    for option in spec.options or []:
        if isinstance(option, FieldOption):
            pairs.append((option.value, option.label or option.value))
        else:
            pairs.append((option, option))
    return pairs


def _field(spec: FieldSpec) -> str:
    name, label = escape(spec.name), escape(spec.label)
    required = " required" if spec.required else ""
    if spec.type == "hidden":
        return f'  <input type="hidden" name="{name}" value="">'
    if spec.type == "textarea":
        return f'  <label>{label}<br><textarea name="{name}"{required}></textarea></label>'
    if spec.type == "checkbox":
        return f'  <label><input type="checkbox" name="{name}" value="on"{required}> {label}</label>'
    if spec.type == "select":
        options = "".join(f'<option value="{escape(v)}">{escape(t)}</option>' for v, t in _options(spec))
        blank = '<option value="">Choose…</option>'
        return f'  <label>{label}<br><select name="{name}"{required}>{blank}{options}</select></label>'
    if spec.type == "multiselect":
        boxes = "".join(
            f'<label><input type="checkbox" name="{name}" value="{escape(v)}"> {escape(t)}</label> '
            for v, t in _options(spec)
        )
        return f"  <fieldset><legend>{label}</legend>{boxes.strip()}</fieldset>"
    kind = _INPUT_TYPES.get(spec.type, "text")
    return f'  <label>{label}<br><input type="{kind}" name="{name}"{required}></label>'


def plain_form_html(definition: Definition, *, action: str) -> str:
    """The HTML of the form, posting to ``action``: its fields, its consent boxes (never pre-ticked), the honeypot."""
    lines = [f'<form action="{escape(action)}" method="post">']
    lines += [_field(spec) for spec in definition.fields]
    for consent in definition.consents:
        required = " required" if consent.required else ""
        lines.append(
            f'  <label><input type="checkbox" name="consent" value="{escape(consent.purpose)}"{required}> '
            f"{escape(consent.text)}</label>"
        )
    lines += [_HONEYPOT, '  <button type="submit">Send</button>', "</form>"]
    return "\n".join(lines)
