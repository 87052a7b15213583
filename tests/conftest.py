"""Shared fixtures: settings with throw-away secrets, and a migrated database on each backend.

Database-backed tests use the ``services`` fixture, which runs each test on SQLite and on
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
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from certsvc.bodies.bodies import NewBody, add_member, add_scope, create_body, load_occupations
from certsvc.cli.demo import resident_id, uscc
from certsvc.config import Settings, generate_secrets
from certsvc.db import normalize_url
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.occupations import shipped_catalogue
from certsvc.models import Base
from certsvc.models.migrate import upgrade
from certsvc.runtime import Services

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
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    svc = Services.from_settings(make_settings(tmp_path, database_url))
    with svc.db.transaction() as session:
        load_occupations(session, shipped_catalogue())
    yield svc
    svc.db.dispose()


def seed_body(services: Services) -> str:
    """A chain-leader body with one member, scope over two occupations × all levels, a key."""
    with services.db.transaction() as session:
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
        services.keyring.create_key(session, created)
        add_member(session, created, MEMBER_USCC, "无锡成员企业", dt.date(2025, 1, 1))
        add_scope(session, created, ["6-31-01-03", "6-18-02-04"], CERTIFIED_LEVELS)
    return BODY_CODE


@pytest.fixture
def body(services: Services) -> str:
    """The code of the body :func:`seed_body` makes."""
    return seed_body(services)


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
