"""The audit log: append-only, scoped per body, exported as spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from certsvc.accounts.audit import CSV_COLUMNS, Actor, export_csv, list_entries, record
from certsvc.bodies.bodies import get_body
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
