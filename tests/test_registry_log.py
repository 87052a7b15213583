"""The registry feed carries transparency-log checkpoints; ``certsvc registry pull`` keeps the
last one it accepted and refuses, loudly and leaving its mirror intact, a history that was
rewritten in the database behind the server. Both backends, the app in-process."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import delete, update

from certsvc.cli.main import cli
from certsvc.errors import HistoryRewritten
from certsvc.models import Certificate
from certsvc.models.transparency import LogCheckpoint, LogState, MerkleNode
from certsvc.registry.transport import HttpResponse
from certsvc.runtime import Runtime
from certsvc.transparency.log import append_and_checkpoint, latest_checkpoint
from tests.conftest import (
    BASE,
    Faulty,
    FlaskTransport,
    assert_mirror_matches,
    issue,
    row,
    run_pull,
    token_for,
)


def stored_checkpoint(path: Path) -> tuple[str | None, int]:
    with sqlite3.connect(path) as db:
        note, size = db.execute("SELECT checkpoint, tree_size FROM mirror_log").fetchone()
    return note, int(size)


def mirror_digest(path: Path) -> str:
    """Everything the mirror holds, as one hash (to prove a refusal changed nothing)."""
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        dump = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in sorted(tables)}
    return hashlib.sha256(repr(dump).encode()).hexdigest()


def rewrite_history(runtime: Runtime) -> None:
    """What an insider with the database could do: change an old certificate's signed record,
    throw the log away and let the service rebuild and re-sign it with its own log key."""
    with runtime.db.transaction() as session:
        first = session.query(Certificate).order_by(Certificate.id).first()
        assert first is not None
        session.execute(
            update(Certificate)
            .where(Certificate.id == first.id)
            .values(record=first.record + "x", created_at=first.created_at)
        )
        session.execute(delete(LogCheckpoint))
        session.execute(delete(MerkleNode))
        session.execute(delete(LogState))
    append_and_checkpoint(runtime)


def test_each_page_carries_the_latest_checkpoint(
    client: FlaskClient, runtime: Runtime, body: str
) -> None:
    issue(runtime, [row(1), row(2)])
    with runtime.db.session() as session:
        latest = latest_checkpoint(session)
    assert latest is not None
    page = client.get(
        "/api/v1/registry/changes?after=0&limit=2",
        headers={"Authorization": f"Bearer {token_for(runtime)}"},
    )
    assert page.status_code == 200 and page.json is not None
    assert page.json["checkpoint"] == latest.note
    assert list(page.json)[:6] == ["head", "after", "limit", "scope", "checkpoint", "events"]


def test_the_mirror_keeps_the_last_checkpoint_and_checks_the_next_is_consistent(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    issue(runtime, [row(1), row(2)])
    path = tmp_path / "m.db"
    transport = FlaskTransport(client)
    first = run_pull(runtime, transport, path)
    with runtime.db.session() as session:
        latest = latest_checkpoint(session)
    assert latest is not None
    assert first.checkpoint == latest.tree_size
    assert stored_checkpoint(path) == (latest.note, latest.tree_size)
    assert sum("transparency.json" in r for r in transport.requests) == 1

    issue(runtime, [row(3)])
    issue(runtime, [row(4)])
    transport.requests.clear()
    second = run_pull(runtime, transport, path, limit=2)
    with runtime.db.session() as session:
        newer = latest_checkpoint(session)
    assert newer is not None and newer.tree_size > latest.tree_size
    assert not second.rejections and second.checkpoint == newer.tree_size
    assert stored_checkpoint(path) == (newer.note, newer.tree_size)
    assert any("/transparency/consistency" in r for r in transport.requests)
    assert not any("transparency.json" in r for r in transport.requests)  # keys cached
    assert_mirror_matches(runtime, path)


@pytest.mark.parametrize("more", [False, True], ids=["same-size", "grown"])
def test_a_rewritten_history_is_refused_and_the_mirror_left_intact(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path, more: bool
) -> None:
    issue(runtime, [row(1), row(2)])
    path = tmp_path / "m.db"
    run_pull(runtime, FlaskTransport(client), path)
    accepted = stored_checkpoint(path)
    before = mirror_digest(path)

    rewrite_history(runtime)
    if more:  # the rewritten log grows on: the old root is not a prefix of the new tree
        issue(runtime, [row(3)])
    with pytest.raises(HistoryRewritten, match="REFUSED: the service's transparency log was"):
        run_pull(runtime, FlaskTransport(client), path)
    assert mirror_digest(path) == before
    assert stored_checkpoint(path) == accepted


def test_the_pull_command_refuses_a_rewritten_history_in_one_line(
    client: FlaskClient,
    runtime: Runtime,
    body: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import certsvc.registry.transport as client_module

    issue(runtime, [row(1), row(2)])
    monkeypatch.setattr(client_module, "UrllibTransport", lambda: FlaskTransport(client))
    path = tmp_path / "m.db"
    args = ["registry", "pull", "--url", BASE, "--token", token_for(runtime), "--db", str(path)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = mirror_digest(path)
    rewrite_history(runtime)
    issue(runtime, [row(3)])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 65, result.output
    # The in-process server's own request log lines (JSON) share stderr with the command here.
    lines = [x for x in result.stderr.strip().splitlines() if not x.startswith('{"ts"')]
    assert len(lines) == 1 and lines[0].startswith("error: REFUSED:")
    assert "rewritten" in lines[0] and "the mirror is unchanged" in lines[0]
    assert mirror_digest(path) == before


def test_a_checkpoint_altered_on_the_way_is_refused(
    client: FlaskClient, runtime: Runtime, body: str, tmp_path: Path
) -> None:
    issue(runtime, [row(1)])

    def forge(_call: int, response: HttpResponse) -> HttpResponse:
        page = json.loads(response.body)
        origin, size, root, *rest = page["checkpoint"].split("\n")
        page["checkpoint"] = "\n".join([origin, str(int(size) + 1), root, *rest])
        return HttpResponse(response.status, response.headers, json.dumps(page).encode())

    path = tmp_path / "m.db"
    with pytest.raises(HistoryRewritten, match="does not verify"):
        run_pull(runtime, Faulty(client, forge), path)
    assert stored_checkpoint(path) == (None, 0)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT cursor FROM mirror_state").fetchone() == (0,)
