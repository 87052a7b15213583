"""The audit log: append-only, scoped per body, exported as spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from certsvc.accounts.audit import CSV_COLUMNS, Actor, audited, export_csv, list_entries, record
from certsvc.bodies.bodies import get_body
from certsvc.errors import BatchRejected, NotFound, RowError
from certsvc.models import AuditEntry
from certsvc.runtime import Runtime


def test_entries_cannot_be_changed_or_deleted(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        record(session, Actor("alice", ip="10.0.0.1"), "login")
    with runtime.db.session() as session:
        entry = session.scalar(select(AuditEntry))
        assert entry is not None
        entry.outcome = "forged"
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
        session.rollback()
        session.delete(session.scalar(select(AuditEntry)))
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()


def test_each_body_sees_its_own_entries_and_exports_safe_csv(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        body_id = get_body(session, body).id
        record(
            session,
            Actor("=cmd|' /C calc'!A0", ip="10.0.0.1"),
            "login",
            body_id=body_id,
            target="@SUM(1)",
            detail={"名": "值"},
        )
        record(session, Actor("ops"), "body.create", target="Y000211010001")
    with runtime.db.session() as session:
        assert [e.action for e in list_entries(session, body_id)] == ["login"]
        assert [e.action for e in list_entries(session, None)] == ["body.create"]
        text = "".join(export_csv(session, body_id))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 2
    assert rows[1][2].startswith("'=") and rows[1][6] == "'@SUM(1)"
    assert rows[1][8] == "10.0.0.1" and '"名": "值"' in rows[1][9]


def test_an_audited_block_records_ok_rejected_or_failed(runtime: Runtime) -> None:
    who = Actor("cli:alice")
    with audited(runtime.db, who, "batch.issue", body_id=None, detail={"key": "k1"}) as entry:
        entry.target = "B-1"
        entry.detail["certificates"] = 3
    with (
        pytest.raises(BatchRejected),
        audited(runtime.db, who, "batch.issue", body_id=None, target="f.csv") as entry,
    ):
        entry.target = "never kept"
        raise BatchRejected([RowError(2, "id_number", "check digit"), RowError(3, "", "x")])
    with (
        pytest.raises(NotFound),
        audited(runtime.db, who, "certificate.revoke", body_id=None, target="N1"),
    ):
        raise NotFound("no certificate N1")
    with runtime.db.session() as session:
        found = [
            (e.actor, e.action, e.target, e.outcome, e.detail)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    assert found == [
        ("cli:alice", "batch.issue", "B-1", "ok", {"key": "k1", "certificates": 3}),
        ("cli:alice", "batch.issue", "f.csv", "rejected", {"errors": 2}),
        ("cli:alice", "certificate.revoke", "N1", "failed", {"error": "not_found"}),
    ]
