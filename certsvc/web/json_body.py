"""Reading a JSON request body for the APIs, in one place: :func:`parse` checks it against
its model in :mod:`certsvc.web.schemas` and answers 400 ``invalid_request`` naming the problem.

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

from collections.abc import Sequence
from typing import Any, NoReturn, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from certsvc.domain.text import check_unicode
from certsvc.errors import InvalidRequest
from certsvc.i18n import N_, Message, plural

__all__ = ["json_object", "parse", "problem", "refuse"]

M = TypeVar("M", bound=BaseModel)


_SEND_AN_OBJECT = N_("send a JSON object as the request body")


def json_object(hint: str | Message = _SEND_AN_OBJECT) -> dict[str, Any]:
    """The request body as a JSON object, whatever its Content-Type.

    Raises :class:`InvalidRequest` with *hint* when the body is not JSON (malformed, not
    UTF-8, nested too deeply) or is JSON but not an object. A body over the app's
    ``MAX_CONTENT_LENGTH`` still answers 413.
    """
    raw = request.get_data(cache=True)
    try:
        data = current_app.json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:  # JSONDecodeError is one
        raise InvalidRequest(N_("the request body is not JSON; {hint}"), hint=hint) from exc
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


def parse(model: type[M]) -> M:
    """The request body as a ``model``; InvalidRequest (400) names the first problem."""
    example = ", ".join(
        f'"{name}": ...' for name, f in model.model_fields.items() if f.is_required()
    )
    data = json_object(
        Message(
            N_("send a JSON object as the request body, e.g. {example}"),
            example=f"{{{example}}}",
        )
    )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        refuse(model, exc.errors())


def refuse(model: type[BaseModel], errors: Sequence[ErrorDetails]) -> NoReturn:
    """Raise :class:`InvalidRequest` (400) naming the first of ``errors`` (see :func:`problem`)."""
    raise InvalidRequest(problem(model, errors)) from None


def problem(model: type[BaseModel], errors: Sequence[ErrorDetails]) -> Message:
    """One line about the first of ``errors`` (all unknown members at once), for a person."""
    unknown = [str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        return plural(
            "unknown member {unknown}; this operation takes {members}",
            "unknown members {unknown}; this operation takes {members}",
            len(unknown),
            unknown=", ".join(map(repr, unknown)),
            members=", ".join(model.model_fields),
        )
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or Message(N_("the body"))
    if first["type"] == "missing":
        return Message(N_("member {where!r} is missing"), where=where)
    return Message(N_("member {where!r}: {problem}"), where=where, problem=first["msg"])
