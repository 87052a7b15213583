"""API bearer tokens: created once, stored only as a SHA-256 hash, checked in constant time.

A token is ``cst_`` followed by 43 characters of ``secrets.token_urlsafe(32)`` (256 random
bits). Only its SHA-256 hex digest is stored, with the first 12 characters (``prefix``) so a
person can tell tokens apart in ``certsvc tokens list``; the secret itself is shown once, when
the token is created, and cannot be recovered. A plain (unkeyed) hash is enough because the
secret has full entropy: nobody can guess a token from its hash.

Roles are those of :class:`~certsvc.models.Account`: ``admin``, ``issuer``, ``viewer`` (per
certification body or platform-wide), ``operator`` (platform) and ``registry`` (the national
registry, 全国联网查询系统). A token may be tied to one body; what that means is up to the
endpoint (the registry feed then shows only that body's events).

:func:`certsvc.web.bearer.require_token` guards API views: no or a bad token answers 401 with a
``WWW-Authenticate: Bearer`` challenge (RFC 6750), a token of another role 403; both with the
JSON error body ``{"error": {"code", "message"}}``. Every refusal is audited
(:mod:`certsvc.web.refusals`: a known token by its id and name, the rest bounded per client).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.accounts.permissions import ROLES
from certsvc.bodies.bodies import require_active
from certsvc.db import MAX_ROW_ID
from certsvc.domain.text import check_text
from certsvc.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from certsvc.i18n import N_, Message
from certsvc.models import ApiToken, CertificationBody, utcnow

__all__ = [
    "ROLES",
    "TOKEN_PREFIX",
    "NewToken",
    "TokenIdentity",
    "authenticate",
    "create_token",
    "hash_token",
    "list_tokens",
    "revoke_token",
]

TOKEN_PREFIX = "cst_"  # noqa: S105 - a public marker, not a secret
PREFIX_LENGTH = 12
#: ``last_used_at`` is written at most this often per token, so a busy client does not turn
#: every read into a write on the token row.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_SECRET_LENGTH = len(TOKEN_PREFIX) + 43


@dataclass(frozen=True)
class TokenIdentity:
    """Who a request is: the token's id, name, role and (optional) body, without the hash."""

    id: int
    name: str
    role: str
    prefix: str
    body_id: int | None
    body_code: str | None


@dataclass(frozen=True)
class NewToken:
    """A token just created: its identity and the secret, which is never shown again."""

    identity: TokenIdentity
    secret: str


def hash_token(secret: str) -> str:
    """The stored form of a token: SHA-256 hex of its UTF-8 bytes."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _identity(token: ApiToken, body_code: str | None) -> TokenIdentity:
    return TokenIdentity(token.id, token.name, token.role, token.prefix, token.body_id, body_code)


def create_token(session: Session, role: str, name: str, body_code: str | None = None) -> NewToken:
    """Create a token for ``role`` (and optionally one body); the secret is returned once."""
    if role not in ROLES:
        raise InvalidInput(
            N_("unknown role {role}; use one of {roles}"), role=repr(role), roles=", ".join(ROLES)
        )
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(N_("give the token a name of 1 to 100 characters (who or what uses it)"))
    check_text(Message(N_("token name")), name)
    body_id = None
    if body_code is not None:
        body = session.scalar(
            select(CertificationBody).where(CertificationBody.code == body_code.strip().upper())
        )
        if body is None:
            raise NotFound(
                N_("no certification body with code {code}; `certsvc body list`"), code=body_code
            )
        require_active(body, Message(N_("get new API tokens")))
        body_id, body_code = body.id, body.code
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        token_hash=hash_token(secret),
        role=role,
        body_id=body_id,
    )
    session.add(token)
    session.flush()
    return NewToken(_identity(token, body_code), secret)


def authenticate(session: Session, secret: str, *, now: dt.datetime | None = None) -> TokenIdentity:
    """The identity behind a presented token; :class:`Unauthenticated` if it is not valid.

    The row is found by the hash (a unique index) and the hashes are compared again with
    :func:`hmac.compare_digest`, so nothing about a stored hash leaks through timing beyond
    what the index look-up of an unguessable value does. Revoked tokens are refused.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) != _SECRET_LENGTH:
        raise Unauthenticated(N_("the bearer token is not a certsvc API token"))
    digest = hash_token(secret)
    row = session.execute(
        select(ApiToken, CertificationBody.code)
        .outerjoin(CertificationBody, CertificationBody.id == ApiToken.body_id)
        .where(ApiToken.token_hash == digest)
    ).first()
    if row is None or not hmac.compare_digest(row[0].token_hash, digest):
        raise Unauthenticated(N_("the bearer token is unknown; ask an operator for a new one"))
    token, body_code = row[0], row[1]
    if token.revoked_at is not None:
        raise Unauthenticated(
            N_("the bearer token {prefix}… was revoked; ask an operator for a new one"),
            prefix=token.prefix,
            token_id=token.id,
        )
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return _identity(token, body_code)


def list_tokens(session: Session) -> list[tuple[ApiToken, str | None]]:
    """Every token with its body code, oldest first (hashes stay in the rows; never show them)."""
    return [
        (token, code)
        for token, code in session.execute(
            select(ApiToken, CertificationBody.code)
            .outerjoin(CertificationBody, CertificationBody.id == ApiToken.body_id)
            .order_by(ApiToken.created_at, ApiToken.id)
        ).all()
    ]


def revoke_token(session: Session, which: str) -> ApiToken:
    """Revoke a token named by its id or its prefix; it stops working at once."""
    which = which.strip()
    query = select(ApiToken)
    if which.isascii() and which.isdigit():
        if int(which) > MAX_ROW_ID:
            raise NotFound(
                N_("no API token {token}; `certsvc tokens list` shows them"), token=which
            )
        query = query.where(ApiToken.id == int(which))
    elif which.startswith(TOKEN_PREFIX) and len(which) >= PREFIX_LENGTH:
        query = query.where(ApiToken.prefix == which[:PREFIX_LENGTH])
    else:
        raise InvalidInput(N_("name the token by its id or its prefix (see `certsvc tokens list`)"))
    found = session.scalars(query).all()
    if not found:
        raise NotFound(N_("no API token {token}; `certsvc tokens list` shows them"), token=which)
    if len(found) > 1:
        raise Conflict(
            N_("the prefix {prefix} names {count} tokens; revoke by id instead"),
            prefix=which,
            count=len(found),
        )
    token = found[0]
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
