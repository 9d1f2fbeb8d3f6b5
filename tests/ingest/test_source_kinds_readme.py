"""README's "Inbound sources" table has one row for every kind of source, and each row says what its kind does.

The table is what a user reads to pick a kind and set its sender up; a kind added without a row, or a row that
drifted from its ``Provider`` (its methods, whether it pulls, its signature header, its lead id, its setup
sentence, which the console shows too), fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.sources.providers import PROVIDERS
from ingest.sources.push_auth import GENERIC_AUTH

README = Path(__file__).resolve().parents[2] / "README.md"
HEADER = "| kind | how leads come | the sender proves itself by | lead id | how the sender is set up |"


def _rows() -> list[list[str]]:
    section = README.read_text(encoding="utf-8").split("\n## Inbound sources\n", 1)[1].split("\n## ", 1)[0]
    lines = section.split(HEADER + "\n", 1)[1].splitlines()[1:]  # after the header's |---| line
    table = [line for line in lines[: lines.index("")] if line.startswith("|")]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table]


def _row(kind: str) -> dict[str, str]:
    [cells] = [cells for cells in _rows() if cells[0] == f"`{kind}`"]
    return dict(zip(("kind", "how", "proof", "lead_id", "setup"), cells, strict=True))


def test_the_readme_table_has_one_row_for_every_kind() -> None:
    kinds = [cells[0].strip("`") for cells in _rows()]

    assert sorted(kinds) == sorted(PROVIDERS)


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
def test_a_kinds_row_says_what_its_provider_does(kind: str) -> None:
    row, provider = _row(kind), PROVIDERS[kind]

    assert row["setup"] == provider.setup
    assert set(re.findall(r"`(GET|POST)`", row["how"])) == provider.methods
    assert ("pull" in row["how"]) == provider.pulls
    if provider.rules.id_field:
        assert f"`{provider.rules.id_field}`" in row["lead_id"]
    elif provider.auth is None or provider.auth.type in GENERIC_AUTH:
        assert "the payload's hash" in row["lead_id"]  # no id: a repeat is known by its content
    if provider.auth is not None and provider.auth.type == "hmac":
        assert f"`{provider.auth.name}" in row["proof"]
    if provider.auth is not None and provider.auth.type == "url" and provider.methods:
        assert "the URL alone" in row["proof"]
