"""Response bodies of the ingest slice: the answer to a JSON submission."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ("SubmitAccepted",)


class SubmitAccepted(msgspec.Struct):
    """The answer to a JSON submission. Spam and duplicates get this same answer: nothing to learn for a bot."""

    id: str
    status: Literal["accepted"] = "accepted"
