"""Reading a JSON request body for the APIs, in one place.

Flask's ``request.get_json(force=True, silent=True)`` returns None for a body that is not
JSON, but only for the errors it expects: a body nested deeper than Python's recursion limit
(a thousand ``[``, a few kilobytes) raises :class:`RecursionError` from the json module, which
it lets through, and the request ends as HTTP 500. Here every way a body can fail to parse is
the caller's mistake: 400 ``invalid_request``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

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
    return data
