"""The audit log: who did what, when, from which address — append-only, listable, exportable.

Every console and issuing-API action writes one :class:`~certsvc.models.AuditEntry`: log-ins
(also failed ones), issuance, revocation, corrections, changes to members, scope, keys,
accounts and tokens, exports, and requests refused for lack of permission. Entries are only
ever added: this module has no way to change one, and a flush that would update or delete an
entry raises (a database trigger or a role without UPDATE/DELETE on ``audit_log`` would make
that hold against direct SQL as well).

:func:`audited` wraps an action whose outcome the entry records — done, rejected (a batch whose
rows do not pass) or failed (any other :class:`~certsvc.errors.CertsvcError`) — so the console,
the issuing API and the command line record the three the same way.

The log is not the certificate history: that is :class:`~certsvc.models.Event`, which the
registry pulls. An admin sees the entries of their own body; an operator the platform's
(entries without a body).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import pwd
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, UOWTransaction

from certsvc.db import Database
from certsvc.domain.ids import contains_id_number, redact_id_numbers
from certsvc.errors import BatchRejected, CertsvcError
from certsvc.models import AuditEntry, utcnow
from certsvc.spreadsheets import SafeCsvWriter

__all__ = [
    "CSV_COLUMNS",
    "Actor",
    "AuditedAction",
    "audited",
    "command_line_actor",
    "export_csv",
    "list_entries",
    "record",
]

CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "account_id",
    "token_id",
    "action",
    "target",
    "outcome",
    "ip",
    "detail",
)


@dataclass(frozen=True)
class Actor:
    """Who acts: a console account, an API token, or a command-line user."""

    name: str
    ip: str = ""
    account_id: int | None = None
    token_id: int | None = None


def command_line_actor() -> Actor:
    """The actor of a ``certsvc`` command: ``cli:<the operating-system user running it>``.

    The user comes from the process's real uid, not from ``$USER``, which the caller sets.
    """
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        user = f"uid {uid}"
    return Actor(name=f"cli:{user}")


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    body_id: int | None = None,
    target: str = "",
    outcome: str = "ok",
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Add one entry to the log, in the caller's transaction.

    A target that holds an ID number (a certificate number that was asked for and not found
    may be one typed by mistake, or a URL path holding one) is kept masked, never in clear.
    """
    if contains_id_number(target):
        target = redact_id_numbers(target)
    entry = AuditEntry(
        occurred_at=at or utcnow(),
        actor=actor.name[:100],
        account_id=actor.account_id,
        token_id=actor.token_id,
        body_id=body_id,
        action=action[:64],
        target=target[:200],
        outcome=outcome[:16],
        detail=dict(detail or {}),
        ip=actor.ip[:64],
    )
    session.add(entry)
    return entry


@dataclass
class AuditedAction:
    """The entry an :func:`audited` block writes if it ends well; the block fills in what it
    learns on the way (the new batch's id as ``target``, ``outcome = "replayed"``, details)."""

    target: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"


@contextmanager
def audited(
    db: Database,
    actor: Actor,
    action: str,
    *,
    body_id: int | None,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
) -> Iterator[AuditedAction]:
    """Write one entry for the block, in a transaction of its own once the block has ended.

    * The block ends: the entry as the block left it (outcome ``ok`` unless it said otherwise).
    * It raises :class:`~certsvc.errors.BatchRejected`: outcome ``rejected``, with the number of
      ``errors`` (never their text: a message about a row may quote what is in it).
    * It raises another :class:`~certsvc.errors.CertsvcError`: outcome ``failed``, with the
      ``error`` code.

    The exception goes on to the caller, which shows it. ``target`` and ``detail`` are what
    every outcome records; a failure keeps the target given here, not one the block set.
    """
    base = dict(detail or {})
    entry = AuditedAction(target=target, detail=dict(base))
    try:
        yield entry
    except BatchRejected as exc:
        _write(db, actor, action, body_id, target, "rejected", {**base, "errors": len(exc.errors)})
        raise
    except CertsvcError as exc:
        _write(db, actor, action, body_id, target, "failed", {**base, "error": exc.code})
        raise
    _write(db, actor, action, body_id, entry.target, entry.outcome, entry.detail)


def _write(
    db: Database,
    actor: Actor,
    action: str,
    body_id: int | None,
    target: str,
    outcome: str,
    detail: Mapping[str, Any],
) -> None:
    with db.transaction() as session:
        record(
            session, actor, action, body_id=body_id, target=target, outcome=outcome, detail=detail
        )


def list_entries(
    session: Session, body_id: int | None, *, limit: int = 100, before: int | None = None
) -> list[AuditEntry]:
    """Newest first: the entries of one body, or the platform's when ``body_id`` is None."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    query = query.where(
        AuditEntry.body_id.is_(None) if body_id is None else AuditEntry.body_id == body_id
    )
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list(session.scalars(query))


def export_csv(session: Session, body_id: int | None) -> Iterator[str]:
    """The whole log of one body (or the platform) as CSV text chunks, oldest first.

    UTF-8 with a BOM so Excel shows Chinese right; cells that a spreadsheet would run as a
    formula get a leading apostrophe.
    """
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + flush()
    query = select(AuditEntry).order_by(AuditEntry.id)
    query = query.where(
        AuditEntry.body_id.is_(None) if body_id is None else AuditEntry.body_id == body_id
    )
    for entry in session.scalars(query.execution_options(yield_per=500)):
        writer.writerow(
            (
                entry.id,
                entry.occurred_at.isoformat(timespec="seconds"),
                entry.actor,
                entry.account_id or "",
                entry.token_id or "",
                entry.action,
                entry.target,
                entry.outcome,
                entry.ip,
                json.dumps(entry.detail, ensure_ascii=False, sort_keys=True),
            )
        )
        yield flush()


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    """Entries are appended, never updated or deleted."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit log entries are append-only: they cannot be changed")
