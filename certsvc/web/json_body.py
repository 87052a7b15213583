"""Reading a JSON request body for the APIs, in one place.

Flask's ``request.get_json(force=True, silent=True)`` returns None for a body that is not
JSON, but only for the errors it expects: a body nested deeper than Python's recursion limit
(a thousand ``[``, a few kilobytes) raises :class:`RecursionError` from the json module, which
it lets through, and the request ends as HTTP 500. Here every way a body can fail to parse is
the caller's mistake: 400 ``invalid_request``.

JSON may spell a lone surrogate (``"\\ud800"``): the json module reads it into a ``str`` that
no UTF-8 encoder accepts, so it would fail wherever it is stored, logged or signed. Such a
body is refused as a whole here: 400 ``invalid_unicode``, naming where the surrogate is.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from certsvc.domain.text import check_unicode
from certsvc.errors import InvalidRequest

__all__ = ["json_object"]


def json_object(hint: str = "send a JSON object as the request body") -> dict[str, Any]:
    """The request body as a JSON object, whatever its Content-Type.

    Raises :class:`InvalidRequest` with *hint* when the body is not JSON (malformed, not
    UTF-8, nested too deeply) or is JSON but not an object. A body over the app's
    ``MAX_CONTENT_LENGTH`` still answers 413.
    """
    raw = request.get_data(cache=True)
    try:
        data = current_app.json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:  # JSONDecodeError is one
        raise InvalidRequest(f"the request body is not JSON; {hint}") from exc
    if not isinstance(data, dict):
        raise InvalidRequest(hint)
    _check_strings(data)
    return data


def _check_strings(data: object) -> None:
    """Raise :class:`~certsvc.errors.InvalidUnicode` for the first string (member names too)
    that is not valid Unicode, naming its place in the body (``rows[3].work_type``)."""
    stack: list[tuple[str, object]] = [("", data)]
    while stack:  # not recursive: a body may nest as deep as the parser allows
        path, value = stack.pop()
        if isinstance(value, str):
            check_unicode(f"JSON value at {path or 'the top'}", value)
        elif isinstance(value, dict):
            for key, member in value.items():
                check_unicode(f"JSON member name in {path or 'the top object'}", key)
                stack.append((f"{path}.{key}" if path else key, member))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
