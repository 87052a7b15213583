"""Strict JSON for signed data: one meaning per document.

Signed JSON must mean the same thing to every parser that reads it. Python's ``json``
silently keeps the last of two equal member names and accepts ``NaN``; other parsers keep
the first or refuse. A signed header or payload that two parsers read differently lets a
forger show one value to a person and another to a program, so these helpers refuse both.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from certsvc.errors import MalformedToken
from certsvc.i18n import N_, Message

__all__ = ["dumps_compact", "loads_object"]


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(what: str | Message) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise MalformedToken(
                    N_("{what} has the member {key!r} twice; refusing it"), what=what, key=key
                )
            obj[key] = value
        return obj

    return hook


def loads_object(data: bytes, *, what: str | Message) -> dict[str, Any]:
    """Parse UTF-8 JSON *data* that must be one object; *what* names it in error messages.

    Raises :class:`~certsvc.errors.MalformedToken` for invalid UTF-8, invalid JSON,
    duplicate member names (at any depth), ``NaN``/``Infinity``, or a non-object.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedToken(
            N_("{what} is not valid UTF-8: {reason}"), what=what, reason=exc.reason
        ) from exc
    try:
        value = json.loads(
            text, object_pairs_hook=_no_duplicates(what), parse_constant=_reject_constant
        )
    except MalformedToken:
        raise
    except RecursionError as exc:
        raise MalformedToken(N_("{what} is nested too deeply"), what=what) from exc
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise MalformedToken(N_("{what} is not valid JSON: {exc}"), what=what, exc=exc) from exc
    if not isinstance(value, dict):
        raise MalformedToken(
            N_("{what} must be a JSON object, not {type}"), what=what, type=type(value).__name__
        )
    return value


def dumps_compact(value: Any, *, sort_keys: bool = False) -> bytes:
    """Serialise *value* as compact UTF-8 JSON (no whitespace, no ``NaN``, non-ASCII kept)."""
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=sort_keys
    ).encode("utf-8")
