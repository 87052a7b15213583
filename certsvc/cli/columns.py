"""Columns of a listing a person reads in a terminal, where a Chinese character takes two."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """The columns *text* takes in a terminal: two for a wide (Chinese) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    """*text* followed by spaces up to *columns* columns (none when it is wider)."""
    return text + " " * max(columns - width(text), 0)
