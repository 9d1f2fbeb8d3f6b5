"""Prefixed, time-sortable ids."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from core.ids import new_id, random_token, timestamp_ms_of


def test_ids_carry_their_prefix_and_fixed_length() -> None:
    identifier = new_id("form")
    assert identifier.startswith("form_")
    assert len(identifier) == len("form_") + 26


def test_ids_sort_by_creation_time() -> None:
    earlier = new_id("lead")
    time.sleep(0.002)
    later = new_id("lead")
    assert earlier < later
    assert timestamp_ms_of(earlier) <= timestamp_ms_of(later)


def test_the_time_in_an_id_is_now() -> None:
    now_ms = time.time_ns() // 1_000_000
    assert abs(timestamp_ms_of(new_id("msg")) - now_ms) < 5_000


def test_ids_do_not_collide() -> None:
    assert len({new_id("x") for _ in range(10_000)}) == 10_000


@given(st.integers(min_value=1, max_value=64))
def test_random_tokens_use_the_unambiguous_alphabet(length: int) -> None:
    token = random_token(length)
    assert len(token) == length
    assert set(token) <= set("0123456789abcdefghjkmnpqrstvwxyz")
