"""From a sender's payload to a form's values: paths into nested JSON, and the small transforms senders need.

A path names one value in a payload: ``RESPONSE.SENDER_NAME``, ``answers[0].email``, ``form_response.hidden.id``.
Keys that hold a dot or a bracket are written in brackets and quotes: ``data["first.name"]``. A path that is
just a key (``email``) reads that key, so flat payloads (form posts, query strings, Google's columns) use the
same mappings as nested ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leads.normalise import InvalidValueError, e164_phone

__all__ = (
    "MAX_PATH_LENGTH",
    "Mapped",
    "MappingProblem",
    "Rules",
    "apply_rules",
    "check_path",
    "read_path",
)

MAX_PATH_LENGTH = 200
_SEGMENT = re.compile(r"""\[(?:(?P<index>[0-9]{1,6})|"(?P<quoted>[^"]{1,100})")\]|(?P<key>[^.\[\]"]{1,100})""")


class PathError(ValueError):
    """The path is not written as ``a.b[0].c``."""


def _segments(path: str) -> list[str | int]:
    if not path or len(path) > MAX_PATH_LENGTH:
        raise PathError(f"a path has 1 to {MAX_PATH_LENGTH} characters")
    segments: list[str | int] = []
    position = 0
    while position < len(path):
        if segments and path[position] == ".":
            position += 1
            if position == len(path) or path[position] in ".[":
                raise PathError(f"'{path}': a dot must be followed by a key")
        match = _SEGMENT.match(path, position)
        if match is None or match.end() == position:
            raise PathError(f"'{path}': cannot read it at character {position + 1} (write a.b[0].c)")
        if match["index"] is not None:
            segments.append(int(match["index"]))
        else:
            segments.append(match["quoted"] if match["quoted"] is not None else match["key"])
        position = match.end()
    return segments


def check_path(path: str) -> str | None:
    """Why ``path`` cannot be read, or None when it can."""
    try:
        _segments(path)
    except PathError as exc:
        return str(exc)
    return None


def read_path(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``, or None when any step of it is missing.

    Raises:
        PathError: The path is not written as ``a.b[0].c``.
    """
    current = document
    for segment in _segments(path):
        if isinstance(segment, int):
            if not isinstance(current, list) or segment >= len(current):
                return None
            current = current[segment]
        elif isinstance(current, dict):
            if segment not in current:
                return None
            current = current[segment]
        else:
            return None
    return current


@dataclass(frozen=True, slots=True)
class Rules:
    """How one source's payloads become form values: a provider's defaults merged with the source's own."""

    mapping: dict[str, str] = field(default_factory=dict)
    """Path in the payload to form field."""
    fallback: dict[str, str] = field(default_factory=dict)
    """Paths read only for form fields that ``mapping`` left empty: a provider's mapping under a source's own. Of
    several paths to one field, the first that has a value is taken."""
    join: dict[str, list[str]] = field(default_factory=dict)
    """Form field to paths whose values are joined with a space (first and last name into ``name``)."""
    defaults: dict[str, str] = field(default_factory=dict)
    """Form field to the value it takes when the payload gives none."""
    phone_region: str | None = None
    """The country whose national numbers the sender's phones are (``IN``: ``9876543210`` is ``+919876543210``)."""
    id_field: str | None = None
    """Path to the sender's own id of the lead: the idempotency key, so a sender's retry is stored once."""

    def merged(self, own: Rules) -> Rules:
        """These rules (a provider's) overridden by a source's ``own``: a form field the source maps is read from
        the source's paths first, and from the provider's only when those are empty; a path the source maps goes
        where the source says; its join, defaults, region and id field win where it sets them."""
        fallback = {path: name for path, name in self.mapping.items() if path not in own.mapping}
        return Rules(
            mapping=dict(own.mapping),
            fallback={**fallback, **{p: n for p, n in self.fallback.items() if p not in own.mapping}},
            join={**self.join, **own.join},
            defaults={**self.defaults, **own.defaults},
            phone_region=own.phone_region or self.phone_region,
            id_field=own.id_field or self.id_field,
        )


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """Something in the payload the rules could not use; ``field`` is the form field or the rule it concerns."""

    field: str
    code: str
    message: str


@dataclass(slots=True)
class Mapped:
    """The form values read from one payload, the sender's id of the lead, and what went wrong."""

    values: dict[str, list[Any]]
    external_id: str | None
    problems: list[MappingProblem]


def _scalars(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None and v != "" and not isinstance(v, dict | list)]
    if isinstance(value, dict):
        return []
    return [value]


def apply_rules(document: Any, rules: Rules, form_fields: dict[str, str], *, names_as_fields: bool = True) -> Mapped:
    """Read ``document`` with ``rules`` into ``form_fields`` (name to field type).

    Top-level keys that already are form fields are taken too when ``names_as_fields`` (and not mapped
    elsewhere). Values for fields the form does not have are dropped; a rule that names one is a problem.
    """
    problems: list[MappingProblem] = []
    values = _mapped(document, rules, form_fields, problems)
    _joined(document, rules, form_fields, values, problems)
    if names_as_fields and isinstance(document, dict):
        taken = set(rules.mapping.values()) | set(rules.fallback.values()) | set(rules.join) | set(values)
        for key, value in document.items():
            if key in form_fields and key not in taken and (found := _scalars(value)):
                values[key] = found
    for name, value in rules.defaults.items():
        if name not in form_fields:
            problems.append(MappingProblem(name, "unknown_field", f"the form has no field '{name}' (a default)"))
        elif not values.get(name):
            values[name] = [value]
    if rules.phone_region:
        for name, found in values.items():
            if form_fields.get(name) == "phone":
                values[name] = [_phone(v, rules.phone_region) for v in found]
    return Mapped(values=values, external_id=_external_id(document, rules.id_field, problems), problems=problems)


def _read(document: Any, path: str, name: str, problems: list[MappingProblem]) -> list[Any]:
    try:
        return _scalars(read_path(document, path))
    except PathError as exc:
        problems.append(MappingProblem(name, "bad_path", str(exc)))
        return []


def _mapped(
    document: Any, rules: Rules, form_fields: dict[str, str], problems: list[MappingProblem]
) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for path, name in rules.mapping.items():
        if name not in form_fields:
            problems.append(MappingProblem(name, "unknown_field", f"the form has no field '{name}' (from '{path}')"))
        elif found := _read(document, path, name, problems):
            values.setdefault(name, []).extend(found)
    # A provider may list several paths for one field (a mobile, then a landline): the first with a value wins.
    for path, name in rules.fallback.items():
        if name in form_fields and name not in values and (found := _read(document, path, name, problems)):
            values[name] = found
    return values


def _joined(
    document: Any,
    rules: Rules,
    form_fields: dict[str, str],
    values: dict[str, list[Any]],
    problems: list[MappingProblem],
) -> None:
    for name, paths in rules.join.items():
        if name not in form_fields:
            problems.append(MappingProblem(name, "unknown_field", f"the form has no field '{name}' (a join)"))
            continue
        parts = [str(v).strip() for path in paths for v in _read(document, path, name, problems)]
        joined = " ".join(p for p in parts if p)
        if joined and name not in values:
            values[name] = [joined]


def _external_id(document: Any, id_field: str | None, problems: list[MappingProblem]) -> str | None:
    if not id_field:
        return None
    try:
        found = read_path(document, id_field)
    except PathError as exc:
        problems.append(MappingProblem("id_field", "bad_path", str(exc)))
        return None
    if found is None or isinstance(found, dict | list) or not str(found).strip():
        problems.append(MappingProblem("id_field", "missing_id", f"the payload has no lead id at '{id_field}'"))
        return None
    return str(found).strip()[:100]


def _phone(value: Any, region: str) -> Any:
    """A national number in ``region`` as E.164; the value as sent when it is not one (validation says why)."""
    text = str(value).strip()
    try:
        return e164_phone(text, region)
    except InvalidValueError:
        return value
