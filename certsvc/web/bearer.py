"""Bearer-token guard for API views: the Flask side of :mod:`certsvc.accounts.tokens`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from certsvc.accounts.tokens import ROLES, TokenIdentity, authenticate
from certsvc.errors import CertsvcError, PermissionDenied, Unauthenticated
from certsvc.i18n import N_
from certsvc.web import refusals, runtime_of

__all__ = ["current_token", "require_token"]

P = ParamSpec("P")
R = TypeVar("R")

_REALM = "certsvc"


def _error(exc: CertsvcError, challenge: str | None) -> ResponseReturnValue:
    response = jsonify(error=exc.to_dict())
    response.status_code = exc.http_status
    response.headers["Cache-Control"] = "no-store"
    if challenge is not None:
        response.headers["WWW-Authenticate"] = challenge
    return response


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def require_token(
    *roles: str,
) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Guard a view: a valid bearer token with one of ``roles``; the identity is in ``g``.

    Answers 401 with ``WWW-Authenticate: Bearer realm="certsvc"`` (plus
    ``error="invalid_token"`` when a token was given but is not valid) and 403 when the
    token's role is not one of ``roles``. Read the identity with :func:`current_token`.
    """
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise ValueError(f"require_token needs roles from {ROLES}, got {roles}")

    def decorate(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            secret = _bearer()
            if secret is None:
                missing = Unauthenticated(
                    N_("this endpoint needs an API token: send 'Authorization: Bearer <token>'")
                )
                refusals.unauthenticated("missing")
                return _error(missing, f'Bearer realm="{_REALM}"')
            try:
                with runtime_of(current_app).db.transaction() as session:
                    identity = authenticate(session, secret)
            except Unauthenticated as exc:
                if exc.token_id is None:
                    refusals.unauthenticated("unknown")
                else:
                    refusals.revoked(exc.token_id)
                challenge = f'Bearer realm="{_REALM}", error="invalid_token"'
                return _error(exc, challenge)
            if identity.role not in roles:
                denied = PermissionDenied(
                    N_("the token {prefix}… has role {role!r}; this endpoint needs {roles}"),
                    prefix=identity.prefix,
                    role=identity.role,
                    roles=" / ".join(repr(r) for r in roles),
                )
                refusals.denied(identity, needs=roles)
                return _error(denied, None)
            g.api_token = identity
            return view(*args, **kwargs)

        return guarded

    return decorate


def current_token() -> TokenIdentity:
    """The identity :func:`require_token` put on this request."""
    identity = g.get("api_token")
    if not isinstance(identity, TokenIdentity):
        raise RuntimeError("current_token() outside a view guarded by require_token")
    return identity


def token_body_id(token: TokenIdentity) -> int:
    """The body ``token`` acts for; a token of no body is refused (403) and the refusal
    audited (:mod:`certsvc.web.refusals`)."""
    if token.body_id is None:
        refusals.no_body(token)
        raise PermissionDenied(
            N_(
                "the token {prefix}… is not tied to a certification body; create the token "
                "in the console of the body that issues"
            ),
            prefix=token.prefix,
        )
    return token.body_id
