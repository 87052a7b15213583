"""Who is asking and what they may do: console sessions, permission checks, audit entries.

A console session is a signed Flask cookie holding the account id, a stamp of the account
(:attr:`certsvc.accounts.accounts.Principal.stamp`) and two times. On every request the account is
read again: a disabled account, a changed password, role or body, a log-out (on any device:
:func:`certsvc.accounts.accounts.end_sessions`), an idle session (over :data:`IDLE_TIMEOUT`) or an
old one (over :data:`MAX_SESSION_AGE`) ends the session.

The server's limit and the browser's agree: :data:`MAX_SESSION_AGE` is Flask's
``PERMANENT_SESSION_LIFETIME`` (one setting, read by both), and the cookie expires when
the session started plus that age (:class:`ConsoleSessionInterface`), not a month after
the last request as Flask's default does.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, ParamSpec

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.typing import ResponseReturnValue

from certsvc.accounts import audit
from certsvc.accounts.accounts import Principal, load_principal
from certsvc.accounts.permissions import Permission
from certsvc.web import runtime_of

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_SESSION_AGE",
    "ConsoleSessionInterface",
    "audit_request",
    "audited_request",
    "client_ip",
    "current_principal",
    "end_session",
    "principal",
    "request_actor",
    "requires",
    "start_session",
]

SESSION_KEY = "console"
IDLE_TIMEOUT = dt.timedelta(hours=1)
#: The longest a console session lasts; the console sets Flask's PERMANENT_SESSION_LIFETIME
#: to it, and every check reads that one setting (:func:`session_lifetime`).
MAX_SESSION_AGE = dt.timedelta(hours=10)

P = ParamSpec("P")


def client_ip() -> str:
    """The client's address (behind proxies, set CERTSVC_TRUSTED_PROXIES so it is the client's)."""
    return (request.remote_addr or "")[:64]


def session_lifetime(app: Flask) -> dt.timedelta:
    """How long a console session lasts: Flask's PERMANENT_SESSION_LIFETIME, one setting."""
    return app.permanent_session_lifetime


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions whose cookie dies with the console session.

    Flask sets a permanent session's cookie to expire a lifetime after the *last* response
    that touched it; the server ends a console session a lifetime after it *started*. The
    cookie here expires at that same moment, so a browser never keeps a cookie the server
    would refuse (nor one that outlives the server's limit).
    """

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> dt.datetime | None:
        expires = super().get_expiration_time(app, session)
        data = session.get(SESSION_KEY)
        if expires is None or not isinstance(data, dict):
            return expires
        try:
            started = dt.datetime.fromtimestamp(int(data["t"]), dt.UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            return expires
        return min(expires, started + session_lifetime(app))


def start_session(who: Principal) -> None:
    """Begin a console session for ``who`` (a fresh cookie: nothing of the old one is kept)."""
    lang = session.get("lang")
    session.clear()
    now = int(time.time())
    session[SESSION_KEY] = {"a": who.account_id, "s": who.stamp, "t": now, "seen": now}
    if lang:
        session["lang"] = lang
    session.permanent = True
    g.principal = who


def end_session() -> None:
    session.pop(SESSION_KEY, None)
    g.principal = None


def current_principal() -> Principal | None:
    """The logged-in account of this request, or None."""
    if "principal" in g:
        cached: Principal | None = g.principal
        return cached
    g.principal = None
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        account_id, stamp = int(data["a"]), str(data["s"])
        started, seen = int(data["t"]), int(data["seen"])
    except (KeyError, TypeError, ValueError):
        end_session()
        return None
    now = int(time.time())
    too_old = now - started > session_lifetime(current_app).total_seconds()
    if too_old or now - seen > IDLE_TIMEOUT.total_seconds():
        end_session()
        return None
    with runtime_of(current_app).db.session() as db_session:
        who = load_principal(db_session, account_id, stamp)
    if who is None:
        end_session()
        return None
    if now - seen > 60:  # refresh the idle clock, at most once a minute
        session[SESSION_KEY] = {**data, "seen": now}
    g.principal = who
    return who


def principal() -> Principal:
    """The logged-in account of a view guarded by :func:`requires`."""
    who = current_principal()
    if who is None:
        raise RuntimeError("principal() outside a view guarded by requires()")
    return who


def request_actor() -> audit.Actor:
    """The audit actor of this request: the console account, the API token, or anonymous."""
    token = g.get("api_token")
    if token is not None:
        return audit.Actor(
            name=f"token {token.prefix}… {token.name}"[:100], ip=client_ip(), token_id=token.id
        )
    who = current_principal()
    if who is None:
        return audit.Actor(name="anonymous", ip=client_ip())
    return audit.Actor(name=who.username, ip=client_ip(), account_id=who.account_id)


def audit_request(
    action: str,
    *,
    body_id: int | None,
    target: str = "",
    outcome: str = "ok",
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Write one audit entry for this request, in its own transaction."""
    with runtime_of(current_app).db.transaction() as db_session:
        audit.record(
            db_session,
            request_actor(),
            action,
            body_id=body_id,
            target=target,
            outcome=outcome,
            detail=detail,
        )


def audited_request(
    action: str,
    *,
    body_id: int | None,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
) -> AbstractContextManager[audit.AuditedAction]:
    """:func:`certsvc.audit.audited` for this request's actor: ok, rejected or failed."""
    return audit.audited(
        runtime_of(current_app).db,
        request_actor(),
        action,
        body_id=body_id,
        target=target,
        detail=detail,
    )


def requires(
    permission: Permission,
) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Guard a console view: a logged-in account whose role has ``permission``.

    Without a session the browser is sent to the log-in page (and back afterwards); an account
    without the permission gets 403, and the refusal is audited.
    """

    def decorate(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            who = current_principal()
            if who is None:
                target = request.full_path if request.method == "GET" else None
                return redirect(url_for("console.login", next=target), code=302)
            if not who.can(permission):
                audit_request(
                    "denied",
                    body_id=who.body_id,
                    target=request.path[:200],
                    outcome="denied",
                    detail={"needs": permission.value, "method": request.method},
                )
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate
