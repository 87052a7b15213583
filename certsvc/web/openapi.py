"""The OpenAPI 3.1 document of every public route, generated (served at ``/api/v1/openapi.json``).

Each view says what it takes and answers with :func:`documented` — an :class:`Operation`
naming models of :mod:`certsvc.web.schemas` — and :func:`openapi_document` walks the app's URL
map: every public route must be documented (console and static files are not public API), so
a route cannot be added without its description. Schemas come from pydantic's
``models_json_schema``; what depends on the running service (its URL, the batch size limit)
is filled in per app. ``tests/test_api_schema.py`` runs schemathesis against the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from certsvc.web.schemas import IDEMPOTENCY_PATTERN, Error

__all__ = ["Answer", "Operation", "Param", "documented", "openapi_document"]

F = TypeVar("F", bound=Callable[..., Any])

#: Routes that are not part of the public API: the console (a browser application with its
#: own forms and CSRF tokens) and static files.
NOT_API = ("/console", "/static/", "/assets/")
HTML = "text/html"
JSON = "application/json"
ATTRIBUTE = "openapi_operation"
_ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Answer:
    """One response: a model (JSON), or another media type with a plain schema."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = JSON
    schema: Mapping[str, Any] | None = None
    headers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Further media types with the same schema (a download that is a ZIP or a PDF).
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Param:
    """A path, query or header parameter."""

    name: str
    schema: Mapping[str, Any]
    where: Literal["path", "query", "header"] = "query"
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """What one view takes and answers; errors are :class:`~certsvc.web.schemas.Error`
    unless ``error`` names another model."""

    operation_id: str
    summary: str
    responses: Mapping[int, Answer]
    description: str = ""
    tags: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    body_media_type: str = JSON
    params: tuple[Param, ...] = ()
    security: str | None = None
    error: type[BaseModel] = Error


def documented(operation: Operation) -> Callable[[F], F]:
    """Attach ``operation`` to a view (kept through ``functools.wraps`` by the decorators
    that wrap views: tokens, rate limits)."""

    def mark(view: F) -> F:
        setattr(view, ATTRIBUTE, operation)
        return view

    return mark


SECURITY_SCHEMES = {
    "issuingToken": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "An API token of one certification body (cst_…), created by its admin in the "
            "console; issuer to issue, revoke and reissue, viewer or admin to read."
        ),
    },
    "registryToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token with the registry role (`certsvc tokens create`).",
    },
    "metricsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator's CERTSVC_METRICS_TOKEN (Prometheus scrapes with it).",
    },
}

IDEMPOTENCY_SCHEMA = {"type": "string", "pattern": IDEMPOTENCY_PATTERN}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the client may retry.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}

_DESCRIPTION = (
    "Verify 职业技能等级证书 (vocational skill-level certificates) by the QR token, by "
    "certificate number + holder name, or by ID number + name (answers carry masked ID numbers "
    "only); issue, revoke and correct them (issuing tokens); pull the signed change feed "
    "(registry tokens); read the signing keys and the public issuance log. Errors are "
    '`{"error": {"code", "message"}}`. Verification routes are rate-limited per client (429 '
    "with Retry-After)."
)


def openapi_document(app: Flask, public_url: str, max_batch_rows: int) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s public routes, with ``public_url`` as the server.

    Raises LookupError naming a public route that has no :func:`documented` operation.
    """
    from certsvc.web.limits import ENDPOINT_SCOPES

    found: list[tuple[str, str, str, Operation]] = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(NOT_API):
            continue
        operation = getattr(app.view_functions[rule.endpoint], ATTRIBUTE, None)
        if not isinstance(operation, Operation):
            raise LookupError(f"the public route {rule.rule} has no OpenAPI description")
        # <number>, <int:number>, <path:name> → {number}, {name}
        path = _ARGUMENT.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), rule.endpoint, operation))

    uses: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for _, _, _, operation in found:
        if operation.body is not None:
            uses.append((operation.body, "validation"))
        uses.append((operation.error, "serialization"))
        uses.extend((a.model, "serialization") for a in operation.responses.values() if a.model)
    refs, schemas = models_json_schema(
        list(dict.fromkeys(uses)), ref_template="#/components/schemas/{model}"
    )
    components: dict[str, Any] = schemas.get("$defs", {})
    # The batch size is a setting of the running service.
    components["IssuingBatchRequest"]["properties"]["rows"]["maxItems"] = max_batch_rows

    paths: dict[str, dict[str, Any]] = {}
    for path, method, endpoint, operation in sorted(found):
        limited = endpoint in ENDPOINT_SCOPES
        paths.setdefault(path, {})[method] = _operation(
            operation, refs, limited=limited, page=not path.startswith("/api/")
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "certsvc", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": public_url}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(
    operation: Operation,
    refs: Mapping[tuple[Any, JsonSchemaMode], Any],
    *,
    limited: bool,
    page: bool,
) -> dict[str, Any]:
    def content(answer: Answer) -> dict[str, Any]:
        if answer.model is not None:
            schema: Mapping[str, Any] = refs[(answer.model, "serialization")]
        else:
            schema = answer.schema or {"type": "string"}
        return {media: {"schema": schema} for media in (answer.media_type, *answer.also)}

    responses: dict[str, Any] = {}
    for status, answer in operation.responses.items():
        if answer.model is None and answer.media_type == JSON:
            answer = Answer(answer.description, operation.error, headers=answer.headers)
        item: dict[str, Any] = {"description": answer.description, "content": content(answer)}
        if answer.headers:
            item["headers"] = dict(answer.headers)
        responses[str(status)] = item
    if limited:
        too_many = (
            Answer("Too many requests from this client.", media_type=HTML)
            if page
            else Answer("Too many requests from this client.", operation.error)
        )
        responses["429"] = {
            "description": too_many.description + " Retry after the given seconds.",
            "headers": _RETRY_AFTER,
            "content": content(too_many),
        }
    out: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
    }
    if operation.description:
        out["description"] = operation.description
    if operation.tags:
        out["tags"] = list(operation.tags)
    if operation.security:
        out["security"] = [{operation.security: []}]
    if operation.params:
        out["parameters"] = [_parameter(p) for p in operation.params]
    if operation.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {
                operation.body_media_type: {"schema": refs[(operation.body, "validation")]}
            },
        }
    out["responses"] = dict(sorted(responses.items()))
    return out


def _parameter(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required or param.where == "path",
        "schema": dict(param.schema),
    }
    if param.description:
        out["description"] = param.description
    return out
