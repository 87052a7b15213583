"""Authorization matrix: every console and issuing-API route × every role × own / other body.

Expected: no session → 302 to the log-in page (no token → 401); a role without the
permission → 403; an object of another body → 404 (the same as one that does not exist);
otherwise the route answers (200/201/302/303, or 400/422 for the deliberately empty form or
request). Afterwards the other body's data is checked unchanged, and its identifiers must not
appear on any page the first body's accounts can open.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from certsvc.accounts.accounts import create_body_admin
from certsvc.accounts.audit import Actor
from certsvc.accounts.permissions import PLATFORM_ROLES, ROLES, Permission, permissions_of
from certsvc.accounts.tokens import create_token
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.models import (
    Account,
    ApiToken,
    Batch,
    Certificate,
    EcosystemMember,
    SigningKey,
)
from certsvc.runtime import Runtime
from tests.conftest import (
    BODY_CODE,
    Console,
    make_account,
    other_body,
    row,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

P = Permission
ALLOWED = {200, 201, 202, 302, 303, 400, 422}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {cert} {batch} {member} {kid} {account} {token} {code}
    needs: Permission | None
    on_object: bool

    def url(self, objects: dict[str, str]) -> str:
        return self.path.format(**objects)


def r(method: str, path: str, needs: Permission | None) -> Route:
    platform = "{code}" in path or "{pending}" in path  # objects any operator may act on
    return Route(method, path, needs, on_object="{" in path and not platform)


CONSOLE_ROUTES = [
    r("GET", "/console/dashboard", P.READ),
    r("GET", "/console/batches", P.READ),
    r("GET", "/console/batches/{batch}", P.READ),
    r("GET", "/console/batches/{batch}/certificates.csv", P.READ),
    r("POST", "/console/batches/{batch}/zip", P.READ),
    r("POST", "/console/batches/{batch}/print", P.READ),
    r("GET", "/console/jobs", P.READ),
    r("POST", "/console/stats/export/csv", P.READ),
    r("GET", "/console/certificates", P.READ),
    r("GET", "/console/certificates/{cert}", P.READ),
    r("GET", "/console/certificates/{cert}.pdf", P.READ),
    r("GET", "/console/certificates/{cert}/revoke", P.REVOKE),
    r("POST", "/console/certificates/{cert}/revoke", P.REVOKE),
    r("GET", "/console/certificates/{cert}/correct", P.ISSUE),
    r("POST", "/console/certificates/{cert}/correct", P.ISSUE),
    r("GET", "/console/import", P.ISSUE),
    r("GET", "/console/import/template.xlsx", P.ISSUE),
    r("GET", "/console/import/template.csv", P.ISSUE),
    r("POST", "/console/import", P.ISSUE),
    r("POST", "/console/import/confirm", P.ISSUE),
    r("GET", "/console/members", P.READ),
    r("POST", "/console/members", P.MANAGE_MEMBERS),
    r("POST", "/console/members/{member}/end", P.MANAGE_MEMBERS),
    r("GET", "/console/scope", P.READ),
    r("POST", "/console/scope", P.MANAGE_SCOPE),
    r("POST", "/console/scope/remove", P.MANAGE_SCOPE),
    r("GET", "/console/keys", P.READ),
    r("GET", "/console/keys/rotate", P.MANAGE_KEYS),
    r("POST", "/console/keys/rotate", P.MANAGE_KEYS),
    r("GET", "/console/keys/{kid}/compromise", P.MANAGE_KEYS),
    r("POST", "/console/keys/{kid}/compromise", P.MANAGE_KEYS),
    r("GET", "/console/accounts", P.MANAGE_ACCOUNTS),
    r("POST", "/console/accounts", P.MANAGE_ACCOUNTS),
    r("POST", "/console/accounts/{account}/enable", P.MANAGE_ACCOUNTS),
    r("POST", "/console/accounts/{account}/unlock", P.MANAGE_ACCOUNTS),
    r("POST", "/console/accounts/{account}/disable", P.MANAGE_ACCOUNTS),
    r("POST", "/console/accounts/{account}/password", P.RESET_PASSWORDS),
    r("GET", "/console/tokens", P.MANAGE_TOKENS),
    r("POST", "/console/tokens", P.MANAGE_TOKENS),
    r("POST", "/console/tokens/{token}/revoke", P.MANAGE_TOKENS),
    r("GET", "/console/audit", P.VIEW_AUDIT),
    r("GET", "/console/audit.csv", P.VIEW_AUDIT),
    r("GET", "/console/bodies", P.MANAGE_BODIES),
    r("POST", "/console/bodies", P.MANAGE_BODIES),
    r("POST", "/console/bodies/{code}/accounts", P.MANAGE_BODIES),
    r("POST", "/console/bodies/accounts/{pending}/activate", P.ACTIVATE_ACCOUNTS),
]

API_ROUTES = [
    r("POST", "/api/v1/batches", P.ISSUE),
    r("GET", "/api/v1/batches/{batch}", P.READ),
    r("GET", "/api/v1/certificates/{cert}", P.READ),
    r("GET", "/api/v1/certificates/{cert}/pdf", P.READ),
    r("POST", "/api/v1/certificates/{cert}/revoke", P.REVOKE),
    r("POST", "/api/v1/certificates/{cert}/reissue", P.ISSUE),
    r("POST", "/api/v1/batches/{batch}/zip", P.READ),
    r("POST", "/api/v1/batches/{batch}/print", P.READ),
]


def populate(runtime: Runtime, code: str, serial: int) -> dict[str, str]:
    """A batch, certificate, member, key, spare account and token of body ``code``."""
    rows = [(2, row(serial, employer_uscc=_uscc_of(runtime, code)))]
    result = issue_batch(runtime, code, rows, source="api", content_sha256=content_hash(rows))
    with runtime.db.transaction() as session:
        body_id = session.scalar(select(Batch.body_id).where(Batch.id == result.batch_id))
        spare = Account(
            username=f"spare-{code.lower()}", password_hash="x", role="viewer", body_id=body_id
        )
        session.add(spare)
        token = create_token(session, "viewer", f"matrix {code}", code)
        creator = Account(
            username=f"creator-{code.lower()}", password_hash="x", role="operator", body_id=None
        )
        session.add(creator)
        session.flush()
        pending = create_body_admin(
            session,
            f"pending-{code.lower()}",
            "a long enough password",
            code,
            actor=Actor(creator.username, account_id=creator.id),
        )
        member = session.scalar(
            select(EcosystemMember.id).where(EcosystemMember.body_id == body_id)
        )
        kid = session.scalar(select(SigningKey.kid).where(SigningKey.body_id == body_id))
        session.flush()
        return {
            "cert": result.certificates[0].number,
            "batch": result.batch_id,
            "member": str(member or 999_999),
            "kid": str(kid),
            "account": str(spare.id),
            "token": str(token.identity.id),
            "code": code,
            "token_prefix": token.identity.prefix,
            "pending": str(pending.id),
        }


def _uscc_of(runtime: Runtime, code: str) -> str:
    from certsvc.models import CertificationBody

    with runtime.db.session() as session:
        found = session.scalar(select(CertificationBody.uscc).where(CertificationBody.code == code))
        assert found is not None
        return found


def expected(role: str | None, route: Route, own: bool) -> int | set[int]:
    if role is None:
        return 302
    if route.needs is not None and route.needs not in permissions_of(role):
        return 403
    body_role = role in ("admin", "issuer", "viewer")
    if route.on_object and (not own or not body_role):
        return 404
    return ALLOWED


def test_console_matrix(runtime: Runtime, body: str, app: Flask) -> None:
    other = other_body(runtime)
    mine = populate(runtime, body, 1)
    theirs = populate(runtime, other, 2)
    clients: dict[str | None, Console] = {None: Console(app.test_client())}
    for role in ROLES:
        make_account(
            runtime, f"m-{role}", role, body if role in ("admin", "issuer", "viewer") else None
        )
        clients[role] = Console(app.test_client())
        assert clients[role].login(f"m-{role}").status_code == 302
    mismatches = []
    checked = 0
    for route in CONSOLE_ROUTES:
        for which, objects in (("own", mine), ("other", theirs)):
            if which == "other" and not route.on_object:
                continue
            for role, client in clients.items():
                url = route.url(objects)
                if route.method == "GET":
                    status = client.get(url).status_code
                else:
                    status = client.post(url, {}).status_code
                want = expected(role, route, which == "own")
                checked += 1
                if (status not in want) if isinstance(want, set) else status != want:
                    mismatches.append(
                        f"{route.method} {url} as {role} ({which}): {status}, want {want}"
                    )
    assert not mismatches, "\n".join(mismatches)
    assert checked > 250
    assert_untouched(runtime, theirs)
    # Nothing of the other body shows on any page an account of this body can open.
    for role in ("admin", "issuer", "viewer"):
        for route in CONSOLE_ROUTES:
            if route.method != "GET" or route.on_object or route.path.endswith((".xlsx", ".csv")):
                continue
            if route.path == "/console/audit":
                continue  # it shows the paths this body's own accounts asked for
            page = clients[role].get(route.path).get_data(as_text=True)
            for leak in (
                theirs["cert"],
                theirs["batch"][:12],
                theirs["token_prefix"],
                "spare-y0002",
            ):
                assert leak not in page, (role, route.path, leak)


def assert_untouched(runtime: Runtime, theirs: dict[str, str]) -> None:
    with runtime.db.session() as session:
        cert = session.scalar(select(Certificate).where(Certificate.number == theirs["cert"]))
        assert cert is not None and cert.status == "valid"
        key = session.get(SigningKey, theirs["kid"])
        assert key is not None and key.status == "active"
        token = session.get(ApiToken, int(theirs["token"]))
        assert token is not None and token.revoked_at is None
        spare = session.get(Account, int(theirs["account"]))
        assert spare is not None and not spare.disabled
        count = session.scalar(
            select(Certificate.id).where(Certificate.body_id == cert.body_id).limit(2).offset(1)
        )
        assert count is None  # still one certificate: nothing was issued for them


def test_api_matrix(runtime: Runtime, body: str, app: Flask) -> None:
    other = other_body(runtime)
    mine = populate(runtime, body, 1)
    theirs = populate(runtime, other, 2)
    secrets: dict[str | None, str | None] = {None: None}
    with runtime.db.transaction() as session:
        for role in ROLES:
            scoped = BODY_CODE if role in ("admin", "issuer", "viewer") else None
            secrets[role] = create_token(session, role, f"api {role}", scoped).secret
    client = app.test_client()
    mismatches = []
    for route in API_ROUTES:
        for which, objects in (("own", mine), ("other", theirs)):
            if which == "other" and not route.on_object:
                continue
            for role, secret in secrets.items():
                headers = {"Authorization": f"Bearer {secret}"} if secret else {}
                url = route.url(objects)
                if route.method == "GET":
                    response = client.get(url, headers=headers)
                else:
                    response = client.post(url, json={}, headers=headers)
                want = 401 if role is None else expected(role, route, which == "own")
                status = response.status_code
                if (status not in want) if isinstance(want, set) else status != want:
                    mismatches.append(
                        f"{route.method} {url} as {role} ({which}): {status}, want {want}"
                    )
                assert (response.is_json and "error" in response.json) or status < 300, url
    assert not mismatches, "\n".join(mismatches)
    assert_untouched(runtime, theirs)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_defined_permission_set(role: str) -> None:
    assert permissions_of(role), role
    assert permissions_of("nobody") == frozenset()


# --- instance-level roles (issue #13): none can both make a body's accounts and act as it --


#: What acting as a body, or reading every body's ID numbers, takes.
ACTS_AS_A_BODY = {P.ISSUE, P.REVOKE, P.MANAGE_KEYS, P.MANAGE_ACCOUNTS, P.RESET_PASSWORDS}


@pytest.mark.parametrize("role", PLATFORM_ROLES)
def test_no_platform_role_can_make_a_body_account_and_act_as_the_body(role: str) -> None:
    granted = permissions_of(role)
    assert not granted & ACTS_AS_A_BODY, role
    # Registering bodies (and their pending admins) and minting registry tokens (clear ID
    # numbers of every body) are different people's work.
    assert not (P.MANAGE_BODIES in granted and P.MANAGE_TOKENS in granted), role
    assert not (P.MANAGE_BODIES in granted and P.READ_FEED in granted), role


def test_operator_and_registry_admin_each_do_only_their_part(
    runtime: Runtime, body: str, app: Flask
) -> None:
    make_account(runtime, "op.one", "operator", None)
    make_account(runtime, "op.two", "operator", None)
    make_account(runtime, "reg.admin", "registry_admin", None)
    one, two, registrar = (Console(app.test_client()) for _ in range(3))
    for console, name in ((one, "op.one"), (two, "op.two"), (registrar, "reg.admin")):
        assert console.login(name).status_code == 302
    # An operator may not make a body's issuer, only its admin, which starts pending.
    form = {"username": "b.issuer", "password": "a long enough password", "role": "issuer"}
    assert one.post(f"/console/bodies/{body}/accounts", form).status_code == 422
    made = one.post(f"/console/bodies/{body}/accounts", {**form, "role": "admin"})
    assert made.status_code == 303
    with runtime.db.session() as session:
        account = session.scalar(select(Account).where(Account.username == "b.issuer"))
        assert account is not None and account.role == "admin" and account.pending
        account_id = account.id
    assert Console(app.test_client()).login("b.issuer", "a long enough password").status_code == 401
    # Its creator cannot activate it; another operator can.
    assert one.post(f"/console/bodies/accounts/{account_id}/activate").status_code == 403
    assert two.post(f"/console/bodies/accounts/{account_id}/activate").status_code == 303
    assert Console(app.test_client()).login("b.issuer", "a long enough password").status_code == 302
    # Operators mint no tokens and make no platform accounts; the registry admin mints
    # registry tokens and touches no body.
    assert one.post("/console/tokens", {"name": "feed", "role": "registry"}).status_code == 403
    assert one.get("/console/accounts").status_code == 403
    minted = registrar.post("/console/tokens", {"name": "feed", "role": "registry"})
    assert minted.status_code == 201
    with runtime.db.session() as session:
        assert session.scalar(select(ApiToken.role).where(ApiToken.name == "feed")) == "registry"
    assert registrar.get("/console/bodies").status_code == 403
    assert registrar.post(f"/console/bodies/{body}/accounts", {}).status_code == 403
    assert registrar.get("/console/").headers["Location"].endswith("/console/tokens")
