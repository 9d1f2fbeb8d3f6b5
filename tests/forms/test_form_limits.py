"""What a form definition may hold: every bound is a 422 naming the place and the limit, on create and on change.

The numbers are written out here, not imported: they are documented in README.md, and a change to them should be
a change to this file too.
"""

from __future__ import annotations

import gzip
import json
import re
from typing import TYPE_CHECKING, Any

import brotli
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from core.errors import ValidationFailed
from forms.definition import validate_definition
from forms.models import Form
from forms.schemas import FieldOption, FieldSpec, FormSettings

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Client, Tenant

MAX_PAGE_BYTES = 256 * 1024
"""A hosted page of a form at every limit, with plain text, stays under this (uncompressed)."""
MAX_ESCAPED_PAGE_BYTES = 448 * 1024
"""The same page when every character of its text is one that HTML escapes (``"`` becomes ``&#34;``)."""
MAX_COMPRESSED_PAGE_BYTES = 32 * 1024
"""The page at every limit as it travels, gzip or brotli."""
_TOKEN = re.compile(rb'name="_t" value="[^"]*"')
"""The page's render token carries the time it was made: two requests need not give the same one."""


def _choice(name: str, count: int, kind: str = "select", prefix: str = "o") -> dict[str, Any]:
    return {"name": name, "type": kind, "options": [f"{prefix}{i}" for i in range(count)]}


def _form(fields: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": "Limits", "status": "published", "fields": [{"name": "email", "type": "email"}, *fields], **extra}


def _problems(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 422, response.text[:500]
    assert response.headers["content-type"] == "application/problem+json"
    errors: list[dict[str, str]] = response.json()["errors"]
    return errors


def _has(errors: list[dict[str, str]], field: str, code: str, words: str) -> bool:
    return any(e["field"] == field and e["code"] == code and words in e["message"] for e in errors)


async def _post_or_patch(client: Client, tenant: Tenant, method: str, body: dict[str, Any]) -> Any:
    """``body`` sent as a new form (POST), or as a change to an existing small form (PATCH)."""
    if method == "POST":
        return await client.post("/api/v1/forms", json=body, headers=tenant.headers)
    created = await client.post("/api/v1/forms", json=_form([]), headers=tenant.headers)
    assert created.status_code == 201, created.text
    change = {key: value for key, value in body.items() if key != "status"}
    return await client.patch(f"/api/v1/forms/{created.json()['id']}", json=change, headers=tenant.headers)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_field_with_more_than_500_options_is_refused_naming_the_limit(
    client: Client, tenant: Tenant, method: str
) -> None:
    body = _form([_choice("country", 500), _choice("region", 501), _choice("topics", 501, "multiselect")])

    errors = _problems(await _post_or_patch(client, tenant, method, body))

    assert _has(errors, "fields[2].options", "too_many", "at most 500 options")
    assert _has(errors, "fields[3].options", "too_many", "at most 500 options")  # every problem at once
    assert not any(e["field"] == "fields[1].options" for e in errors)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_the_review_s_110_000_option_form_is_refused_and_never_becomes_a_page(
    client: Client, tenant: Tenant, method: str
) -> None:
    body = _form([_choice("c", 110_000, prefix="")])
    assert len(json.dumps(body)) > 900_000  # the 989 KB body of the review, under the 1 MB body cap

    errors = _problems(await _post_or_patch(client, tenant, method, body))

    assert _has(errors, "fields[1].options", "too_many", "at most 500 options")
    listing = (await client.get("/api/v1/forms", headers=tenant.headers)).json()["items"]
    assert all(len(field.get("options") or []) <= 500 for form in listing for field in form["fields"])


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_form_may_hold_1000_options_of_which_200_checkboxes(
    client: Client, tenant: Tenant, method: str
) -> None:
    too_many = _form([_choice(f"s{i}", 400) for i in range(3)])
    too_many_boxes = _form([_choice(f"m{i}", 101, "multiselect") for i in range(2)])

    options = _problems(await _post_or_patch(client, tenant, method, too_many))
    boxes = _problems(await _post_or_patch(client, tenant, method, too_many_boxes))

    assert _has(options, "fields", "too_many", "at most 1,000 options")
    assert _has(boxes, "fields", "too_many", "at most 200")


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_the_texts_of_a_form_total_at_most_50000_characters(client: Client, tenant: Tenant, method: str) -> None:
    fields = [{"name": f"t{i}", "type": "text", "label": "L" * 200, "help": "H" * 500} for i in range(70)]
    consents = [{"purpose": f"p{i}", "channel": "email", "text": "C" * 5_000} for i in range(3)]

    errors = _problems(await _post_or_patch(client, tenant, method, _form(fields, consents=consents)))

    assert _has(errors, "body", "too_long", "at most 50,000 characters")


@pytest.mark.parametrize(
    ("change", "field", "limit"),
    [
        ({"fields": [{"name": f"f{i}", "type": "text"} for i in range(101)]}, "fields", "100"),
        ({"consents": [{"purpose": f"p{i}", "channel": "none", "text": "t"} for i in range(21)]}, "consents", "20"),
        ({"fields": [{"name": "a", "type": "text", "label": "x" * 201}]}, "fields[0].label", "200"),
        ({"fields": [{"name": "a", "type": "text", "help": "x" * 501}]}, "fields[0].help", "500"),
        ({"fields": [{"name": "a", "type": "text", "placeholder": "x" * 201}]}, "fields[0].placeholder", "200"),
        ({"fields": [{"name": "a", "type": "select", "options": ["x" * 201]}]}, "fields[0].options[0]", "200"),
        ({"fields": [{"name": "a", "type": "select", "options": [""]}]}, "fields[0].options[0]", "1"),
        (
            {"fields": [{"name": "a", "type": "select", "options": [{"value": "a", "label": "x" * 201}]}]},
            "fields[0].options[0].label",
            "200",
        ),
        ({"consents": [{"purpose": "p", "channel": "none", "text": "x" * 5_001}]}, "consents[0].text", "5000"),
        ({"name": "x" * 201}, "name", "200"),
        ({"settings": {"success_message": "x" * 1_001}}, "settings.success_message", "1000"),
        ({"settings": {"allowed_origins": ["https://a.example"] * 51}}, "settings.allowed_origins", "50"),
        (
            {"settings": {"allowed_origins": [f"https://{'a' * 300}.example"]}},
            "settings.allowed_origins[0]",
            "300",
        ),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_every_bound_is_a_422_naming_the_field_and_the_limit(
    client: Client, tenant: Tenant, method: str, change: dict[str, Any], field: str, limit: str
) -> None:
    body = {"name": "Bounds", **change}

    errors = _problems(await _post_or_patch(client, tenant, method, body))

    assert any(e["field"] == field and limit in e["message"].replace(",", "") for e in errors), errors


def _at_every_limit(text: str) -> dict[str, Any]:
    """A form that reaches every count and fills the text allowance to the last character, with ``text``."""
    names = [f"f{i:02d}_" + "n" * 60 for i in range(100)]  # 64 characters, the longest a name may be
    fields: list[dict[str, Any]] = [
        {"name": names[i], "type": "multiselect", "options": [f"{i}-{j}" for j in range(100)]} for i in range(2)
    ]
    fields += [{"name": names[i], "type": "select", "options": [f"{i}-{j}" for j in range(400)]} for i in (2, 3)]
    fields += [{"name": names[i], "type": "text", "required": True} for i in range(4, 100)]
    consents: list[dict[str, Any]] = [
        {"purpose": f"purpose_{i}", "channel": "email", "text": text, "required": True} for i in range(20)
    ]
    for field in fields:
        field["label"] = text
    # What the page shows counts: an option's label defaults to its value, so it counts twice.
    used = sum(2 * len(option) for field in fields for option in field.get("options", [])) + len(fields) + 20
    budget = 50_000 - used
    for field in fields:
        for key, size in (("label", 199), ("help", 500), ("placeholder", 200)):
            if key == "placeholder" and field["type"] != "text":
                continue
            if take := min(size, budget):
                field[key] = field.get(key, "") + text * take
                budget -= take
    for consent in consents:
        take = min(4_999, budget)
        consent["text"] += text * take
        budget -= take
    assert budget == 0, budget
    return {"name": text * 200, "status": "published", "fields": fields, "consents": consents}


async def test_a_form_at_every_limit_is_accepted_and_its_page_stays_small(
    client: Client, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = await client.post("/api/v1/forms", json=_at_every_limit("x"), headers=tenant.headers)
    escaped = await client.post("/api/v1/forms", json=_at_every_limit('"'), headers=tenant.headers)
    one_more = _at_every_limit("x")
    assert "help" not in one_more["fields"][99]
    one_more["fields"][99]["help"] = "x"  # one character over the allowance
    over = await client.post("/api/v1/forms", json=one_more, headers=tenant.headers)
    assert plain.status_code == 201, plain.text[:500]
    assert escaped.status_code == 201, escaped.text[:500]
    assert _has(_problems(over), "body", "too_long", "at most 50,000 characters")

    sizes: dict[str, int] = {}
    for label, created in (("plain", plain), ("escaped", escaped)):
        slug = created.json()["slug"]
        page = await client.get(f"/f/{slug}", headers={"Accept-Encoding": "identity"})
        assert page.status_code == 200
        sizes[label] = len(page.content)
        for encoding in ("gzip", "br"):
            async with client.stream("GET", f"/f/{slug}", headers={"Accept-Encoding": encoding}) as sent:
                wire = b"".join([chunk async for chunk in sent.aiter_raw()])
            assert sent.headers.get("content-encoding") == encoding
            body = gzip.decompress(wire) if encoding == "gzip" else brotli.decompress(wire)
            assert _TOKEN.sub(b"", body) == _TOKEN.sub(b"", page.content)
            sizes[f"{label} {encoding}"] = len(wire)
    with capsys.disabled():
        print(f"\nhosted page of a form at every limit (bytes): {sizes}")  # noqa: T201
    assert sizes["plain"] < MAX_PAGE_BYTES
    assert sizes["escaped"] < MAX_ESCAPED_PAGE_BYTES
    assert max(size for label, size in sizes.items() if " " in label) < MAX_COMPRESSED_PAGE_BYTES


async def test_a_stored_form_over_the_limits_still_reads_but_must_shrink_to_change(
    client: Client, tenant: Tenant, db: Database
) -> None:
    """Forms stored before the limits existed keep working; the next change names what to cut."""
    created = await client.post("/api/v1/forms", json=_form([_choice("c", 3)]), headers=tenant.headers)
    form = created.json()
    options = [{"value": f"o{i}", "label": f"o{i}"} for i in range(600)]
    stored = [*form["fields"][:1], {**form["fields"][1], "options": options}]
    async with db.session(write=True) as session:
        await session.execute(update(Form).where(Form.id == form["id"]).values(fields=stored))

    read = await client.get(f"/api/v1/forms/{form['id']}", headers=tenant.headers)
    page = await client.get(f"/f/{form['slug']}")
    renamed = await client.patch(f"/api/v1/forms/{form['id']}", json={"name": "New"}, headers=tenant.headers)

    assert read.status_code == 200
    assert len(read.json()["fields"][1]["options"]) == 600
    assert page.status_code == 200
    assert _has(_problems(renamed), "fields[1].options", "too_many", "at most 500 options")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=4),
    st.lists(st.integers(min_value=1, max_value=150), max_size=3),
)
def test_options_are_accepted_exactly_within_their_limits(selects: list[int], multiselects: list[int]) -> None:
    fields = [
        FieldSpec(name=f"s{i}", type="select", options=[f"{j}" for j in range(count)])
        for i, count in enumerate(selects)
    ]
    fields += [
        FieldSpec(name=f"m{i}", type="multiselect", options=[FieldOption(value=f"{j}") for j in range(count)])
        for i, count in enumerate(multiselects)
    ]
    counts = selects + multiselects
    fits = max(counts) <= 500 and sum(counts) <= 1_000 and sum(multiselects) <= 200
    if not fits:
        with pytest.raises(ValidationFailed) as caught:
            validate_definition(fields, [], FormSettings(), "draft")
        assert {error.code for error in caught.value.errors} == {"too_many"}
        return
    definition = validate_definition(fields, [], FormSettings(), "draft")
    assert msgspec.to_builtins(definition.fields)[0]["options"][0] == {"value": "0", "label": "0"}
