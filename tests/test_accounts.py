"""Accounts: password hashing, log-in, lock-out, the per-address brake, roles; the CLI."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from certsvc.accounts import accounts
from certsvc.accounts.accounts import (
    ACCOUNT_FAILURE_LIMIT,
    ADDRESS_FAILURE_LIMIT,
    LOCKOUT_DURATION,
    LOCKOUT_THRESHOLD,
    change_password,
    create_account,
    load_principal,
    login,
)
from certsvc.accounts.audit import Actor
from certsvc.accounts.permissions import Permission
from certsvc.cli.main import cli
from certsvc.config import generate_secrets
from certsvc.errors import (
    AccountLocked,
    Conflict,
    InvalidInput,
    LoginFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from certsvc.models import Account, AuditEntry, utcnow
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, PASSWORD

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

ACTOR = Actor("test")


def new(
    runtime: Runtime, username: str, role: str = "issuer", body: str | None = BODY_CODE
) -> None:
    with runtime.db.transaction() as session:
        create_account(session, username, PASSWORD, role, body, actor=ACTOR)


def test_passwords_are_stored_as_scrypt_hashes(runtime: Runtime, body: str) -> None:
    new(runtime, "Alice")
    with runtime.db.session() as session:
        stored = session.scalar(select(Account).where(Account.username == "alice"))
    assert stored is not None and PASSWORD not in stored.password_hash
    assert stored.password_hash.startswith("scrypt:")
    who = login(runtime.db, "ALICE ", PASSWORD, ip="10.0.0.1")
    assert who.username == "alice" and who.body_code == BODY_CODE
    assert who.can(Permission.ISSUE) and not who.can(Permission.MANAGE_KEYS)


def test_production_hash_parameters() -> None:
    # The suite lowers the cost for speed (fast_password_hashing); production must not.
    import inspect
    import re

    source = inspect.getsource(accounts)
    assert re.search(r"^PASSWORD_HASH_METHOD = \"scrypt:32768:8:1\"  #", source, re.MULTILINE)


def test_wrong_and_unknown_users_get_the_same_answer(runtime: Runtime, body: str) -> None:
    new(runtime, "alice")
    with pytest.raises(LoginFailed) as wrong:
        login(runtime.db, "alice", "not the password", ip="10.0.0.1")
    with pytest.raises(LoginFailed) as unknown:
        login(runtime.db, "nobody", "not the password", ip="10.0.0.1")
    assert wrong.value.message == unknown.value.message


def test_lockout_after_consecutive_failures_then_it_expires(runtime: Runtime, body: str) -> None:
    new(runtime, "alice")
    now = utcnow()
    for _ in range(LOCKOUT_THRESHOLD - 1):
        with pytest.raises(LoginFailed):
            login(runtime.db, "alice", "wrong password", ip="10.0.0.1", now=now)
    with pytest.raises(AccountLocked) as locked:
        login(runtime.db, "alice", "wrong password", ip="10.0.0.1", now=now)
    assert locked.value.retry_after == int(LOCKOUT_DURATION.total_seconds())
    with pytest.raises(AccountLocked):  # the right password too, from that client
        login(runtime.db, "alice", PASSWORD, ip="10.0.0.1", now=now)
    later = now + LOCKOUT_DURATION + dt.timedelta(seconds=1)
    assert login(runtime.db, "alice", PASSWORD, ip="10.0.0.1", now=later).username == "alice"


def test_a_stranger_cannot_lock_a_real_user_out(runtime: Runtime, body: str) -> None:
    """Issue #13: the lock counts failures per client, so guesses from one address lock the
    name for that address only; the user logs in from theirs."""
    new(runtime, "alice")
    now = utcnow()
    for _ in range(LOCKOUT_THRESHOLD + 3):
        with pytest.raises((LoginFailed, AccountLocked)):
            login(runtime.db, "alice", "wrong password", ip="203.0.113.9", now=now)
    with pytest.raises(AccountLocked):
        login(runtime.db, "alice", PASSWORD, ip="203.0.113.9", now=now)
    assert login(runtime.db, "alice", PASSWORD, ip="10.0.0.1", now=now).username == "alice"


def test_a_guessing_network_locks_out_only_clients_the_account_has_not_used(
    runtime: Runtime, body: str
) -> None:
    new(runtime, "alice")
    now = utcnow()
    login(runtime.db, "alice", PASSWORD, ip="10.0.0.1", now=now - dt.timedelta(days=3))
    for n in range(ACCOUNT_FAILURE_LIMIT):  # one guess from each of many addresses
        with pytest.raises(AccountLocked if n == ACCOUNT_FAILURE_LIMIT - 1 else LoginFailed):
            login(runtime.db, "alice", "wrong", ip=f"198.51.{n // 200}.{n % 200}", now=now)
    with pytest.raises(AccountLocked):  # a new client, even with the right password
        login(runtime.db, "alice", PASSWORD, ip="192.0.2.1", now=now)
    assert login(runtime.db, "alice", PASSWORD, ip="10.0.0.1", now=now).username == "alice"
    # An admin's unlock lets new clients in again.
    with runtime.db.transaction() as session:
        accounts.unlock(session, "alice", body_id=None, actor=ACTOR, anywhere=True)
    later = utcnow()
    assert login(runtime.db, "alice", PASSWORD, ip="192.0.2.1", now=later).username == "alice"


def counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the password checks (each checked password is appended to the list)."""
    calls: list[str] = []
    real = accounts.check_password_hash

    def counted(stored: str, password: str) -> bool:
        calls.append(password)
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", counted)
    return calls


@pytest.mark.parametrize("locked", [False, True])
def test_known_and_unknown_names_take_the_same_path(
    runtime: Runtime, body: str, monkeypatch: pytest.MonkeyPatch, locked: bool
) -> None:
    """Issue #13: a locked account answered at once ("locked", no hash) while an unknown
    name ran scrypt ("wrong password"). Now both run exactly one password check and give
    the same answer, locked or not."""
    new(runtime, "alice")
    now = utcnow()
    answers: dict[str, tuple[type, str, int]] = {}
    for name, ip in (("alice", "10.0.0.1"), ("nobody", "10.0.0.2")):
        if locked:
            for _ in range(LOCKOUT_THRESHOLD):
                with pytest.raises((LoginFailed, AccountLocked)):
                    login(runtime.db, name, "wrong password", ip=ip, now=now)
        real = accounts.check_password_hash
        calls = counted_checks(monkeypatch)
        with pytest.raises((LoginFailed, AccountLocked)) as answer:
            login(runtime.db, name, "wrong password", ip=ip, now=now)
        monkeypatch.setattr(accounts, "check_password_hash", real)
        answers[name] = (type(answer.value), answer.value.message, len(calls))
    assert answers["alice"] == answers["nobody"]
    assert answers["alice"][2] == 1
    assert answers["alice"][0] is (AccountLocked if locked else LoginFailed)


def test_one_address_guessing_many_accounts_is_slowed_down(runtime: Runtime, body: str) -> None:
    new(runtime, "alice")
    for n in range(ADDRESS_FAILURE_LIMIT):
        with pytest.raises(LoginFailed):
            login(runtime.db, f"user{n}", "guess guess", ip="10.9.9.9")
    with pytest.raises(RateLimited):
        login(runtime.db, "alice", PASSWORD, ip="10.9.9.9")
    assert login(runtime.db, "alice", PASSWORD, ip="10.0.0.1").username == "alice"


def test_failed_log_ins_from_one_ipv6_64_count_together(runtime: Runtime, body: str) -> None:
    new(runtime, "alice")
    for n in range(ADDRESS_FAILURE_LIMIT):  # a new address of the same /64 every time
        with pytest.raises(LoginFailed):
            login(runtime.db, f"user{n}", "guess guess", ip=f"2001:db8:7:7::{n + 1:x}")
    with pytest.raises(RateLimited):
        login(runtime.db, "alice", PASSWORD, ip="2001:db8:7:7:ffff::1")
    assert login(runtime.db, "alice", PASSWORD, ip="2001:db8:7:8::1").username == "alice"
    with runtime.db.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.outcome == "failed").order_by(AuditEntry.id)
        ).first()
    assert entry is not None and entry.ip == "2001:db8:7:7::1"  # the audit keeps the address
    assert entry.detail["client"] == "2001:db8:7:7::/64"


def test_failed_log_ins_as_ipv4_and_ipv4_mapped_count_together(runtime: Runtime, body: str) -> None:
    new(runtime, "alice")
    for n in range(ADDRESS_FAILURE_LIMIT):
        address = "::ffff:10.9.9.9" if n % 2 else "10.9.9.9"
        with pytest.raises(LoginFailed):
            login(runtime.db, f"user{n}", "guess guess", ip=address)
    with pytest.raises(RateLimited):
        login(runtime.db, "alice", PASSWORD, ip="10.9.9.9")


def test_a_changed_password_ends_older_sessions(runtime: Runtime, body: str) -> None:
    new(runtime, "alice")
    who = login(runtime.db, "alice", PASSWORD, ip="10.0.0.1")
    with runtime.db.transaction() as session, pytest.raises(InvalidInput):
        change_password(session, who.account_id, "wrong", "another password", actor=ACTOR)
    with runtime.db.transaction() as session:
        updated = change_password(
            session, who.account_id, PASSWORD, "another password", actor=ACTOR
        )
    with runtime.db.session() as session:
        assert load_principal(session, who.account_id, who.stamp) is None
        assert load_principal(session, who.account_id, updated.stamp) == updated


@pytest.mark.parametrize(
    ("username", "role", "body_code", "error"),
    [
        ("alice", "issuer", None, InvalidInput),  # a body role needs a body
        ("ops", "operator", BODY_CODE, InvalidInput),  # a platform role has none
        ("x", "viewer", BODY_CODE, InvalidInput),  # too short a name
        ("bob", "root", BODY_CODE, InvalidInput),
        ("bob", "viewer", "Y000999110001", NotFound),
    ],
)
def test_account_rules(
    runtime: Runtime, body: str, username: str, role: str, body_code: str | None, error: type
) -> None:
    with runtime.db.transaction() as session, pytest.raises(error):
        create_account(session, username, PASSWORD, role, body_code, actor=ACTOR)


def test_duplicate_and_weak(runtime: Runtime, body: str) -> None:
    new(runtime, "alice")
    with runtime.db.transaction() as session, pytest.raises(Conflict):
        create_account(session, "ALICE", PASSWORD, "viewer", BODY_CODE, actor=ACTOR)
    with runtime.db.transaction() as session, pytest.raises(InvalidInput):
        create_account(session, "carol", "carol", "viewer", BODY_CODE, actor=ACTOR)


def test_cli_create_prompts_for_a_hidden_confirmed_password(
    runtime: Runtime, body: str, database_url: str, tmp_path: Path, runner: CliRunner
) -> None:
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": database_url,
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
    }
    result = runner.invoke(
        cli,
        ["account", "create", "--username", "hr.admin", "--role", "admin", "--body", BODY_CODE],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "created account hr.admin (admin of Y000132010001)" in result.output
    assert PASSWORD not in result.output  # the prompt does not echo
    mismatch = runner.invoke(
        cli,
        ["account", "create", "--username", "x.y", "--role", "operator"],
        input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
        env=env,
    )
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output
    weak = runner.invoke(
        cli,
        ["account", "create", "--username", "weak", "--role", "operator"],
        input="short\nshort\n",
        env=env,
    )
    assert weak.exit_code == 65 and "at least 10" in weak.output
    listing = runner.invoke(cli, ["account", "list"], env=env)
    assert listing.exit_code == 0
    assert (
        "hr.admin" in listing.output
        and "x.y" in listing.output
        and "Y000132010001" in listing.output
    )
    assert "weak" not in listing.output
    unlock = runner.invoke(cli, ["account", "unlock", "hr.admin"], env=env)
    assert unlock.exit_code == 0 and "unlocked hr.admin" in unlock.output


def test_cli_reset_password_sets_a_new_one_and_ends_every_session(
    runtime: Runtime, body: str, database_url: str, tmp_path: Path
) -> None:
    """Issue #13: there was no way to reset a forgotten password. The command line resets
    any account; the reset is audited, lifts a lock-out and ends the account's sessions."""
    new(runtime, "alice")
    who = login(runtime.db, "alice", PASSWORD, ip="10.0.0.1")
    for _ in range(LOCKOUT_THRESHOLD):
        with pytest.raises((LoginFailed, AccountLocked)):
            login(runtime.db, "alice", "wrong password", ip="10.0.0.1")
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": database_url,
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
    }
    fresh = "a brand new passphrase"
    result = CliRunner().invoke(
        cli, ["account", "reset-password", "ALICE"], input=f"{fresh}\n{fresh}\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "new password set for alice" in result.output and fresh not in result.output
    with runtime.db.session() as session:
        assert load_principal(session, who.account_id, who.stamp) is None  # session ended
        entry = session.scalar(
            select(AuditEntry).where(AuditEntry.action == "account.password_reset")
        )
    assert entry is not None and entry.target == "alice" and fresh not in str(entry.detail)
    with pytest.raises(LoginFailed):
        login(runtime.db, "alice", PASSWORD, ip="10.0.0.2")
    assert login(runtime.db, "alice", fresh, ip="10.0.0.1").username == "alice"  # unlocked
    unknown = CliRunner().invoke(
        cli, ["account", "reset-password", "nobody"], input=f"{fresh}\n{fresh}\n", env=env
    )
    assert unknown.exit_code != 0 and "no account nobody" in unknown.output


def test_a_body_admin_resets_only_its_own_bodys_accounts(runtime: Runtime, body: str) -> None:
    new(runtime, "boss", role="admin")
    new(runtime, "alice")
    new(runtime, "root", role="operator", body=None)
    with runtime.db.session() as session:
        boss = session.scalar(select(Account).where(Account.username == "boss"))
        assert boss is not None
        boss_id, body_id = boss.id, boss.body_id
    actor = Actor("boss", account_id=boss_id)
    with runtime.db.transaction() as session:
        accounts.reset_password(
            session, "alice", "another passphrase", body_id=body_id, actor=actor
        )
    with runtime.db.transaction() as session, pytest.raises(NotFound):
        accounts.reset_password(session, "root", "another passphrase", body_id=body_id, actor=actor)
    with runtime.db.transaction() as session, pytest.raises(PermissionDenied):
        accounts.reset_password(session, "boss", "another passphrase", body_id=body_id, actor=actor)
    assert login(runtime.db, "alice", "another passphrase", ip="10.0.0.1").username == "alice"


def test_an_operators_body_admin_waits_for_another_operator(
    runtime: Runtime, body: str, database_url: str, tmp_path: Path
) -> None:
    """Issue #13: an operator could create a body's admin (or issuer) and act as the body.
    Now the admin it creates cannot log in until another operator, or the command line,
    activates it; the creator cannot, and every step is audited."""
    new(runtime, "op.one", role="operator", body=None)
    new(runtime, "op.two", role="operator", body=None)
    with runtime.db.session() as session:
        ids = dict(session.execute(select(Account.username, Account.id)).all())
    with runtime.db.transaction() as session:
        created = accounts.create_body_admin(
            session, "b.admin", PASSWORD, BODY_CODE, actor=Actor("op.one", account_id=ids["op.one"])
        )
        assert created.role == "admin" and created.pending
        pending_id = created.id
    with pytest.raises(LoginFailed, match="not activated"):
        login(runtime.db, "b.admin", PASSWORD, ip="10.0.0.1")
    with runtime.db.transaction() as session, pytest.raises(PermissionDenied):
        accounts.activate(session, pending_id, actor=Actor("op.one", account_id=ids["op.one"]))
    with runtime.db.transaction() as session:
        accounts.activate(session, pending_id, actor=Actor("op.two", account_id=ids["op.two"]))
    assert login(runtime.db, "b.admin", PASSWORD, ip="10.0.0.1").role == "admin"
    assert failures_from(runtime, actor="b.admin") == {"pending": 1, "ok": 1}
    # The command line (which already holds every key) may activate on its own.
    with runtime.db.transaction() as session:
        accounts.create_body_admin(
            session, "c.admin", PASSWORD, BODY_CODE, actor=Actor("op.one", account_id=ids["op.one"])
        )
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": database_url,
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
    }
    result = CliRunner().invoke(cli, ["account", "activate", "c.admin"], env=env)
    assert result.exit_code == 0 and "activated c.admin" in result.output
    assert login(runtime.db, "c.admin", PASSWORD, ip="10.0.0.1").username == "c.admin"
    with runtime.db.session() as session:
        activations = session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "account.activate")
        ).all()
    assert sorted(activations) == ["b.admin", "c.admin"]


# --- concurrent log-ins -------------------------------------------------------------------
# The brakes must hold when attempts arrive together, as a guessing script sends them: each
# attempt runs in its own transaction (login opens one per call), and the password check is
# slowed down so that, without serialisation, every attempt would read the counts before any
# other had recorded its failure.

CHECK_SECONDS = 0.1


def slow_counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every password check take CHECK_SECONDS; the hashes checked, in order."""
    checked: list[str] = []
    lock = threading.Lock()
    real = accounts.check_password_hash

    def check(stored: str, password: str) -> bool:
        with lock:
            checked.append(stored)
        time.sleep(CHECK_SECONDS)
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", check)
    return checked


def together(attempts: list[Callable[[], object]]) -> list[object]:
    """Run the attempts in threads started at once; each one's result or exception."""
    barrier = threading.Barrier(len(attempts))

    def run(attempt: Callable[[], object]) -> object:
        barrier.wait(timeout=30)
        try:
            return attempt()
        except Exception as exc:  # the outcome is what the test checks
            return exc

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(run, attempts))


def failures_from(runtime: Runtime, **where: str) -> dict[str, int]:
    """Log-in audit entries by outcome, for one actor and/or address."""
    query = select(AuditEntry.outcome, func.count()).where(AuditEntry.action == "login")
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    with runtime.db.session() as session:
        return {outcome: n for outcome, n in session.execute(query.group_by(AuditEntry.outcome))}


def test_parallel_attempts_on_one_account_lock_it_after_the_threshold(
    runtime: Runtime, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guesses at one account from one client at once: only LOCKOUT_THRESHOLD of them count
    as failures, the name ends locked for that client (every attempt still runs its one
    password check, so the answer's time tells nothing), other clients are not locked."""
    new(runtime, "alice")
    checked = slow_counted_checks(monkeypatch)
    now = utcnow()
    outcomes = together(
        [
            partial(login, runtime.db, "alice", "wrong password", ip="10.1.0.7", now=now)
            for n in range(16)
        ]
    )
    assert len(checked) == 16
    kinds = [type(o) for o in outcomes]
    assert kinds.count(LoginFailed) == LOCKOUT_THRESHOLD - 1
    assert kinds.count(AccountLocked) == 16 - (LOCKOUT_THRESHOLD - 1)
    assert failures_from(runtime, actor="alice") == {
        "failed": LOCKOUT_THRESHOLD,
        "locked": 16 - LOCKOUT_THRESHOLD,
    }
    with runtime.db.session() as session:
        stored = session.scalar(select(Account).where(Account.username == "alice"))
    assert stored is not None and stored.locked_until is not None
    assert stored.locked_until > now  # shown to the body's admins, who can lift it
    with pytest.raises(AccountLocked):  # the right password too, until the lock expires
        login(runtime.db, "alice", PASSWORD, ip="10.1.0.7", now=now)
    assert login(runtime.db, "alice", PASSWORD, ip="10.0.0.1", now=now).username == "alice"


@pytest.mark.parametrize("network", ["10.9.9.9", "2001:db8:9:9::"])
def test_parallel_attempts_from_one_client_stop_at_its_limit(
    runtime: Runtime, body: str, monkeypatch: pytest.MonkeyPatch, network: str
) -> None:
    """Guesses from one client at once (an IPv4 address, or many addresses of one IPv6 /64),
    each at another user name (known or not): only ADDRESS_FAILURE_LIMIT are checked, the
    rest are refused."""
    for n in range(4):
        new(runtime, f"known{n}")
    checked = slow_counted_checks(monkeypatch)
    attempts = ADDRESS_FAILURE_LIMIT + 8
    names = [f"known{n}" if n < 4 else f"user{n}" for n in range(attempts)]
    ips = [network if ":" not in network else f"{network}{n + 1:x}" for n in range(attempts)]
    outcomes = together(
        [
            partial(login, runtime.db, name, "guess guess", ip=ip)
            for name, ip in zip(names, ips, strict=True)
        ]
    )
    assert len(checked) == ADDRESS_FAILURE_LIMIT
    kinds = [type(o) for o in outcomes]
    assert kinds.count(LoginFailed) == ADDRESS_FAILURE_LIMIT
    assert kinds.count(RateLimited) == attempts - ADDRESS_FAILURE_LIMIT
    assert failures_from(runtime) == {
        "failed": ADDRESS_FAILURE_LIMIT,
        "rate_limited": attempts - ADDRESS_FAILURE_LIMIT,
    }


def hold_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[threading.Event, threading.Event, list[str]]:
    """Make the password check of the guess "held guess" wait inside until ``release`` is
    set (``inside`` says it got there); every checked password is appended to the list."""
    inside, release = threading.Event(), threading.Event()
    checked: list[str] = []
    real = accounts.check_password_hash

    def check(stored: str, password: str) -> bool:
        checked.append(password)
        if password == "held guess":
            inside.set()
            assert release.wait(timeout=30)
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", check)
    return inside, release, checked


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite serialises every writer anyway
def test_a_slow_log_in_holds_up_neither_other_addresses_nor_other_accounts(
    runtime: Runtime, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The locks are per address and per account: while one attempt is inside its password
    check, log-ins from other addresses to other accounts (or unknown ones) go through."""
    new(runtime, "alice")
    new(runtime, "bob")
    inside, release, _ = hold_the_check(monkeypatch)
    with ThreadPoolExecutor(3) as pool:
        held = pool.submit(login, runtime.db, "alice", "held guess", ip="10.1.1.1")
        try:
            assert inside.wait(timeout=10)
            bob = pool.submit(login, runtime.db, "bob", PASSWORD, ip="10.2.2.2")
            nobody = pool.submit(login, runtime.db, "nobody", "guess", ip="10.3.3.3")
            assert bob.result(timeout=5).username == "bob"  # TimeoutError: it waited
            with pytest.raises(LoginFailed):
                nobody.result(timeout=5)
        finally:
            release.set()  # before the pool waits for its threads
        with pytest.raises(LoginFailed):
            held.result(timeout=10)


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_parallel_guesses_at_one_name_queue_whether_it_has_an_account_or_not(
    runtime: Runtime, body: str, monkeypatch: pytest.MonkeyPatch, username: str
) -> None:
    """A second guess at a name waits until the first is decided, from another address too,
    and as long for a name without an account: the wait does not tell which names exist."""
    new(runtime, "alice")
    inside, release, checked = hold_the_check(monkeypatch)
    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(login, runtime.db, username, "held guess", ip="10.1.1.1")
        try:
            assert inside.wait(timeout=10)
            second = pool.submit(login, runtime.db, username, "second guess", ip="10.2.2.2")
            # Were it not queued, it would reach the check (and finish) well within this.
            finished, _ = wait([second], timeout=0.5)
            assert checked == ["held guess"] and not finished
        finally:
            release.set()
        for attempt in (held, second):
            with pytest.raises(LoginFailed):
                attempt.result(timeout=10)
    assert checked == ["held guess", "second guess"]
