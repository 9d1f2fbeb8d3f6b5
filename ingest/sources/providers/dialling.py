"""Phone numbers that portals send apart from their country's dialling code (``isd=91``, ``mobile=9876543210``)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ("with_country_code",)

_CODE = re.compile(r"\+?(?:00)?([1-9][0-9]{0,3})")
_NATIONAL_DIGITS = 10
"""The longest national number (India's mobiles have ten digits): more digits that begin with the code already
include it."""


def with_country_code(code: Any, number: Any) -> Any:
    """``number`` as an international number when the sender gives its country's dialling code apart (``91`` or
    ``+91``): ``+91 9876543210``. The number as sent when it already is international, or the code is not one."""
    if not isinstance(number, str | int) or isinstance(number, bool):
        return number
    text = str(number).strip()
    match = _CODE.fullmatch(str(code).strip()) if isinstance(code, str | int) else None
    if not text or text.startswith("+") or match is None:
        return number
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) > _NATIONAL_DIGITS and digits.startswith(match[1]):
        return "+" + digits
    return f"+{match[1]} {text}"
