"""A source's forms as plain HTML inputs: a new source of a kind, and its mapping as rows (path → form field, joins,
defaults), a few blank rows to add more, as the form editor's rows are.

``creation_values`` and ``mapping_values`` read what the browser posted into the admin API's shapes (``SourceCreate``,
``SourceUpdate``); ``mapping_rows`` turns a stored source, or values that failed to save, back into rows.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    import msgspec
    from litestar.datastructures import FormMultiDict

    from ingest.sources.models import Source
    from ingest.sources.providers import Provider

__all__ = (
    "AUTH_TYPES",
    "ROW_SLACK",
    "creation_values",
    "mapping_rows",
    "mapping_values",
    "pull_credentials",
    "takes_secret",
    "words_for",
)

ROW_SLACK = 2
"""Blank rows offered below the mapping's and the defaults' rows, to add new ones without a script."""
_MAX_ROWS = 200
AUTH_TYPES = [
    ("url", "The URL alone (keep it private)"),
    ("header", "A key in a header"),
    ("query", "A key in a query parameter"),
    ("body", "A key in a body field"),
    ("basic", "HTTP Basic (user name and password)"),
    ("hmac", "An HMAC signature of the body, in a header"),
]
_PRESET_SECRETS = frozenset({"header", "query", "body", "basic", "hmac"})
_LABELS = {
    "auth": "Authentication",
    "auth.name": "Header, parameter or field name",
    "auth.value": "Key",
    "auth.username": "User name",
    "auth.prefix": "Signature prefix",
    "name": "Name",
    "pull": "Pull credentials",
    "google_key": "Key",
    "meta_app_secret": "App secret",
    "meta_page_access_token": "Page access token",
    "meta_verify_token": "Verify token",
    "mapping": "Mapping",
    "join": "Joined fields",
    "defaults": "Defaults",
    "phone_region": "Phone region",
    "id_field": "Lead id field",
    "consent_purposes": "Consent purposes",
}
_HINTS = {
    "phone_region": "enter a two-letter country code, like IN",
    "google_key": "use printable characters only",
}


def _text(form: FormMultiDict, name: str) -> str:
    return str(form.get(name) or "").strip()


def _count(form: FormMultiDict, name: str) -> int:
    try:
        return max(0, min(int(_text(form, name) or "0"), _MAX_ROWS))
    except ValueError:
        return 0


def _label(field: str) -> str:
    if field.startswith("pull."):
        return f"Pull credential {field.removeprefix('pull.')}"
    return _LABELS.get(field, field)


def words_for(exc: ValidationFailed | msgspec.ValidationError) -> list[str]:
    """One line per problem, naming the input as the page labels it, never a schema's own text."""
    if isinstance(exc, ValidationFailed):
        return [f"{_label(e.field)}: {e.message}" for e in exc.errors]
    message, _, where = str(exc).partition(" - at `$.")
    path = re.sub(r"\[[^\]]*\]", "", where.rstrip("`"))
    path = path if path in _LABELS else path.split(".")[0]
    label = _LABELS.get(path, path or "The source")
    if path in _HINTS:
        return [f"{label}: {_HINTS[path]}"]
    if "length >=" in message:
        return [f"{label}: too short ({message.rsplit(' ', 1)[-1]} characters at least)"]
    if "length <=" in message:
        return [f"{label}: too long ({message.rsplit(' ', 1)[-1]} characters at most)"]
    return [f"{label}: this value is not accepted here"]


def takes_secret(kind: Provider) -> bool:
    """Whether a preset's sender signs or keys its pushes with a secret the user may have chosen there."""
    return kind.auth is not None and kind.auth.type in _PRESET_SECRETS


def pull_credentials(kind: Provider) -> list[str]:
    """The credentials a pulling provider takes, by name (none for a kind that does not pull)."""
    return list(kind.pull.credentials) if kind.pull is not None else []


def _pull(form: FormMultiDict, kind: Provider) -> dict[str, str] | None:
    given = {name: _text(form, f"pull-{name}") for name in pull_credentials(kind)}
    return given if any(given.values()) or (kind.pull is not None and not kind.methods) else None


def _auth(form: FormMultiDict, kind: Provider) -> dict[str, Any] | None:
    if kind.auth is None:  # generic: the source says how its sender proves itself
        auth: dict[str, Any] = {"type": _text(form, "auth_type") or "url"}
        for name in ("name", "value", "username"):
            if value := _text(form, f"auth_{name}"):
                auth[name] = value
        if auth["type"] == "hmac":
            auth.update(
                algorithm=_text(form, "auth_algorithm") or "sha256",
                encoding=_text(form, "auth_encoding") or "hex",
                prefix=_text(form, "auth_prefix"),
            )
        return auth
    value = _text(form, "auth_value")
    if not value or not takes_secret(kind):
        return None
    return {**kind.auth.as_config(), "value": value}  # the preset's own scheme, with the secret its sender chose


def creation_values(form: FormMultiDict, kind: Provider) -> dict[str, Any]:
    """The posted form as the admin API's ``SourceCreate``: pull credentials when any is given, or when the kind
    takes no pushes (the service says which are missing)."""
    values: dict[str, Any] = {
        "kind": kind.kind,
        "form_id": _text(form, "form"),
        "name": _text(form, "name") or kind.label[:200],
        "consent_purposes": [str(p) for p in form.getall("consent_purposes", []) if str(p).strip()],
    }
    if (auth := _auth(form, kind)) is not None:
        values["auth"] = auth
    if (pull := _pull(form, kind)) is not None:
        values["pull"] = pull
    for name in ("google_key", "meta_app_secret", "meta_page_access_token", "meta_verify_token"):
        if value := _text(form, name):
            values[name] = value
    return values


def mapping_values(form: FormMultiDict) -> tuple[dict[str, Any], list[FieldError]]:
    """The posted mapping editor as the admin API's ``SourceUpdate``, and the problems only the editor can have (a
    path without its form field, kept with an empty one to be shown again)."""
    mapping: dict[str, str] = {}
    problems: list[FieldError] = []
    for index in range(_count(form, "map_rows")):
        path = _text(form, f"map-{index}-path")
        if path and not form.get(f"map-{index}-remove"):
            mapping[path] = _text(form, f"map-{index}-field")
            if not mapping[path]:
                problems.append(FieldError("mapping", "required", f"choose the form field '{path}' goes to"))
    join: dict[str, list[str]] = {}
    for index in range(_count(form, "join_rows")):
        field = _text(form, f"join-{index}-field")
        paths = [line.strip() for line in str(form.get(f"join-{index}-paths") or "").splitlines() if line.strip()]
        if field and paths:
            join[field] = paths
    defaults: dict[str, str] = {}
    for index in range(_count(form, "default_rows")):
        field = _text(form, f"default-{index}-field")
        if field and not form.get(f"default-{index}-remove"):
            defaults[field] = _text(form, f"default-{index}-value")
    values = {
        "mapping": mapping,
        "join": join,
        "defaults": defaults,
        "phone_region": _text(form, "phone_region").upper() or None,
        "id_field": _text(form, "id_field") or None,
    }
    return values, problems


def mapping_rows(values: dict[str, Any] | None, source: Source, fields: list[str]) -> dict[str, Any]:
    """What the mapping editor shows: the values that failed to save, else the source's own."""
    if values is None:
        config = source.config or {}
        values = {
            "mapping": dict(source.mapping),
            "join": dict(config.get("join") or {}),
            "defaults": dict(config.get("defaults") or {}),
            "phone_region": config.get("phone_region"),
            "id_field": config.get("id_field"),
        }
    named = {*values["mapping"].values(), *values["join"], *values["defaults"]}
    return {
        "mapping": [{"path": p, "field": f} for p, f in values["mapping"].items()]
        + [{"path": "", "field": ""} for _ in range(ROW_SLACK)],
        "join": [{"field": f, "paths": "\n".join(ps)} for f, ps in values["join"].items()]
        + [{"field": "", "paths": ""}],
        "defaults": [{"field": f, "value": v} for f, v in values["defaults"].items()]
        + [{"field": "", "value": ""} for _ in range(ROW_SLACK)],
        "phone_region": values["phone_region"] or "",
        "id_field": values["id_field"] or "",
        # A field the form no longer has stays offered where a row names it, so that saving does not drop it.
        "fields": fields + sorted(name for name in named if name and name not in fields),
    }
