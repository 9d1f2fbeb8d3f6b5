"""Numbers that portals send apart from their country's dialling code."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.sources.providers.dialling import with_country_code


@pytest.mark.parametrize(
    ("code", "number", "expected"),
    [
        ("91", "9820012345", "+91 9820012345"),
        ("+91", "9820012345", "+91 9820012345"),
        ("0091", "98200 12345", "+91 98200 12345"),
        (971, "0501234567", "+971 0501234567"),
        ("91", "919820012345", "+919820012345"),  # the code is in the number already
        ("91", "9198765432", "+91 9198765432"),  # ten digits that happen to begin with 91
        ("91", "+447700900123", "+447700900123"),
        ("", "9820012345", "9820012345"),
        ("India", "9820012345", "9820012345"),
        (None, "9820012345", "9820012345"),
        ("91", "", ""),
        ("91", None, None),
        ("91", ["9820012345"], ["9820012345"]),
    ],
)
def test_a_number_is_given_its_country_code_only_when_it_has_none(code: Any, number: Any, expected: Any) -> None:
    assert with_country_code(code, number) == expected
