"""API tokens: secret shown once, only a hash stored, revocation, roles, the CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from certsvc.accounts.tokens import (
    LAST_USED_RESOLUTION,
    authenticate,
    create_token,
    hash_token,
    revoke_token,
)
from certsvc.cli.main import cli
from certsvc.errors import InvalidInput, NotFound, Unauthenticated
from certsvc.models import ApiToken
from certsvc.runtime import Runtime
from tests.conftest import env_of


def test_a_token_is_stored_only_as_its_hash(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        new = create_token(session, "issuer", "导入脚本", body)
    assert new.secret.startswith("cst_") and len(new.secret) == 47
    assert new.identity.body_code == body and new.identity.role == "issuer"
    with runtime.db.session() as session:
        stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hash_token(new.secret) != new.secret
    assert stored.prefix == new.secret[:12]
    assert new.secret not in repr(vars(stored))


def test_authenticate_finds_the_token_and_records_its_use(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        secret = create_token(session, "registry", "全国联网查询").secret
    start = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
    with runtime.db.transaction() as session:
        identity = authenticate(session, secret, now=start)
    assert identity.role == "registry" and identity.body_id is None
    with runtime.db.transaction() as session:  # soon after: the row is not written again
        authenticate(session, secret, now=start + dt.timedelta(seconds=5))
    with runtime.db.session() as session:
        assert session.scalars(select(ApiToken.last_used_at)).one() == start
    later = start + LAST_USED_RESOLUTION
    with runtime.db.transaction() as session:
        authenticate(session, secret, now=later)
    with runtime.db.session() as session:
        assert session.scalars(select(ApiToken.last_used_at)).one() == later


@pytest.mark.parametrize(
    "presented",
    ["", "cst_short", "cst_" + "A" * 43, "Bearer cst_" + "A" * 43, "xyz_" + "A" * 43],
)
def test_unknown_tokens_are_refused(runtime: Runtime, presented: str) -> None:
    with runtime.db.transaction() as session, pytest.raises(Unauthenticated):
        authenticate(session, presented)


def test_a_revoked_token_stops_working(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        new = create_token(session, "viewer", "看板", body)
    with runtime.db.transaction() as session:
        revoke_token(session, new.identity.prefix)
    with runtime.db.transaction() as session, pytest.raises(Unauthenticated, match="revoked"):
        authenticate(session, new.secret)
    with runtime.db.transaction() as session, pytest.raises(NotFound):
        revoke_token(session, "999")


def test_roles_names_and_bodies_are_checked(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        with pytest.raises(InvalidInput, match="unknown role"):
            create_token(session, "root", "x")
        with pytest.raises(InvalidInput, match="name"):
            create_token(session, "viewer", "  ")
        with pytest.raises(NotFound):
            create_token(session, "viewer", "x", "Y999932010001")


def test_the_tokens_commands(runtime: Runtime, body: str, runner: CliRunner) -> None:
    env = env_of(runtime.settings)

    def run(*args: str, code: int = 0) -> tuple[str, str]:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, (result.output, result.stderr)
        return result.stdout, result.stderr

    secret, note = run("tokens", "create", "--role", "registry", "--name", "全国联网查询")
    secret = secret.strip()
    assert secret.startswith("cst_") and "not shown again" in note
    run("tokens", "create", "--role", "issuer", "--name", "导入", "--body", body)
    listing, _ = run("tokens", "list")
    assert "全国联网查询" in listing and body in listing and secret[:12] in listing
    assert secret not in listing
    _, error = run("tokens", "create", "--role", "root", "--name", "x", code=2)
    assert "root" in error
    run("tokens", "revoke", secret[:12])
    listing, _ = run("tokens", "list")
    assert "revoked" in listing
    with runtime.db.transaction() as session, pytest.raises(Unauthenticated):
        authenticate(session, secret)
