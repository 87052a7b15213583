"""Console accounts: create and manage them, password hashing, log-in with lock-out.

What each role may do is :mod:`certsvc.accounts.permissions`.

No platform role can act as a body, nor read every body's ID numbers, on its own:

- an operator creates only ``admin`` accounts of a body, and each starts **pending**: it
  cannot log in until :func:`activate` — a deliberate, audited step by *another* operator
  in the console, or at the server's command line — lets it. The operator never gets a
  body's issuer role or its key, and cannot reset a body account's password;
- registry tokens (clear ID numbers of every body) are minted by ``registry_admin``, which
  cannot create accounts or bodies; the operator cannot mint them;
- platform accounts themselves are created only at the command line, so an operator cannot
  make a second operator (to activate its own admins) or a registry admin.

Passwords are hashed with scrypt by Werkzeug (``scrypt:32768:8:1``), which compares in
constant time. Every log-in that gets past the client brake runs exactly one scrypt — for
a known or an unknown user name, locked or not — and a lock-out answers the same for both,
so neither the answer nor its time tells which user names exist.

The brakes, per client before per account, so a stranger cannot lock a real user out:

1. a client with :data:`ADDRESS_FAILURE_LIMIT` failed or refused log-ins within
   :data:`ADDRESS_WINDOW` is refused (429) whatever name it tries, without a password check;
2. :data:`LOCKOUT_THRESHOLD` failures at one user name *from one client* lock that name for
   that client for :data:`LOCKOUT_DURATION` — other clients, the real user's among them,
   are not affected;
3. :data:`ACCOUNT_FAILURE_LIMIT` failures at one name from all clients (a guessing network)
   lock it for every client that has not logged in to it within :data:`KNOWN_CLIENT_PERIOD`.

An admin's unlock (:func:`unlock`) ends locks 2 and 3. A client is an IPv4 address or an
IPv6 /64, as for the rate limits (:func:`certsvc.accounts.addresses.client_key`): the audit
entry of an attempt keeps the full address in ``ip`` and the client in ``detail["client"]``.
Every count is read from the audit log, so every app server enforces the same counts, and
they hold for attempts that arrive together: see :func:`_attempt` for the locks that
serialise them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from functools import cache

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from certsvc.accounts import audit
from certsvc.accounts.addresses import client_key
from certsvc.accounts.permissions import BODY_ROLES, ROLES, Permission, permissions_of
from certsvc.db import Database
from certsvc.domain.ids import redact_id_numbers
from certsvc.domain.text import check_text
from certsvc.errors import (
    AccountLocked,
    CertsvcError,
    Conflict,
    InvalidInput,
    LoginFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from certsvc.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, Message, plural
from certsvc.models import Account, AuditEntry, CertificationBody, utcnow

__all__ = [
    "Principal",
    "activate",
    "change_password",
    "create_account",
    "create_body_admin",
    "hash_password",
    "list_accounts",
    "load_principal",
    "login",
    "reset_password",
    "set_disabled",
    "set_language",
    "unlock",
]


#: Failed log-ins at one user name from one client that lock it for that client, and for
#: how long (a sliding window: the lock ends when the oldest of them is this old).
LOCKOUT_THRESHOLD = 5
LOCKOUT_DURATION = dt.timedelta(minutes=15)
#: Failed log-ins from one client — IPv4 address or IPv6 /64 — (any account) that make it wait.
ADDRESS_FAILURE_LIMIT = 20
ADDRESS_WINDOW = dt.timedelta(minutes=15)
#: Failed log-ins at one user name from all clients within ADDRESS_WINDOW (a guessing
#: network) after which only clients that logged in to it before may try.
ACCOUNT_FAILURE_LIMIT = 50
#: How long a client that logged in to an account stays "known" to it.
KNOWN_CLIENT_PERIOD = dt.timedelta(days=90)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
#: Werkzeug's scrypt with N=2^15, r=8, p=1 (32 MiB, a few hundred ms per hash).
PASSWORD_HASH_METHOD = "scrypt:32768:8:1"  # noqa: S105 — a method, not a password
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,99}$")


@dataclass(frozen=True)
class Principal:
    """Who a console session is: the account, its role and body, and the session stamp."""

    account_id: int
    username: str
    role: str
    body_id: int | None
    body_code: str | None
    #: Changes when the password, role or body changes, or at log-out: older sessions stop
    #: working.
    stamp: str
    #: The console's language for this account (``zh`` or ``en``).
    language: str = DEFAULT_LANGUAGE

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.role)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


# --- passwords ----------------------------------------------------------------------------


def check_password_rules(password: str, username: str = "") -> None:
    """Raise InvalidInput when ``password`` is too short, too long or the user name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            N_("the password needs at least {minimum} characters"), minimum=MIN_PASSWORD_LENGTH
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            N_("the password may have at most {maximum} characters"), maximum=MAX_PASSWORD_LENGTH
        )
    if username and password.strip().casefold() == username.casefold():
        raise InvalidInput(N_("the password must not be the user name"))


def hash_password(password: str) -> str:
    """The stored form of a password: Werkzeug's scrypt hash with a random salt."""
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


@cache
def _dummy_hash() -> str:
    return hash_password("certsvc-dummy-password")


def _stamp(account: Account) -> str:
    material = (
        f"{account.id}|{account.password_hash}|{account.role}|{account.body_id}"
        f"|{account.session_epoch}"
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def end_sessions(session: Session, account_id: int) -> None:
    """End every console session of the account (log-out): cookies already issued, copies
    included, no longer match its stamp. The next log-in starts a new one."""
    session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(session_epoch=Account.session_epoch + 1)
    )


def _normalize_username(username: str) -> str:
    return username.strip().lower()


# --- log-in -------------------------------------------------------------------------------


def login(
    db: Database, username: str, password: str, *, ip: str, now: dt.datetime | None = None
) -> Principal:
    """Check a user name and password; the :class:`Principal` for the new session.

    Every attempt is written to the audit log. Raises :class:`LoginFailed` (unknown user,
    wrong password or disabled account — the message never says which),
    :class:`AccountLocked` or :class:`RateLimited`. The failure counts are committed even
    though the call raises.
    """
    now = now or utcnow()
    with db.transaction() as session:
        outcome = _attempt(session, _normalize_username(username), password, ip, now)
    if isinstance(outcome, CertsvcError):
        raise outcome
    return outcome


def _attempt(
    session: Session, username: str, password: str, ip: str, now: dt.datetime
) -> Principal | CertsvcError:
    # Parallel attempts (a guessing script sends them together) must each see the failures
    # of the ones before, or no brake holds: every attempt would read the counts before
    # any other recorded its failure. Two locks, always taken in this order (so no deadlock),
    # serialise the attempts that share a count, from the count until the commit:
    # - the client (an IPv4 address or an IPv6 /64), for the per-client failure count;
    # - the account row (SELECT … FOR UPDATE), for the counts of failures at the name; for
    #   a user name without an account, a lock on the name, so that parallel guesses at it
    #   queue as they would at an account and the wait does not tell which names exist.
    # Both are held through the slow password check on purpose: a failure is only known
    # after it, and the next attempt must not start checking before it is recorded. So
    # attempts from one address, and attempts at one account, run one after another; others
    # do not wait. The client brake bounds the queue: once it trips, attempts return without
    # a hash (it does not depend on the name, so it tells nothing about names). On SQLite
    # the whole transaction is already serial (BEGIN IMMEDIATE) and both locks are no-ops.
    # This relies on READ COMMITTED (PostgreSQL's default, which db.make_engine keeps):
    # each statement after a lock wait sees what its holder committed.
    client = client_key(ip)
    name = username[:100] or "?"
    _advisory_lock(session, _ADDRESS_LOCKS, client)  # what the count counts, not the address
    # What was typed, for an unknown name: people type their ID number as a user name.
    who = audit.Actor(name=redact_id_numbers(username)[:100] or "?", ip=ip)
    # 1. The client brake gates first: refused attempts at a locked name count too, so a
    #    client gets ADDRESS_FAILURE_LIMIT password checks per window, whatever the names.
    if _client_failures(session, client, now) >= ADDRESS_FAILURE_LIMIT:
        audit.record(
            session, who, "login", outcome="rate_limited", detail={"client": client}, at=now
        )
        minutes = int(ADDRESS_WINDOW.total_seconds() // 60)
        return RateLimited(
            plural(
                "too many failed log-ins from this address; wait {n} minute and try again",
                "too many failed log-ins from this address; wait {n} minutes and try again",
                minutes,
            ),
            retry_after=int(ADDRESS_WINDOW.total_seconds()),
        )
    account = session.scalar(select(Account).where(Account.username == username).with_for_update())
    if account is None:
        _advisory_lock(session, _NAME_LOCKS, username)  # same queue as for a real account
    else:
        who = audit.Actor(name=name, ip=ip, account_id=account.id)
    body_id = account.body_id if account is not None else None
    # 2. Exactly one password check on every path from here — a known name or not, locked
    #    or not — so neither the answer nor its time tells which names exist.
    matches = check_password_hash(
        account.password_hash if account is not None else _dummy_hash(), password
    )
    locked_until = _locked_until(session, name, client, now)
    if locked_until is not None:
        audit.record(
            session,
            who,
            "login",
            body_id=body_id,
            outcome="locked",
            detail={"client": client},
            at=now,
        )
        return _locked(locked_until, now)
    if account is None or not matches:
        audit.record(
            session,
            who,
            "login",
            body_id=body_id,
            outcome="failed",
            detail={"reason": "unknown" if account is None else "password", "client": client},
            at=now,
        )
        session.flush()
        locked_until = _locked_until(session, name, client, now)
        if locked_until is not None:
            if account is not None:  # shown to its admins, who can lift it
                account.locked_until = locked_until
            return _locked(locked_until, now)
        return _wrong()
    if account.disabled:
        audit.record(
            session,
            who,
            "login",
            body_id=body_id,
            outcome="disabled",
            detail={"client": client},
            at=now,
        )
        return LoginFailed(N_("this account is disabled; ask an administrator of your body"))
    if account.pending:
        audit.record(
            session,
            who,
            "login",
            body_id=body_id,
            outcome="pending",
            detail={"client": client},
            at=now,
        )
        return LoginFailed(
            N_("this account is not activated yet: a second platform operator must activate it")
        )
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    if not account.password_hash.startswith(PASSWORD_HASH_METHOD + "$"):
        account.password_hash = hash_password(password)  # upgrade old hashes on the way
    session.flush()
    audit.record(session, who, "login", body_id=body_id, detail={"client": client}, at=now)
    return _principal(session, account)


def _client_failures(session: Session, client: str, now: dt.datetime) -> int:
    """Failed and refused log-ins from ``client`` within the window, at any name."""
    found = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "login",
            AuditEntry.outcome.in_(("failed", "locked")),
            AuditEntry.occurred_at >= now - ADDRESS_WINDOW,
            AuditEntry.detail["client"].as_string() == client,
        )
    )
    return int(found or 0)


def _locked_until(session: Session, name: str, client: str, now: dt.datetime) -> dt.datetime | None:
    """Until when log-ins at ``name`` from ``client`` are refused, or None.

    Two locks, both computed from the audit log, so they are the same for a name with an
    account and one without:

    - per client: :data:`LOCKOUT_THRESHOLD` failures at the name *from this client* within
      :data:`LOCKOUT_DURATION`. Another client's failures never lock the account for you,
      so a stranger cannot keep a real user out; a success from the client or an admin's
      unlock starts the count again.
    - per name, from every client: :data:`ACCOUNT_FAILURE_LIMIT` failures within the
      window (guessing from many addresses). It refuses only clients that have never
      logged in to the account (within :data:`KNOWN_CLIENT_PERIOD`): the real user, from
      the network they use, still gets in. An admin's unlock starts this count again too.
    """
    unlock = _last(session, name, now, action="account.unlock")
    own = _failure_times(
        session,
        name,
        now,
        since=max(unlock, _last(session, name, now, client=client)),
        client=client,
        limit=LOCKOUT_THRESHOLD,
    )
    until: list[dt.datetime] = []
    if len(own) >= LOCKOUT_THRESHOLD:
        until.append(own[-1] + LOCKOUT_DURATION)
    everyone = _failure_times(session, name, now, since=unlock, limit=ACCOUNT_FAILURE_LIMIT)
    if len(everyone) >= ACCOUNT_FAILURE_LIMIT and not _known_client(session, name, client, now):
        until.append(everyone[-1] + LOCKOUT_DURATION)
    return max(until) if until else None


def _failure_times(
    session: Session,
    name: str,
    now: dt.datetime,
    *,
    since: dt.datetime,
    limit: int,
    client: str | None = None,
) -> list[dt.datetime]:
    """The newest ``limit`` failure times at ``name`` (from ``client``) after ``since``."""
    query = select(AuditEntry.occurred_at).where(
        AuditEntry.action == "login",
        AuditEntry.outcome == "failed",
        AuditEntry.actor == name,
        AuditEntry.occurred_at > max(since, now - LOCKOUT_DURATION),
        AuditEntry.occurred_at <= now,
    )
    if client is not None:
        query = query.where(AuditEntry.detail["client"].as_string() == client)
    return list(session.scalars(query.order_by(AuditEntry.occurred_at.desc()).limit(limit)))


def _last(
    session: Session,
    name: str,
    now: dt.datetime,
    *,
    action: str = "login",
    client: str | None = None,
) -> dt.datetime:
    """When ``name`` last logged in (from ``client``) or was unlocked; long ago if never."""
    query = select(func.max(AuditEntry.occurred_at)).where(
        AuditEntry.action == action,
        AuditEntry.outcome == "ok",
        AuditEntry.occurred_at > now - KNOWN_CLIENT_PERIOD,
        AuditEntry.occurred_at <= now,
    )
    if action == "login":
        query = query.where(AuditEntry.actor == name)
    else:
        query = query.where(AuditEntry.target == name)
    if client is not None:
        query = query.where(AuditEntry.detail["client"].as_string() == client)
    found = session.scalar(query)
    return found if found is not None else now - KNOWN_CLIENT_PERIOD


def _known_client(session: Session, name: str, client: str, now: dt.datetime) -> bool:
    """Whether ``client`` logged in to ``name`` within :data:`KNOWN_CLIENT_PERIOD`."""
    return _last(session, name, now, client=client) > now - KNOWN_CLIENT_PERIOD


#: First keys of the advisory locks on client addresses and on user names without an
#: account (the second key is the text's hash), kept apart from each other and from any
#: advisory lock taken for something else.
_ADDRESS_LOCKS = 0x63657274  # "cert"
_NAME_LOCKS = 0x63657275
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))")


def _advisory_lock(session: Session, space: int, key: str) -> None:
    """Serialise log-in attempts on ``key`` until this transaction ends (PostgreSQL only).

    For the per-address brake: its count is a count of failure entries in the audit log,
    and a failure is only known after the password check, so the count, the check and the
    recording of the outcome must be one critical section per address. A transaction-scoped
    advisory lock makes it one without a new table, and is released at commit or rollback,
    even when the connection dies. (The alternative, a counter row per address bumped by one
    atomic statement before the check, needs its own table and migration, and a refund
    when the password is right.) Two keys share a lock only if their 32-bit hashes collide,
    which merely makes them wait for each other.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_ADVISORY_LOCK, {"space": space, "key": key})


def _wrong() -> LoginFailed:
    return LoginFailed(N_("wrong user name or password"))


def _locked(until: dt.datetime, now: dt.datetime) -> AccountLocked:
    seconds = max(1, int((until - now).total_seconds()))
    minutes = max(1, (seconds + 59) // 60)
    return AccountLocked(
        plural(
            "too many failed log-ins with this user name: wait {n} minute and try again, or "
            "ask an administrator to unlock the account",
            "too many failed log-ins with this user name: wait {n} minutes and try again, or "
            "ask an administrator to unlock the account",
            minutes,
        ),
        retry_after=seconds,
    )


def _principal(session: Session, account: Account) -> Principal:
    body_code = None
    if account.body_id is not None:
        body = session.get(CertificationBody, account.body_id)
        body_code = body.code if body is not None else None
    return Principal(
        account_id=account.id,
        username=account.username,
        role=account.role,
        body_id=account.body_id,
        body_code=body_code,
        stamp=_stamp(account),
        language=account.language,
    )


def load_principal(session: Session, account_id: int, stamp: str) -> Principal | None:
    """The principal of a stored session, or None when it no longer holds.

    A session ends when the account is disabled, its password, role or body changed, or it
    logged out (:func:`end_sessions`).
    """
    account = session.get(Account, account_id)
    if account is None or account.disabled or account.pending or _stamp(account) != stamp:
        return None
    return _principal(session, account)


# --- managing accounts --------------------------------------------------------------------


def create_account(
    session: Session,
    username: str,
    password: str,
    role: str,
    body_code: str | None = None,
    *,
    actor: audit.Actor,
    pending: bool = False,
) -> Account:
    """Create an account; body roles need a body, platform roles must not have one.

    ``pending`` accounts cannot log in until :func:`activate` (an operator's body admins).
    """
    username = _normalize_username(username)
    if not _USERNAME_RE.match(username):
        raise InvalidInput(
            N_(
                "a user name has 3 to 100 characters: letters, digits, '.', '_', '@' or '-', "
                "starting with a letter or digit"
            )
        )
    check_text(Message(N_("user name")), username)  # shown and audited: never a person's ID number
    if role not in ROLES:
        raise InvalidInput(
            N_("unknown role {role}; use one of {roles}"), role=repr(role), roles=", ".join(ROLES)
        )
    check_password_rules(password, username)
    body_id = None
    if role in BODY_ROLES:
        if not body_code:
            raise InvalidInput(
                N_("an account with the role {role} belongs to a body: give its code"), role=role
            )
        body = session.scalar(
            select(CertificationBody).where(CertificationBody.code == body_code.strip().upper())
        )
        if body is None:
            raise NotFound(N_("no certification body with code {code}"), code=body_code)
        body_id = body.id
    elif body_code:
        raise InvalidInput(
            N_("an account with the role {role} is platform-wide; do not give a body"), role=role
        )
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict(N_("the user name {username} is taken"), username=username)
    account = Account(
        username=username,
        password_hash=hash_password(password),
        role=role,
        body_id=body_id,
        disabled=False,
        failed_logins=0,
        pending=pending,
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor,
        "account.create",
        body_id=body_id,
        target=username,
        detail={"role": role, "pending": pending},
    )
    return account


def create_body_admin(
    session: Session, username: str, password: str, body_code: str, *, actor: audit.Actor
) -> Account:
    """An operator's one way into a body: its admin, **pending** until someone else activates
    it (:func:`activate`). Issuers and viewers are the body admins' to create."""
    return create_account(
        session, username, password, "admin", body_code, actor=actor, pending=True
    )


def activate(
    session: Session, account_id: int, *, actor: audit.Actor, at_command_line: bool = False
) -> Account:
    """Activate a pending body admin: the deliberate, audited second step after creation.

    In the console the activating operator must not be the one who created the account (four
    eyes); at the server's command line (``certsvc account activate``), which already holds
    every key, one person may do both. Raises NotFound for an account that is not pending,
    PermissionDenied for the creator.
    """
    account = session.get(Account, account_id)
    if account is None or not account.pending:
        raise NotFound(N_("no account {account} waiting for activation"), account=account_id)
    if not at_command_line:
        creator = session.scalar(
            select(AuditEntry.account_id)
            .where(AuditEntry.action == "account.create", AuditEntry.target == account.username)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        if creator is None or creator == actor.account_id:
            raise PermissionDenied(
                N_(
                    "you created this account: another operator must activate it (four eyes), "
                    "or activate it with `certsvc account activate` on the server"
                )
            )
    account.pending = False
    audit.record(
        session, actor, "account.activate", body_id=account.body_id, target=account.username
    )
    return account


def reset_password(
    session: Session,
    username: str,
    new: str,
    *,
    body_id: int | None,
    actor: audit.Actor,
    anywhere: bool = False,
) -> Account:
    """Set a new password for an account of ``body_id`` (any account with ``anywhere``).

    For a person who forgot theirs: a body admin over the body's accounts (console), the
    command line over every account. Every session of the account ends, any lock-out is
    lifted, and the reset is audited (never the password). Nobody resets their own this
    way: :func:`change_password` asks for the current one.
    """
    account = session.scalar(
        select(Account).where(Account.username == _normalize_username(username))
    )
    if account is None or (not anywhere and account.body_id != body_id):
        raise NotFound(N_("no account {account} here"), account=username)
    if account.id == actor.account_id:
        raise PermissionDenied(N_("change your own password on the password page instead"))
    check_password_rules(new, account.username)
    account.password_hash = hash_password(new)
    account.locked_until = None
    account.failed_logins = 0
    session.flush()
    end_sessions(session, account.id)
    audit.record(
        session, actor, "account.password_reset", body_id=account.body_id, target=account.username
    )
    # A reset lifts the lock-outs read from the audit log too, as an unlock does.
    audit.record(session, actor, "account.unlock", body_id=account.body_id, target=account.username)
    return account


def list_accounts(session: Session, body_id: int | None) -> list[Account]:
    """The accounts of one body (``body_id``), or the platform accounts (``None``)."""
    query = select(Account).order_by(Account.username)
    query = query.where(
        Account.body_id.is_(None) if body_id is None else Account.body_id == body_id
    )
    return list(session.scalars(query))


def _account_in(session: Session, account_id: int, body_id: int | None) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.body_id != body_id:
        raise NotFound(N_("no account {account} here"), account=account_id)
    return account


def set_disabled(
    session: Session, account_id: int, disabled: bool, *, body_id: int | None, actor: audit.Actor
) -> Account:
    """Disable or enable an account of ``body_id``; nobody disables their own account."""
    account = _account_in(session, account_id, body_id)
    if disabled and account.id == actor.account_id:
        raise PermissionDenied(N_("you cannot disable your own account"))
    account.disabled = disabled
    audit.record(
        session,
        actor,
        "account.disable" if disabled else "account.enable",
        body_id=account.body_id,
        target=account.username,
    )
    return account


def set_language(session: Session, account_id: int, language: str) -> Account:
    """Make *language* (``zh`` or ``en``) the console's language for the account.

    A preference of the account's own, like its password, not a change to anyone else's
    data: it is not audited, and sessions stay valid.
    """
    if language not in LANGUAGES:
        raise InvalidInput(
            N_("the language must be one of {languages}, not {language}"),
            languages=", ".join(LANGUAGES),
            language=language,
        )
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(N_("there is no account {account}"), account=account_id)
    account.language = language
    return account


def unlock(
    session: Session,
    username: str,
    *,
    body_id: int | None,
    actor: audit.Actor,
    anywhere: bool = False,
) -> Account:
    """Lift a lock-out of an account of ``body_id`` (of any account with ``anywhere``)."""
    account = session.scalar(
        select(Account).where(Account.username == _normalize_username(username))
    )
    if account is None or (not anywhere and account.body_id != body_id):
        raise NotFound(N_("no account {account} here"), account=username)
    account.locked_until = None
    account.failed_logins = 0
    audit.record(session, actor, "account.unlock", body_id=account.body_id, target=account.username)
    return account


def change_password(
    session: Session, account_id: int, current: str, new: str, *, actor: audit.Actor
) -> Principal:
    """Change one's own password (the current one is needed); other sessions end."""
    account = session.get(Account, account_id)
    if account is None or account.disabled:
        raise NotFound(N_("the account no longer exists"))
    if not check_password_hash(account.password_hash, current):
        raise InvalidInput(N_("the current password is wrong"))
    check_password_rules(new, account.username)
    account.password_hash = hash_password(new)
    session.flush()
    audit.record(session, actor, "account.password", body_id=account.body_id)
    return _principal(session, account)
