"""Counts in English messages: ``1 certificate``, ``2 certificates``, never ``certificate(s)``.

The command line's messages are English (README); a count reads as a person would write it.
"""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: ``counted(1, "entry", "entries")`` is
    ``1 entry``; the plural defaults to the singular + ``s``."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
