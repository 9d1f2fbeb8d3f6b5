"""What one form definition may hold: far more than a real form needs, little enough that its page stays small."""

from __future__ import annotations

from typing import Final

__all__ = (
    "MAX_ALLOWED_ORIGINS",
    "MAX_AUTOCOMPLETE_CHARS",
    "MAX_CHECKBOXES_PER_FORM",
    "MAX_CONSENTS",
    "MAX_CONSENT_TEXT_CHARS",
    "MAX_FIELDS",
    "MAX_FIELD_NAME_CHARS",
    "MAX_FORM_NAME_CHARS",
    "MAX_FORM_TEXT_CHARS",
    "MAX_HELP_CHARS",
    "MAX_LABEL_CHARS",
    "MAX_OPTIONS_PER_FIELD",
    "MAX_OPTIONS_PER_FORM",
    "MAX_OPTION_CHARS",
    "MAX_ORIGIN_CHARS",
    "MAX_PLACEHOLDER_CHARS",
    "MAX_PURPOSE_CHARS",
    "MAX_SUCCESS_MESSAGE_CHARS",
    "MAX_URL_CHARS",
)

MAX_FORM_NAME_CHARS: Final = 200
MAX_FIELDS: Final = 100
"""Fields in one form."""
MAX_FIELD_NAME_CHARS: Final = 64
MAX_LABEL_CHARS: Final = 200
MAX_HELP_CHARS: Final = 500
MAX_PLACEHOLDER_CHARS: Final = 200
MAX_AUTOCOMPLETE_CHARS: Final = 100
MAX_OPTIONS_PER_FIELD: Final = 500
"""Options of one select or multiselect field (a list of every country has about 250)."""
MAX_OPTION_CHARS: Final = 200
"""The value of an option, and its label."""
MAX_OPTIONS_PER_FORM: Final = 1_000
"""Options of all the form's fields together."""
MAX_CHECKBOXES_PER_FORM: Final = 200
"""Options of all the form's multiselect fields together: each is a checkbox with its own label on the page."""
MAX_CONSENTS: Final = 20
MAX_PURPOSE_CHARS: Final = 64
MAX_CONSENT_TEXT_CHARS: Final = 5_000
MAX_FORM_TEXT_CHARS: Final = 50_000
"""Everything the page shows of a definition: labels, help, placeholders, options and consent texts.

Counted as shown: a label left out counts as the name or value it defaults to.
"""
MAX_SUCCESS_MESSAGE_CHARS: Final = 1_000
MAX_ALLOWED_ORIGINS: Final = 50
MAX_ORIGIN_CHARS: Final = 300
"""One allowed origin (a host name is at most 253 characters); the embed page's CSP lists them all."""
MAX_URL_CHARS: Final = 2_000
