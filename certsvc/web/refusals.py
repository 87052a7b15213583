"""Audit entries for refused API-token requests (401 and 403), bounded against floods.

A refusal of a token the service knows — a token of another role, a revoked one, one tied to
no certification body — is one entry with that token as the actor: its id, prefix and name,
never the secret. That costs an attacker a real token, so it needs no bound.

A request with no token or an unknown one names nobody, and anyone can send those as fast as
the network carries them. They are counted per client (an IPv4 address or an IPv6 /64,
:func:`certsvc.addresses.client_key`) and minute, in the rate-limit counters
(:mod:`certsvc.web.limits`: Redis when configured, so all servers share them), and recorded:

* each of a client's first :data:`AUDITED_PER_CLIENT` refusals of the minute, then its 10th,
  100th, 1000th … with the count so far (``detail.count``);
* from all clients together at most :data:`AUDITED_IN_ALL` of those entries a minute; past
  that, one entry (actor ``anonymous``, target ``*``) when the entries the minute would have
  had reach 1000, 10 000 … (``detail.entries``).

So ``n`` such refusals a minute write at most ``AUDITED_IN_ALL + log10(n)`` entries, however
many addresses they come from; every refused request still answers 401.
"""

from __future__ import annotations

from flask import current_app, request

from certsvc.accounts import audit
from certsvc.accounts.addresses import client_key
from certsvc.accounts.tokens import TokenIdentity
from certsvc.models import ApiToken
from certsvc.web import runtime_of
from certsvc.web.authz import client_ip
from certsvc.web.limits import counters_of

__all__ = [
    "AUDITED_IN_ALL",
    "AUDITED_PER_CLIENT",
    "denied",
    "no_body",
    "revoked",
    "unauthenticated",
]

#: Refusals without a known token recorded one by one per client and minute.
AUDITED_PER_CLIENT = 5
#: Entries for refusals without a known token per minute, from all clients together.
AUDITED_IN_ALL = 100
_WINDOW_S = 60


def _power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


def _where() -> dict[str, str]:
    return {"method": request.method, "path": request.path[:200]}


def denied(token: TokenIdentity, *, needs: tuple[str, ...]) -> None:
    """A valid token whose role may not use this endpoint (403)."""
    _record_token(token.id, token.body_id, "denied", {**_where(), "needs": " or ".join(needs)})


def no_body(token: TokenIdentity) -> None:
    """A valid token of the right role that belongs to no certification body (403)."""
    _record_token(token.id, token.body_id, "denied", {**_where(), "needs": "a body's token"})


def revoked(token_id: int) -> None:
    """A revoked token (401)."""
    _record_token(token_id, None, "refused", {**_where(), "reason": "revoked"})


def _record_token(token_id: int, body_id: int | None, outcome: str, detail: dict[str, str]) -> None:
    with runtime_of(current_app).db.transaction() as session:
        token = session.get(ApiToken, token_id)
        if token is None:  # deleted meanwhile: nobody left to name
            return
        actor = audit.Actor(
            name=f"token {token.prefix}… {token.name}"[:100], ip=client_ip(), token_id=token.id
        )
        audit.record(
            session,
            actor,
            "token.refused" if outcome == "refused" else "denied",
            body_id=token.body_id if body_id is None else body_id,
            target=detail["path"],
            outcome=outcome,
            detail=detail,
        )


def unauthenticated(reason: str) -> None:
    """No token, or one the service does not know (401): recorded within the bounds above."""
    counters = counters_of(current_app)
    mine = counters.count("token_refused", client_key(request.remote_addr or "unknown"), _WINDOW_S)
    if mine > AUDITED_PER_CLIENT and not _power_of_ten(mine):
        return
    entries = counters.count("token_refused_entries", "*", _WINDOW_S)
    if entries <= AUDITED_IN_ALL:
        detail: dict[str, str | int] = {**_where(), "reason": reason, "count": mine}
        _record_anonymous(request.path[:200], {**detail, "window_s": _WINDOW_S})
    elif _power_of_ten(entries):
        _record_anonymous("*", {"clients": "all", "entries": entries, "window_s": _WINDOW_S})


def _record_anonymous(target: str, detail: dict[str, str | int]) -> None:
    with runtime_of(current_app).db.transaction() as session:
        audit.record(
            session,
            audit.Actor(name="anonymous", ip=client_ip()),
            "token.refused",
            target=target,
            outcome="refused",
            detail=detail,
        )
