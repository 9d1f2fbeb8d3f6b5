"""Checks a form definition as a whole and normalises it; every problem is reported at once."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import msgspec
import phonenumbers

from core.errors import FieldError, ValidationFailed
from forms import limits
from forms.schemas import ConsentSpec, FieldOption, FieldSpec, FormSettings, FormStatus

__all__ = ("RESERVED_FIELD_NAMES", "Definition", "normalise_origin", "validate_definition")

_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_PURPOSE = re.compile(r"[a-z][a-z0-9_.-]*")
RESERVED_FIELD_NAMES = frozenset({"consent"})
"""Names a field may not take: the submit endpoint reads granted purposes from ``consent``."""
_CHOICE_TYPES = frozenset({"select", "multiselect"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Definition(msgspec.Struct, frozen=True):
    """A checked and normalised form definition."""

    fields: list[FieldSpec]
    consents: list[ConsentSpec]
    settings: FormSettings


def _humanise(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").strip().capitalize()


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or ``None`` if ``value`` is not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    suffix = f":{port}" if port is not None and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{suffix}"


def _check_field(index: int, spec: FieldSpec, seen: set[str], errors: list[FieldError]) -> FieldSpec:
    where = f"fields[{index}]"
    if spec.name.startswith("_") or spec.name.lower() in RESERVED_FIELD_NAMES:
        errors.append(FieldError(f"{where}.name", "reserved", f"'{spec.name}' is reserved for Leadwire's own use"))
    elif not _FIELD_NAME.fullmatch(spec.name):
        errors.append(FieldError(f"{where}.name", "invalid_name", "use a letter, then letters, digits, '_' or '-'"))
    if spec.name.lower() in seen:
        errors.append(FieldError(f"{where}.name", "duplicate", f"another field is already named '{spec.name}'"))
    seen.add(spec.name.lower())

    options = _check_options(where, spec, errors)
    return msgspec.structs.replace(spec, label=spec.label.strip() or _humanise(spec.name), options=options)


def _check_options(where: str, spec: FieldSpec, errors: list[FieldError]) -> list[str | FieldOption] | None:
    if spec.type not in _CHOICE_TYPES:
        if spec.options is not None:
            errors.append(FieldError(f"{where}.options", "not_allowed", f"a {spec.type} field takes no options"))
        return None
    if not spec.options:
        errors.append(FieldError(f"{where}.options", "required", f"a {spec.type} field needs options"))
        return None
    if len(spec.options) > limits.MAX_OPTIONS_PER_FIELD:
        message = f"at most {limits.MAX_OPTIONS_PER_FIELD:,} options (this field has {len(spec.options):,})"
        errors.append(FieldError(f"{where}.options", "too_many", message))
        return None
    normalised = [o if isinstance(o, FieldOption) else FieldOption(value=o) for o in spec.options]
    values = [o.value for o in normalised]
    if len(set(values)) != len(values):
        errors.append(FieldError(f"{where}.options", "duplicate", "option values must be unique"))
    return [FieldOption(value=o.value, label=o.label or o.value) for o in normalised]


def _shown_chars(fields: list[FieldSpec], consents: list[ConsentSpec]) -> int:
    """The characters of text the page shows, labels filled in: what its size grows with."""
    size = sum(len(spec.label) + len(spec.help or "") + len(spec.placeholder or "") for spec in fields)
    size += sum(
        len(o.value) + len(o.label) for spec in fields for o in spec.options or () if isinstance(o, FieldOption)
    )
    return size + sum(len(consent.text) for consent in consents)


def _check_totals(
    fields: list[FieldSpec], checked: list[FieldSpec], consents: list[ConsentSpec], errors: list[FieldError]
) -> None:
    """The bounds of the form as a whole, which keep its page small whatever its fields hold."""
    counts = [(spec.type, len(spec.options or ())) for spec in fields if spec.type in _CHOICE_TYPES]
    options = sum(count for _, count in counts)
    checkboxes = sum(count for kind, count in counts if kind == "multiselect")
    if options > limits.MAX_OPTIONS_PER_FORM:
        message = f"at most {limits.MAX_OPTIONS_PER_FORM:,} options in one form (this one has {options:,})"
        errors.append(FieldError("fields", "too_many", message))
    if checkboxes > limits.MAX_CHECKBOXES_PER_FORM:
        message = (
            f"at most {limits.MAX_CHECKBOXES_PER_FORM:,} options of multiselect fields (checkboxes) in one form "
            f"(this one has {checkboxes:,})"
        )
        errors.append(FieldError("fields", "too_many", message))
    shown = _shown_chars(checked, consents)
    if shown > limits.MAX_FORM_TEXT_CHARS:
        message = (
            f"at most {limits.MAX_FORM_TEXT_CHARS:,} characters of labels, help, placeholders, options and consent "
            f"texts in one form (this one has {shown:,}; an option without a label counts its value twice)"
        )
        errors.append(FieldError("body", "too_long", message))


def _check_consents(consents: list[ConsentSpec], errors: list[FieldError]) -> list[ConsentSpec]:
    seen: set[str] = set()
    checked = []
    for index, consent in enumerate(consents):
        where = f"consents[{index}]"
        if not _PURPOSE.fullmatch(consent.purpose):
            errors.append(
                FieldError(f"{where}.purpose", "invalid_name", "use lower-case letters, digits, '_', '.' or '-'")
            )
        if consent.purpose in seen:
            errors.append(FieldError(f"{where}.purpose", "duplicate", f"purpose '{consent.purpose}' is given twice"))
        seen.add(consent.purpose)
        text = consent.text.strip()
        if not text:
            errors.append(FieldError(f"{where}.text", "required", "the notice text cannot be blank"))
        checked.append(msgspec.structs.replace(consent, text=text))
    return checked


def _check_settings(settings: FormSettings, errors: list[FieldError]) -> FormSettings:
    origins: list[str] = []
    for index, raw in enumerate(settings.allowed_origins):
        if len(raw) > limits.MAX_ORIGIN_CHARS:
            message = f"at most {limits.MAX_ORIGIN_CHARS:,} characters"
            errors.append(FieldError(f"settings.allowed_origins[{index}]", "too_long", message))
            continue
        origin = normalise_origin(raw)
        if origin is None:
            errors.append(
                FieldError(
                    f"settings.allowed_origins[{index}]", "invalid_origin", "expected scheme://host[:port], http(s)"
                )
            )
        elif origin not in origins:
            origins.append(origin)
    redirect_url = settings.redirect_url.strip() if settings.redirect_url else None
    if redirect_url:
        try:
            parts = urlsplit(redirect_url)
        except ValueError:  # e.g. "http://[x"
            parts = urlsplit("")
        origin = normalise_origin(f"{parts.scheme}://{parts.netloc}") if parts.netloc else None
        if origin is None:
            errors.append(FieldError("settings.redirect_url", "invalid_url", "expected an absolute http(s) URL"))
        elif origin not in origins:
            errors.append(
                FieldError(
                    "settings.redirect_url",
                    "origin_not_allowed",
                    f"its origin {origin} must be listed in settings.allowed_origins",
                )
            )
    region = settings.default_phone_region.upper() if settings.default_phone_region else None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        errors.append(
            FieldError("settings.default_phone_region", "invalid_region", f"'{region}' is not an ISO country code")
        )
    success_message = settings.success_message.strip() if settings.success_message else None
    return msgspec.structs.replace(
        settings,
        allowed_origins=origins,
        redirect_url=redirect_url or None,
        default_phone_region=region,
        success_message=success_message or None,
    )


def validate_definition(
    fields: list[FieldSpec], consents: list[ConsentSpec], settings: FormSettings, status: FormStatus
) -> Definition:
    """Check a whole definition and return it normalised (labels filled in, origins canonical, options as objects).

    The counts that only make sense for the whole form (options per field and per form, characters of text) are
    checked here rather than in the schema, so that a form stored before a limit existed can still be read.

    Raises:
        ValidationFailed: With one entry per problem, for every problem found.
    """
    errors: list[FieldError] = []
    seen: set[str] = set()
    checked_fields = [_check_field(index, spec, seen, errors) for index, spec in enumerate(fields)]
    checked_consents = _check_consents(consents, errors)
    checked_settings = _check_settings(settings, errors)
    _check_totals(fields, checked_fields, checked_consents, errors)
    if status == "published" and not any(spec.type != "hidden" for spec in checked_fields):
        errors.append(FieldError("fields", "required", "a published form needs at least one visible field"))
    if errors:
        raise ValidationFailed(errors)
    return Definition(fields=checked_fields, consents=checked_consents, settings=checked_settings)
