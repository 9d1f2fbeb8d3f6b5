"""Paths into senders' payloads, and the rules that turn a payload into form values."""

from __future__ import annotations

import pytest

from ingest.sources.mapping import Rules, apply_rules, check_path, read_path

FIELDS = {"name": "text", "email": "email", "phone": "phone", "city": "text", "source_note": "text"}
INDIAMART = {
    "CODE": 200,
    "STATUS": "SUCCESS",
    "RESPONSE": {
        "UNIQUE_QUERY_ID": "2687336412",
        "SENDER_NAME": "Ravi Kumar",
        "SENDER_MOBILE": "+91-9876543210",
        "SENDER_EMAIL": "ravi@example.com",
        "SENDER_CITY": "Pune",
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("RESPONSE.SENDER_NAME", "Ravi Kumar"),
        ("RESPONSE.MISSING", None),
        ("CODE", 200),
        ("CODE.deeper", None),
    ],
)
def test_a_path_reads_nested_objects(path: str, expected: object) -> None:
    assert read_path(INDIAMART, path) == expected


def test_a_path_reads_lists_and_quoted_keys() -> None:
    document = {"answers": [{"email": "a@example.com"}, {"email": "b@example.com"}], "a.b": {"c[0]": 1}}
    assert read_path(document, "answers[1].email") == "b@example.com"
    assert read_path(document, "answers[2].email") is None
    assert read_path(document, '["a.b"]["c[0]"]') == 1


@pytest.mark.parametrize("path", ["", "a..b", "a.", ".a", "a[x]", "a[0", "a]", 'a["b', "x" * 201])
def test_a_path_that_cannot_be_read_says_why(path: str) -> None:
    assert check_path(path) is not None


def test_rules_map_join_default_and_read_phones_in_a_region() -> None:
    document = {"lead": {"first": "Asha", "last": "Rao", "mobile": "9876543210", "id": 77}, "email": "a@example.com"}
    rules = Rules(
        mapping={"lead.mobile": "phone"},
        join={"name": ["lead.first", "lead.last"]},
        defaults={"city": "Mumbai"},
        phone_region="IN",
        id_field="lead.id",
    )
    mapped = apply_rules(document, rules, FIELDS)
    assert mapped.values == {
        "phone": ["+919876543210"],
        "name": ["Asha Rao"],
        "email": ["a@example.com"],
        "city": ["Mumbai"],
    }
    assert mapped.external_id == "77"
    assert mapped.problems == []


def test_a_missing_id_and_an_unknown_field_are_problems_not_errors() -> None:
    rules = Rules(mapping={"RESPONSE.SENDER_NAME": "full_name"}, id_field="RESPONSE.NOPE")
    mapped = apply_rules(INDIAMART, rules, FIELDS)
    assert mapped.external_id is None
    assert sorted(p.code for p in mapped.problems) == ["missing_id", "unknown_field"]


def test_a_sources_own_mapping_overrides_its_kinds() -> None:
    preset = Rules(
        mapping={"RESPONSE.SENDER_NAME": "name", "RESPONSE.SENDER_CITY": "city"},
        id_field="RESPONSE.UNIQUE_QUERY_ID",
    )
    own = Rules(mapping={"RESPONSE.SENDER_EMAIL": "name", "RESPONSE.SENDER_CITY": "source_note"})
    merged = preset.merged(own)
    assert merged.id_field == "RESPONSE.UNIQUE_QUERY_ID"
    values = apply_rules(INDIAMART, merged, FIELDS).values
    assert values["name"] == ["ravi@example.com"]
    assert values["source_note"] == ["Pune"]
    assert "city" not in values  # the source sent that path elsewhere


def test_a_providers_mapping_fills_what_the_sources_paths_left_empty() -> None:
    preset = Rules(mapping={"RESPONSE.SENDER_NAME": "name"})
    merged = preset.merged(Rules(mapping={"RESPONSE.FULL_NAME": "name"}))
    assert apply_rules(INDIAMART, merged, FIELDS).values["name"] == ["Ravi Kumar"]


def test_a_providers_paths_for_one_field_are_tried_in_turn_and_the_first_with_a_value_wins() -> None:
    preset = Rules(mapping={"mobile": "phone", "landline": "phone"})
    rules = preset.merged(Rules())
    both = apply_rules({"mobile": "9876543210", "landline": "02212345678"}, rules, FIELDS)
    landline_only = apply_rules({"mobile": "", "landline": "02212345678"}, rules, FIELDS)
    assert both.values["phone"] == ["9876543210"]  # not both: a phone field takes one value
    assert landline_only.values["phone"] == ["02212345678"]
