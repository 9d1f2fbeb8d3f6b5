"""Prefixed, time-sortable ids."""

from __future__ import annotations

import os
import time
from collections import Counter

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


def test_a_forked_child_never_makes_its_parents_next_ids() -> None:
    # Random bits are read from the OS in blocks: a child that kept its parent's block would repeat its ids.
    new_id("warm")  # the parent holds a block now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, " ".join(new_id("x") for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = {identifier[-16:] for identifier in pipe.read().split()}
    parent = {new_id("x")[-16:] for _ in range(50)}
    assert len(child) == 50
    assert not child & parent


def test_random_tokens_spread_over_every_character() -> None:
    counts = Counter(random_token(1) for _ in range(6400))
    assert set(counts) == set("0123456789abcdefghjkmnpqrstvwxyz")
    assert min(counts.values()) > 120  # 200 expected for each of 32; a stuck bit would leave half at 0
