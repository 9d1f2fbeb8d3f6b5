"""The form editor as plain HTML inputs: one row per field and per consent, a few blank rows to add more.

``editor_values`` reads what the browser posted into the admin API's shape (``FormUpdate``); ``editor_rows`` turns a
stored definition, or values that failed to save, back into rows for the template.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from forms.schemas import FieldOption

if TYPE_CHECKING:
    from litestar.datastructures import FormMultiDict

    from forms.definition import Definition
    from forms.schemas import FieldSpec

__all__ = ("CHANNELS", "FIELD_TYPES", "ROW_SLACK", "editor_rows", "editor_values")

ROW_SLACK = 2
"""Blank rows offered below the fields and the consents, to add new ones without a script."""
_MAX_ROWS = 120
FIELD_TYPES = [
    "text",
    "email",
    "phone",
    "textarea",
    "select",
    "multiselect",
    "checkbox",
    "number",
    "url",
    "date",
    "hidden",
]
CHANNELS = ["email", "sms", "whatsapp", "call", "none"]


def _text(form: FormMultiDict, name: str) -> str:
    return str(form.get(name) or "").strip()


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _count(form: FormMultiDict, name: str) -> int:
    try:
        return max(0, min(int(_text(form, name) or "0"), _MAX_ROWS))
    except ValueError:
        return 0


def _keep_hidden(spec: dict[str, Any], stored: FieldSpec | None) -> dict[str, Any]:
    """What the API can set on a field and the editor does not show (placeholder, lengths, option labels), kept."""
    if stored is None:
        return spec
    for name in ("placeholder", "max_length", "autocomplete"):
        if getattr(stored, name) is not None:
            spec[name] = getattr(stored, name)
    labels = {o.value: o.label for o in stored.options or [] if isinstance(o, FieldOption) and o.label != o.value}
    if "options" in spec and labels:
        spec["options"] = [{"value": v, "label": labels[v]} if v in labels else v for v in spec["options"]]
    return spec


def editor_values(
    form: FormMultiDict, stored: Definition | None = None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The posted editor as a form definition, and the problems only the editor can have (a bad number).

    Fields keep, by name, what the editor does not show of the ``stored`` definition.
    """
    problems: list[tuple[str, str]] = []
    kept = {spec.name: spec for spec in stored.fields} if stored else {}
    placed: list[tuple[float, int, dict[str, Any]]] = []
    for index in range(_count(form, "field_rows")):
        prefix = f"field-{index}-"
        name = _text(form, prefix + "name")
        if not name or form.get(prefix + "remove"):
            continue
        try:
            position = float(_text(form, prefix + "position") or index + 1)
        except ValueError:
            position = index + 1
        spec: dict[str, Any] = {
            "name": name,
            "type": _text(form, prefix + "type") or "text",
            "label": _text(form, prefix + "label"),
            "required": bool(form.get(prefix + "required")),
        }
        if help_text := _text(form, prefix + "help"):
            spec["help"] = help_text
        if options := _lines(str(form.get(prefix + "options") or "")):
            spec["options"] = options
        placed.append((position, index, _keep_hidden(spec, kept.get(name))))
    # Rows are placed by their position number, ties in the order shown: reordering needs no script.
    fields = [spec for _, _, spec in sorted(placed, key=lambda item: (item[0], item[1]))]
    consents = []
    for index in range(_count(form, "consent_rows")):
        prefix = f"consent-{index}-"
        purpose = _text(form, prefix + "purpose")
        if not purpose or form.get(prefix + "remove"):
            continue
        consents.append(
            {
                "purpose": purpose,
                "channel": _text(form, prefix + "channel") or "email",
                "text": _text(form, prefix + "text"),
                "required": bool(form.get(prefix + "required")),
            }
        )
    hours = _text(form, "dedupe_hours") or "24"
    try:
        dedupe_seconds = round(float(hours) * 3600)
    except (ValueError, OverflowError):
        problems.append(("settings.dedupe_window", "enter a number of hours, like 24"))
        dedupe_seconds = 86_400
    settings = {
        "allowed_origins": _lines(str(form.get("allowed_origins") or "")),
        "redirect_url": _text(form, "redirect_url") or None,
        "success_message": _text(form, "success_message") or None,
        "dedupe_window_seconds": dedupe_seconds,
        "default_phone_region": _text(form, "default_phone_region").upper() or None,
        "double_opt_in": bool(form.get("double_opt_in")),
        "accept_plain_posts": bool(form.get("accept_plain_posts")),
        "theme_color": _text(form, "theme_color") or None,
        "privacy_notice_url": _text(form, "privacy_notice_url") or None,
    }
    values = {"name": _text(form, "name"), "fields": fields, "consents": consents, "settings": settings}
    return values, problems


def _option_values(field: dict[str, Any]) -> list[str]:
    return [o["value"] if isinstance(o, dict) else str(o) for o in field.get("options") or []]


def editor_rows(values: dict[str, Any] | None, definition: Definition) -> dict[str, Any]:
    """What the editor template shows: the values that failed to save, else the stored definition."""
    shown = values
    if shown is None:
        stored = {"fields": definition.fields, "consents": definition.consents, "settings": definition.settings}
        shown = {"name": None, **msgspec.to_builtins(stored)}
    raw = shown["settings"]
    blank_field = {"name": "", "type": "text", "label": "", "required": False, "help": "", "options": ""}
    blank_consent = {"purpose": "", "channel": "email", "text": "", "required": False}
    return {
        "name": shown["name"],
        "fields": [{**f, "help": f.get("help") or "", "options": "\n".join(_option_values(f))} for f in shown["fields"]]
        + [dict(blank_field) for _ in range(ROW_SLACK)],
        "consents": list(shown["consents"]) + [dict(blank_consent) for _ in range(ROW_SLACK)],
        "settings": {
            "allowed_origins": "\n".join(raw["allowed_origins"]),
            "redirect_url": raw["redirect_url"] or "",
            "success_message": raw["success_message"] or "",
            "dedupe_hours": f"{raw['dedupe_window_seconds'] / 3600:g}",
            "default_phone_region": raw["default_phone_region"] or "",
            "double_opt_in": raw["double_opt_in"],
            "accept_plain_posts": raw.get("accept_plain_posts", False),
            "theme_color": raw["theme_color"] or "",
            "privacy_notice_url": raw["privacy_notice_url"] or "",
        },
        "field_types": FIELD_TYPES,
        "channels": CHANNELS,
    }
