"""The form definition checker, without HTTP."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ValidationFailed
from forms.definition import normalise_origin, validate_definition
from forms.schemas import FieldSpec, FormSettings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://Example.COM", "https://example.com"),
        ("https://example.com:443/", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://example.com/path", None),
        ("https://user:pw@example.com", None),
        ("https://example.com?q=1", None),
        ("ftp://example.com", None),
        ("example.com", None),
        ("https://example.com:99999", None),
        ("", None),
    ],
)
def test_origins_are_normalised_or_refused(raw: str, expected: str | None) -> None:
    assert normalise_origin(raw) == expected


@given(st.text(max_size=80))
def test_normalise_origin_never_raises_and_is_idempotent(raw: str) -> None:
    origin = normalise_origin(raw)
    if origin is not None:
        assert normalise_origin(origin) == origin


@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    st.sampled_from(["http", "https"]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
)
def test_any_well_formed_origin_is_accepted(host: str, scheme: str, port: int | None) -> None:
    raw = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    origin = normalise_origin(raw)
    assert origin is not None
    assert origin.startswith(f"{scheme}://{host}")


def test_labels_default_from_names() -> None:
    definition = validate_definition(
        [FieldSpec(name="first_name", type="text"), FieldSpec(name="job-title", type="text", label="  ")],
        [],
        FormSettings(),
        "draft",
    )
    assert [field.label for field in definition.fields] == ["First name", "Job title"]


def test_a_draft_may_be_empty_but_not_a_published_form() -> None:
    validate_definition([], [], FormSettings(), "draft")
    with pytest.raises(ValidationFailed) as caught:
        validate_definition([], [], FormSettings(), "published")
    assert caught.value.errors[0].field == "fields"
