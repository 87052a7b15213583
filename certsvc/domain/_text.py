"""Small text helpers shared by the parsers of this package (internal)."""

from __future__ import annotations

import re
import unicodedata

_SPACE_RE = re.compile(r"\s+")
_KEY_DROP_RE = re.compile(r"[\s_\-/]+")


def compact(raw: str) -> str:
    """NFKC-normalise (full-width ``１２Ｘ`` -> ``12X``), drop all whitespace, uppercase."""
    return _SPACE_RE.sub("", unicodedata.normalize("NFKC", raw)).upper()


def lookup_key(text: str) -> str:
    """Key for forgiving label look-up: NFKC, case-folded, without spaces, ``_``, ``-``, ``/``."""
    return _KEY_DROP_RE.sub("", unicodedata.normalize("NFKC", text)).casefold()
