"""Request and response bodies of the consent slice."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ("NoticeList", "NoticeOut")


class NoticeOut(msgspec.Struct):
    id: str
    purpose: str
    channel: str
    text: str
    text_sha256: str
    version: int
    created_at: datetime


class NoticeList(msgspec.Struct):
    items: list[NoticeOut]
