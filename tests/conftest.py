"""Shared fixtures and factories; test modules take what they share from here, never from
each other.

- the database: settings with throw-away secrets, a migrated database on each backend
  (``runtime``), and the seeded body (``body``);
- factories: :func:`make_body` (and the three bodies built with it), :func:`person_id` and
  :func:`row` (holders and their results rows), :func:`issue` (certificates);
- the app and its clients: ``app``, ``client``, ``console`` (:class:`Console`, a browser on
  the console) and ``runner`` (click's CliRunner);
- helpers for results files, the registry feed and the registry client.

Database-backed tests use the ``runtime`` fixture, which runs each test on SQLite and on
PostgreSQL. PostgreSQL comes from ``CERTSVC_TEST_DATABASE_URL`` (CI sets it); without it the
local default ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` is tried, and when no
server answers there the PostgreSQL half is skipped with that reason. A URL that was given
explicitly but does not answer is an error, not a skip: CI must not go green without it.

Each backend is migrated once per session (Alembic, as in production); tests then start from
a copy (SQLite) or truncated tables in a private schema (PostgreSQL).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import os
import re
import shutil
import sqlite3
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from certsvc import create_app
from certsvc.accounts.accounts import create_account
from certsvc.accounts.audit import Actor
from certsvc.accounts.tokens import create_token
from certsvc.bodies.bodies import (
    NewBody,
    add_member,
    add_scope,
    create_body,
    get_body,
    load_occupations,
)
from certsvc.cli.demo import resident_id, uscc
from certsvc.config import SKIP_DEV_ENV, Settings, generate_secrets
from certsvc.db import normalize_url
from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.domain.occupations import shipped_catalogue
from certsvc.issuance.columns import COLUMNS
from certsvc.issuance.service import BatchResult, content_hash, issue_batch, revoke
from certsvc.models import (
    Base,
    Certificate,
    EventLogHead,
)
from certsvc.models.migrate import upgrade
from certsvc.registry.apply import PullSummary
from certsvc.registry.mirror import Mirror
from certsvc.registry.pull import pull
from certsvc.registry.transport import FeedClient, HttpResponse, RetryPolicy
from certsvc.runtime import Runtime

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# A `certsvc` process a test starts must not pick up the developer's instance/dev.env (what
# `make run` leaves in the checkout): tests give every setting they mean. The tests of that
# file itself unset this.
os.environ.setdefault(SKIP_DEV_ENV, "1")

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


# --- factories: bodies, holders, certificates -----------------------------------------------------


def make_body(
    runtime: Runtime,
    code: str,
    name_zh: str,
    body_uscc: str,
    *,
    chain_leader: bool = False,
    occupations: Sequence[str] = ("6-31-01-03",),
    levels: Sequence[Level] = CERTIFIED_LEVELS,
    members: Sequence[str] = (),
    name_en: str = "",
    key: bool = True,
    photo_required: bool = False,
) -> str:
    """A certification body with scope over ``occupations`` × ``levels``, its ecosystem
    ``members`` (credit codes, from 2025-01-01) and, unless ``key`` is false, a signing key.

    Test bodies do not require photos (``photo_required``), so tests about anything else
    issue without them; photo tests give them or ask for the requirement."""
    with runtime.db.transaction() as session:
        created = create_body(
            session,
            NewBody(
                code=code,
                name_zh=name_zh,
                uscc=body_uscc,
                name_en=name_en,
                chain_leader=chain_leader,
                photo_required=photo_required,
            ),
        )
        if key:
            runtime.keyring.create_key(session, created)
        for member in members:
            add_member(session, created, member, "无锡成员企业", dt.date(2025, 1, 1))
        if occupations:
            add_scope(session, created, list(occupations), levels)
    return code


def seed_body(runtime: Runtime) -> str:
    """A chain-leader body with one member, scope over two occupations × all levels, a key."""
    return make_body(
        runtime,
        BODY_CODE,
        "南京测试装备集团有限公司",
        BODY_USCC,
        name_en="Nanjing Test Equipment Group",
        chain_leader=True,
        members=[MEMBER_USCC],
        occupations=["6-31-01-03", "6-18-02-04"],
    )


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


# --- the app, its clients and the CLI -------------------------------------------------------------


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    """The web app over the test database (CSRF and rate limits as in production)."""
    return console_app(runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def console(app: Flask) -> Console:
    """A browser on the console, not logged in (see :meth:`Console.login`)."""
    return Console(app.test_client())


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# --- certificates ---------------------------------------------------------------------------------


def issue(
    runtime: Runtime,
    rows: list[dict[str, str]],
    key: str | None = None,
    *,
    body: str = BODY_CODE,
    photos: Mapping[int, bytes] | None = None,
) -> BatchResult:
    """Certificates: issue ``rows`` (see :func:`row`) as one batch of ``body``, rows from 2
    (``photos`` by those row numbers)."""
    numbered = list(enumerate(rows, start=2))
    return issue_batch(
        runtime,
        body,
        numbered,
        source="api",
        content_sha256=content_hash(numbered),
        idempotency_key=key,
        photos=photos,
    )


# --- the console: accounts, a browser -------------------------------------------------------------


PASSWORD = "correct horse battery"


OTHER_CODE = "Y000211010001"


OTHER_BODY_USCC = uscc("91110000MA01XYW7Q")


_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def make_account(runtime: Runtime, username: str, role: str, body: str | None) -> str:
    with runtime.db.transaction() as session:
        create_account(session, username, PASSWORD, role, body, actor=Actor("test"))
    return username


def other_body(runtime: Runtime) -> str:
    """A second body (not a chain leader) with scope and a key."""
    return make_body(runtime, OTHER_CODE, "北京其他机构有限公司", OTHER_BODY_USCC)


def csv_file(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    for r in rows:
        writer.writerow([r.get(c.key, "") for c in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


class Console:
    """A browser-like client of the console: keeps the session and the CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self._token: str | None = None

    def csrf(self) -> str:
        if self._token is None:
            page = self.client.get("/console/login").get_data(as_text=True)
            self._token = token_in(page)
        return self._token

    def login(self, username: str, password: str = PASSWORD) -> TestResponse:
        response = self.post(
            "/console/login", {"username": username, "password": password}, csrf=True
        )
        self._token = None  # a new session: a new token
        return response

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.client.get(url, **kwargs)

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf())
        return self.client.post(url, data=form, **kwargs)

    def upload(
        self, content: bytes, name: str = "results.csv", photos: bytes | None = None
    ) -> TestResponse:
        """Upload a results file (and a photos ZIP) for the preview."""
        form: dict[str, Any] = {"file": (io.BytesIO(content), name)}
        if photos is not None:
            form["photos"] = (io.BytesIO(photos), "photos.zip")
        return self.post("/console/import", form, content_type="multipart/form-data")

    def confirm(self, preview: TestResponse) -> TestResponse:
        html = preview.get_data(as_text=True)
        ticket = re.search(r'name="ticket" type="hidden" value="([^"]+)"', html)
        content = re.search(r'name="content" type="hidden" value="([^"]+)"', html)
        photos = re.search(r'name="photos" type="hidden" value="([^"]*)"', html)
        assert ticket and content, html[:2000]
        return self.post(
            "/console/import/confirm",
            {
                "ticket": ticket.group(1),
                "content": content.group(1),
                "photos": photos.group(1) if photos else "",
            },
            content_type="multipart/form-data",
        )


def token_in(html: str) -> str:
    match = _CSRF.search(html)
    assert match, html[:2000]
    return match.group(1) or match.group(2)


def count(runtime: Runtime, model: type) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap scrypt parameters for modules that create and log in many accounts.

    Not autouse: a module opts in with ``pytestmark = pytest.mark.usefixtures(...)``, so the
    modules that check password hashing itself keep the real parameters.
    """
    from certsvc.accounts import accounts

    monkeypatch.setattr(accounts, "PASSWORD_HASH_METHOD", "scrypt:1024:8:1")


def console_app(runtime: Runtime) -> Flask:
    flask_app = create_app(runtime=runtime)
    flask_app.testing = True
    return flask_app


def logged_in(app: Flask, runtime: Runtime, username: str, role: str, body: str) -> Console:
    make_account(runtime, username, role, body)
    client = Console(app.test_client())
    assert client.login(username).status_code == 302
    return client


# --- results files --------------------------------------------------------------------------------


HEADERS = [c.header for c in COLUMNS]


def csv_bytes(
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = HEADERS,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\r\n",
) -> bytes:
    """A CSV file as Excel would write it (fields quoted only when needed)."""

    def quote(value: str) -> str:
        if any(ch in value for ch in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(quote(v) for v in header)]
    lines += [delimiter.join(quote(v) for v in row) for row in rows]
    return (newline.join(lines) + newline).encode(encoding)


def as_row(values: Mapping[str, str]) -> list[str]:
    return [values[c.key] for c in COLUMNS]


# --- the registry feed ----------------------------------------------------------------------------


OTHER_BODY = "Y000244010002"


def env_of(settings: Settings) -> dict[str, str]:
    """The CERTSVC_* environment that rebuilds ``settings`` (for the CLI and server processes)."""
    return {
        "CERTSVC_DATABASE_URL": settings.database_url,
        "CERTSVC_KEY_DIR": str(settings.key_dir),
        "CERTSVC_PUBLIC_URL": settings.public_url,
        "CERTSVC_SECRET_KEY": settings.secret_key,
        "CERTSVC_ID_HASH_KEY": base64.b64encode(settings.id_hash_key).decode(),
        "CERTSVC_ID_ENCRYPTION_KEY": base64.b64encode(settings.id_encryption_key).decode(),
        "CERTSVC_KEY_PASSPHRASE": settings.key_passphrase.decode(),
    }


def token_for(runtime: Runtime, role: str = "registry", body: str | None = None) -> str:
    with runtime.db.transaction() as session:
        return create_token(session, role, f"test {role}", body).secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class FlaskTransport:
    """The client's Transport over a Flask test client (no sockets), with optional faults."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.requests: list[str] = []

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.requests.append(path)
        response = self.client.get(path, headers=dict(headers))
        names = {k.lower(): v for k, v in response.headers.items()}
        return HttpResponse(response.status_code, names, response.get_data())


def history(runtime: Runtime) -> dict[str, str]:
    """Issue, correct, revoke, rotate and compromise: every kind of event. Returns numbers."""
    first = issue(runtime, [row(1, name="张山"), row(2), row(3, level="三级")])
    a, b, c = (x.number for x in first.certificates)
    fixed = issue(runtime, [row(1, name="张三", corrects=a)]).certificates[0].number
    revoke(runtime, b, "考核记录造假 falsified assessment")
    with runtime.db.transaction() as session:
        runtime.keyring.rotate(session, get_body(session, BODY_CODE))
    late = issue(runtime, [row(4)]).certificates[0].number
    revoke(runtime, c, "持证人申请撤销 holder request")
    return {"a": a, "b": b, "c": c, "fixed": fixed, "late": late}


def add_other_body(runtime: Runtime) -> None:
    """A body of another province (Guangdong) with scope and a key: :data:`OTHER_BODY`."""
    make_body(runtime, OTHER_BODY, "广州其他评价机构", uscc("91440101MA5CWXY41"))


# --- the registry client --------------------------------------------------------------------------


BASE = "https://certsvc.test"


NO_WAIT = RetryPolicy(attempts=4, sleep=lambda _s: None)


def source_certificates(runtime: Runtime) -> dict[str, tuple[Any, ...]]:
    """What the registry should end up with: number -> (status, reason, successor, record)."""
    with runtime.db.session() as session:
        certs = session.scalars(select(Certificate)).all()
        successor = {c.supersedes_id: c.number for c in certs if c.supersedes_id}
        return {c.number: (c.status, c.status_reason, successor.get(c.id), c.record) for c in certs}


def mirror_certificates(path: Path) -> dict[str, tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT number, status, status_reason, superseded_by, record FROM mirror_certificates"
        ).fetchall()
    return {number: tuple(rest) for number, *rest in rows}


def head(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(EventLogHead.last_seq)) or 0)


def assert_mirror_matches(runtime: Runtime, path: Path) -> None:
    """The mirror holds every certificate with the source's status, and the cursor is at head."""
    assert mirror_certificates(path) == source_certificates(runtime)
    with sqlite3.connect(path) as db:
        (cursor,) = db.execute("SELECT cursor FROM mirror_state").fetchone()
        seqs = [s for (s,) in db.execute("SELECT seq FROM mirror_events ORDER BY seq")]
    assert cursor == head(runtime)
    assert seqs == list(range(1, cursor + 1))


class Faulty(FlaskTransport):
    """A transport whose responses a test can change on the way."""

    def __init__(
        self,
        client: FlaskClient,
        change: Callable[[int, HttpResponse], HttpResponse | Exception] | None = None,
    ) -> None:
        super().__init__(client)
        self.change = change
        self.feed_calls = 0

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        response = super().get(url, headers, timeout)
        if "/registry/changes" not in url or self.change is None:
            return response
        self.feed_calls += 1
        changed = self.change(self.feed_calls, response)
        if isinstance(changed, Exception):
            raise changed
        return changed


def run_pull(
    runtime: Runtime,
    transport: FlaskTransport,
    path: Path,
    *,
    limit: int = 4,
    secret: str | None = None,
) -> PullSummary:
    feed = FeedClient(BASE, secret or token_for(runtime), transport=transport, policy=NO_WAIT)
    mirror = Mirror(str(path))
    try:
        return pull(feed, mirror, limit=limit)
    finally:
        mirror.dispose()


# --- holder photos ------------------------------------------------------------------------------


def photo_bytes(
    width: int = 350,
    height: int = 490,
    *,
    fmt: str = "JPEG",
    mode: str = "RGB",
    exif: Mapping[int, Any] | None = None,
    colour: tuple[int, ...] = (200, 40, 40),
) -> bytes:
    """A generated photo: a coloured top half over white (the top shows which way is up)."""
    from PIL import Image

    img = Image.new(mode, (width, height), "white" if mode != "RGBA" else (255, 255, 255, 0))
    img.paste(Image.new(mode, (width, height // 2), colour[: len(mode)]), (0, 0))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if exif is not None:
        tags = Image.Exif()
        for tag, value in exif.items():
            tags[tag] = value
        kwargs["exif"] = tags.tobytes()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def photos_zip(photos: Mapping[str, bytes]) -> bytes:
    """A ZIP of photos by file name (``{ID number}.jpg``), as an HR office sends them."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in photos.items():
            archive.writestr(name, data)
    return out.getvalue()
