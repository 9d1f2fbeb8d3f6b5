"""Step 2 of the pipeline: check the values against the form and normalise them; every error at once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.errors import FieldError, ValidationFailed
from forms.schemas import FieldOption
from ingest.parse import TRACKING_FIELDS, clean_text
from leads.normalise import InvalidValueError, canonical_email, e164_phone

if TYPE_CHECKING:
    from forms.definition import Definition
    from forms.schemas import FieldSpec
    from ingest.parse import RawSubmission, Scalar

__all__ = ("CleanSubmission", "check_submission", "validate_submission")

_DEFAULT_MAX = {"textarea": 10_000, "url": 2_000}
_TEXT_MAX = 1_000
_TRUE = frozenset({"on", "true", "1", "yes", "y"})
_FALSE = frozenset({"", "off", "false", "0", "no", "n"})
_NAME_FIELDS = ("name", "full_name", "fullname")
_FIRST_NAME_FIELDS = ("first_name", "firstname", "given_name")
_LAST_NAME_FIELDS = ("last_name", "lastname", "family_name", "surname")


@dataclass(frozen=True, slots=True)
class CleanSubmission:
    """The values as they will be stored and delivered, and what identifies the person."""

    fields: dict[str, Any]
    granted: list[str]
    email: str | None
    phone: str | None
    name: str | None


class _Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _option_values(spec: FieldSpec) -> set[str]:
    return {o.value if isinstance(o, FieldOption) else o for o in spec.options or []}


def _as_text(value: Scalar, limit: int) -> str:
    if isinstance(value, bool) or value is None:
        raise _Invalid("invalid_type", "expected text")
    text = clean_text(str(value), limit + 1)
    if len(text) > limit:
        raise _Invalid("too_long", f"at most {limit} characters")
    return text


def _as_number(value: Scalar) -> int | float:
    if isinstance(value, bool) or value is None:
        raise _Invalid("invalid_number", "expected a number")
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "")) if value.strip() else math.nan
        except ValueError:
            value = math.nan
    try:
        number = float(value)  # a 400-digit integer from JSON overflows here rather than in isfinite
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise _Invalid("invalid_number", "expected a number")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _as_bool(value: Scalar) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid("invalid_type", "expected a yes or no")


def _as_url(text: str) -> str:
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. "http://[x": an unclosed IPv6 literal
        raise _Invalid("invalid_url", "enter a web address starting with http:// or https://") from None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise _Invalid("invalid_url", "enter a web address starting with http:// or https://")
    return text


def _as_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise _Invalid("invalid_date", "enter a date as YYYY-MM-DD") from exc


def _clean_one(spec: FieldSpec, value: Scalar, region: str | None, max_value: int) -> Any:  # noqa: PLR0911
    limit = min(spec.max_length or _DEFAULT_MAX.get(spec.type, _TEXT_MAX), max_value)
    if spec.type == "number":
        if isinstance(value, str) and not value.strip():
            return None  # an optional number left empty in a browser form
        return _as_number(value)
    if spec.type == "checkbox":
        return _as_bool(value)
    text = _as_text(value, limit)
    if not text:
        return None
    if spec.type == "email":
        return canonical_email(text)
    if spec.type == "phone":
        return e164_phone(text, region)
    if spec.type == "url":
        return _as_url(text)
    if spec.type == "date":
        return _as_date(text)
    if spec.type == "select" and text not in _option_values(spec):
        raise _Invalid("invalid_choice", "choose one of the options")
    return text


def _clean_field(spec: FieldSpec, sent: list[Scalar], region: str | None, max_value: int) -> Any:
    if spec.type == "multiselect":
        chosen = [_as_text(v, max_value) for v in sent if v not in (None, "")]
        if set(chosen) - _option_values(spec):
            raise _Invalid("invalid_choice", "choose among the options")
        return list(dict.fromkeys(chosen)) or None
    if len(sent) > 1:
        raise _Invalid("multiple_values", "expected one value")
    if not sent:
        return False if spec.type == "checkbox" else None
    return _clean_one(spec, sent[0], region, max_value)


def _person_name(fields: dict[str, Any]) -> str | None:
    lowered = {name.lower(): value for name, value in fields.items() if isinstance(value, str) and value}
    for name in _NAME_FIELDS:
        if name in lowered:
            return str(lowered[name])[:300]
    parts = [next((lowered[n] for n in names if n in lowered), "") for names in (_FIRST_NAME_FIELDS, _LAST_NAME_FIELDS)]
    return " ".join(p for p in parts if p)[:300] or None


def check_submission(
    raw: RawSubmission, definition: Definition, *, max_value_length: int
) -> tuple[dict[str, Any], list[str], list[FieldError]]:
    """``validate_submission`` without raising: the values that pass (normalised), the purposes granted, and every
    error. A source's try-out shows all three."""
    errors: list[FieldError] = []
    fields: dict[str, Any] = {}
    region = definition.settings.default_phone_region
    known = {spec.name for spec in definition.fields}
    for spec in definition.fields:
        try:
            value = _clean_field(spec, raw.values.get(spec.name, []), region, max_value_length)
        except (_Invalid, InvalidValueError) as exc:
            errors.append(FieldError(spec.name, exc.code, exc.message))
            continue
        if spec.required and (value is None or value is False):
            errors.append(FieldError(spec.name, "required", f"{spec.label or spec.name} is required"))
        if value is not None:
            fields[spec.name] = value
    if raw.is_json:
        unknown = sorted(raw.values.keys() - known - set(TRACKING_FIELDS))
        errors.extend(FieldError(name, "unknown_field", "this form has no such field") for name in unknown)
    purposes = {consent.purpose for consent in definition.consents}
    granted = list(dict.fromkeys(p.strip() for p in raw.consents))
    if raw.is_json:
        errors.extend(
            FieldError("consent", "unknown_purpose", f"this form has no purpose '{p[:64]}'")
            for p in granted
            if p not in purposes
        )
    errors.extend(
        FieldError(f"consent.{c.purpose}", "required", "Tick this box to continue")
        for c in definition.consents
        if c.required and c.purpose not in granted
    )
    return fields, [c.purpose for c in definition.consents if c.purpose in granted], errors


def validate_submission(raw: RawSubmission, definition: Definition, *, max_value_length: int) -> CleanSubmission:
    """Check ``raw`` against the form: types, lengths, options, required fields and required consents.

    Emails come out canonical and phones in E.164 (national numbers read in the form's ``default_phone_region``).
    Unknown fields are an error for JSON clients, who can fix their code, and ignored for browser posts.

    Raises:
        ValidationFailed: With one entry per failing field.
    """
    fields, granted, errors = check_submission(raw, definition, max_value_length=max_value_length)
    if errors:
        raise ValidationFailed(errors)
    email = next((fields.get(s.name) for s in definition.fields if s.type == "email" and fields.get(s.name)), None)
    phone = next((fields.get(s.name) for s in definition.fields if s.type == "phone" and fields.get(s.name)), None)
    return CleanSubmission(
        fields=fields,
        granted=granted,
        email=email,
        phone=phone,
        name=_person_name(fields),
    )
