"""Reading one setting's text from the environment as its field's type, with errors people understand.

msgspec's own messages ("Expected `int`, got `str`", "Invalid enum value 'x'") speak of JSON types and hide what
would have been accepted; an operator editing a ``.env`` file needs the variable, what it takes, and what it got.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

import msgspec

__all__ = ("parse_value",)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _show(number: float) -> str:
    return f"{int(number):,}" if float(number).is_integer() else f"{number:,}"


def _range_words(meta: msgspec.Meta | None) -> str:
    """The range a number must be in, as people say it: `` from 1 to 200``, `` above 0, at most 120``."""
    if meta is None:
        return ""
    if meta.ge is not None and meta.le is not None:
        return f" from {_show(meta.ge)} to {_show(meta.le)}"
    parts = [
        *([f"of at least {_show(meta.ge)}"] if meta.ge is not None else []),
        *([f"above {_show(meta.gt)}"] if meta.gt is not None else []),
        *([f"at most {_show(meta.le)}"] if meta.le is not None else []),
        *([f"below {_show(meta.lt)}"] if meta.lt is not None else []),
    ]
    return " " + ", ".join(parts) if parts else ""


def _in_range(value: float, meta: msgspec.Meta | None) -> bool:
    if meta is None:
        return True
    return not (
        (meta.ge is not None and value < meta.ge)
        or (meta.gt is not None and value <= meta.gt)
        or (meta.le is not None and value > meta.le)
        or (meta.lt is not None and value >= meta.lt)
    )


def _number(text: str, kind: type[int] | type[float], meta: msgspec.Meta | None) -> int | float:
    words = "a whole number" if kind is int else "a number"
    expected = f"expected {words}{_range_words(meta)}, got {text!r}"
    try:
        value = kind(text.strip().replace("_", ""))
    except ValueError:
        raise ValueError(expected) from None
    if value != value or not _in_range(value, meta):  # noqa: PLR0124 - NaN is the one value unequal to itself
        raise ValueError(expected)
    return value


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"expected true or false (also yes/no, on/off, 1/0), got {text!r}")


def _choice(text: str, choices: tuple[str, ...]) -> str:
    word = text.strip().lower()
    if word in choices:
        return word
    raise ValueError(f"expected one of {', '.join(choices)}; got {text!r}")


def parse_value(text: str, annotation: Any) -> Any:
    """``text`` read as ``annotation`` (``str``, ``bool``, ``int``, ``float``, a ``Literal`` of strings, each
    optionally ``Annotated`` with a :class:`msgspec.Meta` range).

    Raises:
        ValueError: The text is not such a value; the message says what is expected and what was given.
    """
    meta: msgspec.Meta | None = None
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extras = typing.get_args(annotation)
        meta = next((extra for extra in extras if isinstance(extra, msgspec.Meta)), None)
    if typing.get_origin(annotation) is Literal:
        return _choice(text, typing.get_args(annotation))
    if annotation is bool:
        return _flag(text)
    if annotation is int or annotation is float:
        return _number(text, annotation, meta)
    return text
