"""Shared fixtures: settings with throw-away secrets, and a migrated database on each backend.

Database-backed tests use the ``runtime`` fixture, which runs each test on SQLite and on
PostgreSQL. PostgreSQL comes from ``CERTSVC_TEST_DATABASE_URL`` (CI sets it); without it the
local default ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` is tried, and when no
server answers there the PostgreSQL half is skipped with that reason. A URL that was given
explicitly but does not answer is an error, not a skip: CI must not go green without it.

Each backend is migrated once per session (Alembic, as in production); tests then start from
a copy (SQLite) or truncated tables in a private schema (PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from certsvc import create_app
from certsvc.bodies.bodies import NewBody, add_member, add_scope, create_body, load_occupations
from certsvc.cli.demo import resident_id, uscc
from certsvc.config import Settings, generate_secrets
from certsvc.db import normalize_url
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.occupations import shipped_catalogue
from certsvc.issuance.service import BatchResult, content_hash, issue_batch
from certsvc.models import Base
from certsvc.models.migrate import upgrade
from certsvc.runtime import Runtime

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

BODY_CODE = "Y000132010001"
BODY_USCC = uscc("91320100MA1X7K3P8")
MEMBER_USCC = uscc("91320200MA1Y4R6T2")
OTHER_USCC = uscc("91110000MA00ABCD1")


def _pg_url() -> tuple[str | None, str]:
    explicit = os.environ.get("CERTSVC_TEST_DATABASE_URL")
    url = normalize_url(explicit or DEFAULT_PG)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except OperationalError as exc:
        if explicit:
            raise RuntimeError(
                f"CERTSVC_TEST_DATABASE_URL={explicit} does not answer: {exc}"
            ) from exc
        return None, f"no PostgreSQL server at {DEFAULT_PG} (set CERTSVC_TEST_DATABASE_URL)"
    return url, ""


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    url, reason = _pg_url()
    if url is None:
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def pg_schema_url(pg_base_url: str) -> Iterator[str]:
    """A private schema, migrated once, dropped at the end of the session."""
    schema = f"certsvc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_base_url else "?"
    url = f"{pg_base_url}{sep}options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": database_url,
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
        "CERTSVC_PUBLIC_URL": "https://cert.example.cn",
        # Each test's own embedded queue: nothing is left in the repository's instance/.
        "CERTSVC_JOB_QUEUE_URL": f"sqlite:///{tmp_path / 'job-queue.sqlite'}",
    }
    return Settings.from_env(env).with_overrides(**overrides)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "certsvc.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_schema_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO event_log_head (id, last_seq) VALUES (1, 0)"))
    engine.dispose()
    return url


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    svc = Runtime.from_settings(make_settings(tmp_path, database_url))
    with svc.db.transaction() as session:
        load_occupations(session, shipped_catalogue())
    yield svc
    svc.db.dispose()


def seed_body(runtime: Runtime) -> str:
    """A chain-leader body with one member, scope over two occupations × all levels, a key."""
    with runtime.db.transaction() as session:
        created = create_body(
            session,
            NewBody(
                code=BODY_CODE,
                name_zh="南京测试装备集团有限公司",
                uscc=BODY_USCC,
                name_en="Nanjing Test Equipment Group",
                chain_leader=True,
            ),
        )
        runtime.keyring.create_key(session, created)
        add_member(session, created, MEMBER_USCC, "无锡成员企业", dt.date(2025, 1, 1))
        add_scope(session, created, ["6-31-01-03", "6-18-02-04"], CERTIFIED_LEVELS)
    return BODY_CODE


@pytest.fixture
def body(runtime: Runtime) -> str:
    """The code of the body :func:`seed_body` makes."""
    return seed_body(runtime)


def person_id(n: int) -> str:
    """The n-th made-up but valid resident ID number (Nanjing; distinct for n < 40,000)."""
    return resident_id(f"320102{1960 + (n // 1000) % 40}0101{n % 1000:03d}")


def row(n: int, **overrides: str) -> dict[str, str]:
    """A valid results-file row for person ``n``."""
    base = {
        "name": "张三",
        "id_type": "居民身份证",
        "id_number": person_id(n),
        "employer_uscc": BODY_USCC,
        "employer_name": "",
        "occupation_code": "6-31-01-03",
        "work_type": "",
        "level": "四级",
        "issue_date": "2026-11-20",
        "route": "",
        "direct_ground": "",
        "direct_evidence": "",
        "corrects": "",
    }
    base.update(overrides)
    return base


def issue_rows(runtime: Runtime, rows: list[dict[str, str]]) -> BatchResult:
    """Issue ``rows`` (numbered from 2, as under a header line) for :data:`BODY_CODE`."""
    numbered = list(enumerate(rows, start=2))
    return issue_batch(
        runtime, BODY_CODE, numbered, source="api", content_sha256=content_hash(numbered)
    )


@dataclass
class LiveService:
    """The app served over real HTTP on a free port; its public URL is that address."""

    runtime: Runtime
    url: str


@pytest.fixture
def live_service(database_url: str, tmp_path: Path) -> Iterator[LiveService]:
    """A seeded service behind a threaded HTTP server on 127.0.0.1, stopped after the test.

    The port is bound first and the app made after, so that the credentials it signs name
    this server's address (status lists, context) and outside tools can follow them.
    """
    app: list[Flask] = []
    httpd = make_server(
        "127.0.0.1", 0, lambda environ, start: app[0](environ, start), threaded=True
    )
    url = f"http://127.0.0.1:{httpd.server_port}"
    runtime = Runtime.from_settings(make_settings(tmp_path, database_url, public_url=url))
    with runtime.db.transaction() as session:
        load_occupations(session, shipped_catalogue())
    seed_body(runtime)
    app.append(create_app(runtime=runtime))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveService(runtime, url)
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        runtime.db.dispose()
