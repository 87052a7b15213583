"""The audit log: who did what, when, from which address — append-only, listable, exportable.

Every console and issuing-API action writes one :class:`~certsvc.models.AuditEntry`: log-ins
(also failed ones), issuance, revocation, corrections, changes to members, scope, keys,
accounts and tokens, exports, and requests refused for lack of permission. Entries are only
ever added: this module has no way to change one, and a flush that would update or delete an
entry raises (a database trigger or a role without UPDATE/DELETE on ``audit_log`` would make
that hold against direct SQL as well).

The log is not the certificate history: that is :class:`~certsvc.models.Event`, which the
registry pulls. An admin sees the entries of their own body; an operator the platform's
(entries without a body).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, UOWTransaction

from certsvc.models import AuditEntry, utcnow

__all__ = ["CSV_COLUMNS", "Actor", "export_csv", "list_entries", "record"]

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
# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Actor:
    """Who acts: a console account, an API token, or a command-line user."""

    name: str
    ip: str = ""
    account_id: int | None = None
    token_id: int | None = None


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
    """Add one entry to the log, in the caller's transaction."""
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
    writer = csv.writer(buffer, lineterminator="\r\n")

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
            _safe(value)
            for value in (
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


def _safe(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    """Entries are appended, never updated or deleted."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit log entries are append-only: they cannot be changed")
