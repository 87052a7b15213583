"""Counts in messages read as a person writes them: "1 certificate", "2 certificates"."""

from __future__ import annotations

import re
from pathlib import Path

from certsvc.wording import counted


def test_counted_singular_and_plural() -> None:
    assert counted(1, "certificate") == "1 certificate"
    assert counted(0, "certificate") == "0 certificates"
    assert counted(2, "entry", "entries") == "2 entries"
    assert counted(1, "entry", "entries") == "1 entry"


def test_the_command_line_has_no_noun_with_a_bracketed_plural() -> None:
    """`1 certificate(s)` is how a program counts, not a person; `http(s)` is no count."""
    root = Path(__file__).resolve().parent.parent / "certsvc"
    for path in [*root.glob("cli/*.py"), root / "registry" / "apply.py"]:
        text = path.read_text(encoding="utf-8")
        assert not re.findall(r"\b(?!http\()\w+\(s\)", text), path.name
