"""Verification figures for ``make bench``: ``section()`` returns markdown lines.

1. **Verify under load.** The app runs under gunicorn (2 sync workers) on 127.0.0.1 against
   PostgreSQL with issued certificates; wrk (32 connections, fixed duration) drives
   ``POST /api/v1/verify``, the page ``/v/<token>`` and — in the same run, in alternation — a
   hello-world route that exists only in this benchmark's app (:func:`bench_app`), never in
   production. The issue #5 goal (≥ 60 % of hello-world) is withdrawn (issue #14). A
   *floor* route (:func:`_floor_view`) does only the per-request work no verification can
   skip, to show how much of the gap is inherent.
2. **Look-up by number + name at 10k and 1M certificates.** 10,000 real certificates are
   issued; the look-up (:func:`certsvc.verify.lookup_by_number`, which also verifies the
   stored token) is timed over them; then 990,000 more rows are added in bulk with SQL and the
   same look-ups are timed again. Goal: p50 at 1M ≤ 1.5 × p50 at 10k.

Run alone: ``.venv/bin/python -m bench.verify`` (prints the section).
"""

from __future__ import annotations

import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, Response, abort, jsonify, request
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.run import BODY, BODY_USCC, PG_URL, postgres_schema, rows_for
from certsvc import create_app
from certsvc.bodies.bodies import NewBody, add_scope, create_body, load_occupations
from certsvc.config import Settings, generate_secrets
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.occupations import shipped_catalogue
from certsvc.errors import UnknownKey
from certsvc.issuance.credential import parse_qr_payload
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.models import Certificate, Holder, SigningKey
from certsvc.models.migrate import upgrade
from certsvc.runtime import Runtime
from certsvc.signing.jws import verify_compact
from certsvc.signing.keys import public_key_from_jwk
from certsvc.verify import lookup_by_number
from certsvc.web import runtime_of
from certsvc.web.limits import EXTENSION, RateLimits

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 32
DURATION_S = 8
ROUNDS = 2  # each route runs ROUNDS times, interleaved; the median round is reported
REAL_CERTIFICATES = 10_000
TOTAL_CERTIFICATES = 1_000_000
LOOKUPS = 2_000
HELLO = "/bench/hello"
#: The least a verification must do per request (see :func:`_floor_view`).
FLOOR = "/bench/floor"
#: Distinct certificates the load walks through, round robin.
ROTATED_TOKENS = 2_000
#: The rate-limit counters live here when it answers, as in a multi-worker production set-up.
REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def bench_app() -> Flask:
    """The production app plus a hello-world and a floor route, rate limits lifted (gunicorn
    factory)."""
    app = create_app()
    for scope in ("VERIFY", "LOOKUP", "LOOKUP_ID"):
        app.config[f"CERTSVC_RATELIMIT_{scope}"] = "100000000 per minute"

    @app.get(HELLO)
    def hello() -> str:
        return "hello"

    app.add_url_rule(FLOOR, "bench_floor", _floor_view(app), methods=["POST"])
    return app


def _floor_view(app: Flask) -> Callable[[], Response]:
    """The least work per request of any verification that meets issue #5's other points.

    It counts the request in the same Redis-backed rate limiter, checks the token's Ed25519
    signature (``verify_compact``, key cached) and reads the certificate's current status —
    a revocation must show at once — with one prepared SELECT on a psycopg connection held
    open by the worker: no pool, no ORM, no joins. It skips what the real route adds: the
    certified fields, their comparison with the signed ones, the key's compromise cut-off,
    the transparency proof and the result document. Its share of hello-world therefore bounds
    the share any verify route of this Flask app can reach on this machine.
    """
    runtime = runtime_of(app)
    counters: RateLimits = app.extensions[EXTENSION]
    spec = str(app.config["CERTSVC_RATELIMIT_VERIFY"])
    url = make_url(runtime.db.url).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    held: dict[int, psycopg.Connection[tuple[Any, ...]]] = {}  # by pid: never across a fork
    keys: dict[str, Ed25519PublicKey] = {}

    def key_for_kid(kid: str) -> Ed25519PublicKey:
        if kid not in keys:
            with runtime.db.session() as session:
                key = session.get(SigningKey, kid)
                if key is None:
                    raise UnknownKey(kid)
                keys[kid] = public_key_from_jwk(key.public_jwk)
        return keys[kid]

    def floor() -> Response:
        if counters.hit("verify", request.remote_addr or "unknown", spec) is not None:
            abort(429)
        token = request.get_json(force=True)["token"]
        claims = parse_qr_payload(verify_compact(token, key_for_kid).payload)
        connection = held.get(os.getpid())
        if connection is None:
            connection = held[os.getpid()] = psycopg.connect(conninfo, autocommit=True)
        row = connection.execute(
            "SELECT status FROM certificates WHERE number = %s", (claims.number,), prepare=True
        ).fetchone()
        return jsonify(status=row[0] if row else "not_found")

    return floor


@dataclass(frozen=True)
class WrkRun:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    #: CPU milliseconds per request, by process group (see :func:`_cpu_seconds`).
    cpu_ms: dict[str, float] = field(default_factory=dict)


#: Process groups whose CPU time a run is charged with: cmdline substring -> label.
_PROCESSES = {
    "bench.verify:bench_app": "app (gunicorn)",
    "postgres:": "PostgreSQL",
    "redis-server": "Redis",
}
_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds() -> dict[str, float]:
    """User + system CPU seconds so far of each group in :data:`_PROCESSES`, and of wrk."""
    totals = dict.fromkeys([*_PROCESSES.values(), "wrk"], 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, UnicodeDecodeError):
            continue  # the process ended, or is not ours to read
        for pattern, label in _PROCESSES.items():
            if pattern in command:
                totals[label] += (int(stat[11]) + int(stat[12])) / _TICKS
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk runs are our waited children
    totals["wrk"] = usage.ru_utime + usage.ru_stime
    return totals


def measured(url: str, script: Path | None = None) -> WrkRun:
    """:func:`wrk`, with the CPU each process group spent per request during the run."""
    before = _cpu_seconds()
    run = wrk(url, script)
    after = _cpu_seconds()
    requests = max(1.0, run.rps * DURATION_S)
    cpu = {label: (after[label] - before[label]) * 1000 / requests for label in before}
    return replace(run, cpu_ms=cpu)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, script: Path | None = None) -> WrkRun:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output for {url}:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += int(socket_errors.group(4))  # timeouts; reads/connects are gunicorn closing
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return WrkRun(rps, _ms(latency["50"]), _ms(latency["99"]), failed)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[str]:
    """gunicorn with 2 sync workers on 127.0.0.1 serving :func:`bench_app`; stopped on exit."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bench.verify:bench_app()",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _setup(url: str, workdir: Path) -> tuple[dict[str, str], Runtime, list[tuple[str, str, str]]]:
    """Migrate, create the body, issue the real certificates: (env, runtime, issued)."""
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": url,
        "CERTSVC_KEY_DIR": str(workdir / "keys"),
        "CERTSVC_PUBLIC_URL": "https://cert.example.cn",
        "CERTSVC_LOG_LEVEL": "WARNING",
    }
    runtime = Runtime.from_settings(Settings.from_env(env))
    upgrade(runtime.db.engine)
    with runtime.db.transaction() as session:
        load_occupations(session, shipped_catalogue())
        body = create_body(session, NewBody(BODY, "基准测试集团", BODY_USCC, chain_leader=True))
        runtime.keyring.create_key(session, body)
        add_scope(session, body, ["6-31-01-03"], CERTIFIED_LEVELS)
    issued: list[tuple[str, str, str]] = []
    for start in range(0, REAL_CERTIFICATES, 1000):
        rows = rows_for(start)
        result = issue_batch(runtime, BODY, rows, source="api", content_sha256=content_hash(rows))
        issued += [(c.number, c.holder_name, c.token) for c in result.certificates]
    return env, runtime, issued


def _rotation_script(path: Path, tokens: list[str], *, post: str | None) -> Path:
    """A wrk script that sends each request for the next of ``tokens``, round robin: a POST
    of ``{"token": …}`` to the path ``post``, or with None a GET of the page ``/v/<token>``.

    Every connection walks all the certificates, so the figure is that of verifying many
    different certificates, not of one whose rows sit in every cache.
    """
    listed = ",\n".join(f'"{t}"' for t in tokens)
    if post:
        make = (
            f'wrk.format("POST", "{post}", '
            '{["Content-Type"] = "application/json"}, \'{"token":"\' .. t .. \'"}\')'
        )
    else:
        make = 'wrk.format("GET", "/v/" .. t)'
    path.write_text(
        f"local tokens = {{\n{listed}\n}}\n"
        "local i = math.random(#tokens)\n"
        "request = function()\n"
        "  i = i % #tokens + 1\n"
        "  local t = tokens[i]\n"
        f"  return {make}\n"
        "end\n"
    )
    return path


def _load_figures(env: dict[str, str], tokens: list[str]) -> dict[str, WrkRun]:
    runs: dict[str, list[WrkRun]] = {"hello": [], "floor": [], "api": [], "page": []}
    with tempfile.TemporaryDirectory() as tmp, gunicorn(env) as base:
        scripts = {
            "floor": _rotation_script(Path(tmp) / "floor.lua", tokens, post=FLOOR),
            "api": _rotation_script(Path(tmp) / "api.lua", tokens, post="/api/v1/verify"),
            "page": _rotation_script(Path(tmp) / "page.lua", tokens, post=None),
        }
        wrk(f"{base}{HELLO}")  # warm-up: imports, connection pools, key and proof caches
        for script in scripts.values():
            wrk(base, script)
        for _ in range(ROUNDS):
            runs["hello"].append(measured(f"{base}{HELLO}"))
            for name, script in scripts.items():
                runs[name].append(measured(base, script))
    return {name: sorted(r, key=lambda x: x.rps)[len(r) // 2] for name, r in runs.items()}


def _time_lookups(runtime: Runtime, targets: list[tuple[str, str, str]]) -> tuple[float, float]:
    """(p50, p99) in ms of lookup_by_number over random targets, one session each."""
    rng = random.Random(5)
    sample = [rng.choice(targets) for _ in range(LOOKUPS)]
    times = []
    for number, name, _token in sample:
        start = time.perf_counter()
        with runtime.db.session() as session:
            result = lookup_by_number(session, number, name, caches=runtime.caches)
        times.append((time.perf_counter() - start) * 1000)
        assert result.is_valid, result.message
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def _copy_rows(table: str, columns: list[str], override: dict[str, str], rows: int) -> str:
    """SQL that inserts *rows* copies of one existing row of *table*, some columns computed.

    Copying a real row keeps the filler valid whatever columns the schema grows; *override*
    maps a column to an SQL expression of ``i`` (1..rows). Names come from the models.
    """
    values = ", ".join(override.get(c, f't."{c}"') for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    return (
        f'INSERT INTO "{table}" ({names}) SELECT {values} '
        f'FROM (SELECT * FROM "{table}" ORDER BY id LIMIT 1) AS t, '
        f"generate_series(1, {int(rows)}) AS i"
    )


def _fill(runtime: Runtime, rows: int) -> float:
    """Add *rows* certificates (and holders) with set-based SQL; returns seconds taken."""
    start = time.perf_counter()
    holder_columns = [c.name for c in Holder.__table__.columns]
    cert_columns = [c.name for c in Certificate.__table__.columns if c.name != "id"]
    with runtime.db.transaction() as session:
        # Holders: ids far above the real ones, a made-up 64-hex keyed hash each.
        session.execute(
            text(
                _copy_rows(
                    "holders",
                    holder_columns,
                    {"id": "10000000 + i", "id_hash": "md5(i::text) || md5((-i)::text)"},
                    rows,
                )
            )
        )
        # Numbers: years 10..19 (the real ones are 26), level 4, serials 1..100000 per year.
        number = (
            f"'{BODY}' || (10 + (i - 1) / 100000)::text || '4' || "
            "lpad((((i - 1) % 100000) + 1)::text, 6, '0')"
        )
        session.execute(
            text(
                _copy_rows(
                    "certificates",
                    cert_columns,
                    {
                        "number": number,
                        "holder_id": "10000000 + i",
                        "batch_row": "i",
                        "level": "'4'",
                        "status": "'valid'",
                        "supersedes_id": "NULL",
                        "token": "'filler'",
                        "record": "''",
                    },
                    rows,
                )
            )
        )
    with runtime.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE holders; ANALYZE certificates")
        )
    return time.perf_counter() - start


def _fmt(run: WrkRun, base: WrkRun | None) -> str:
    share = f"{run.rps / base.rps:.0%}" if base else "100 %"
    errors = f" ({run.errors} errors)" if run.errors else ""
    return f"{run.rps:,.0f}{errors} | {run.p50_ms:.2f} ms | {run.p99_ms:.2f} ms | {share}"


def section() -> list[str]:
    """The verification section of bench/results.md."""
    missing = [tool for tool in ("wrk",) if shutil.which(tool) is None]
    pg = postgres_schema()
    if pg is None or missing:
        why = f"PostgreSQL not reachable at {PG_URL}" if pg is None else f"missing {missing}"
        return ["## Verification", "", f"Not measured: {why}.", ""]
    url, drop = pg
    workdir = Path(tempfile.mkdtemp(prefix="certsvc-bench-verify-"))
    try:
        env, runtime, issued = _setup(url, workdir)
        print(f"issued {len(issued):,} certificates", file=sys.stderr)
        counters = "Redis" if _redis_answers() else "process memory (no Redis answered)"
        if counters == "Redis":
            env["CERTSVC_REDIS_URL"] = REDIS_URL
        load = _load_figures(env, [token for _, _, token in issued[:ROTATED_TOKENS]])
        print(f"load: {load}", file=sys.stderr)
        small = _time_lookups(runtime, issued)
        fill_s = _fill(runtime, TOTAL_CERTIFICATES - REAL_CERTIFICATES)
        print(f"filled to {TOTAL_CERTIFICATES:,} in {fill_s:.0f} s", file=sys.stderr)
        large = _time_lookups(runtime, issued)
        runtime.db.dispose()
    finally:
        drop()
        shutil.rmtree(workdir, ignore_errors=True)
    hello, floor, api, page = load["hello"], load["floor"], load["api"], load["page"]
    ratio = large[0] / small[0]
    return [
        "## Verification",
        "",
        f"gunicorn, 2 sync workers, PostgreSQL, on 127.0.0.1; wrk `-t2 -c{CONNECTIONS} "
        f"-d{DURATION_S}s`, routes interleaved, median of {ROUNDS} rounds. wrk shares the 2 "
        "cores with the server. The hello-world route exists only in the benchmark app. The "
        f"verify routes walk {ROTATED_TOKENS:,} different real certificates round robin; "
        f"rate limits stay on (lifted to 10^8/minute), counted in {counters}.",
        "",
        "| route | requests/s | p50 | p99 | vs. hello-world |",
        "|---|---|---|---|---|",
        f"| `GET {HELLO}` (hello world, same app) | {_fmt(hello, None)} |",
        f"| `POST {FLOOR}` (the floor, same app) | {_fmt(floor, hello)} |",
        f"| `POST /api/v1/verify` | {_fmt(api, hello)} |",
        f"| `GET /v/<token>` (the page) | {_fmt(page, hello)} |",
        "",
        "CPU per request in the same runs (user + system time of each process group over the "
        "run, divided by the requests served; the cores are shared, so this is where the work "
        "goes):",
        "",
        "| route | " + " | ".join(hello.cpu_ms) + " | total |",
        "|---|" + "---|" * (len(hello.cpu_ms) + 1),
        *(
            f"| {name} | "
            + " | ".join(f"{v:.2f} ms" for v in run.cpu_ms.values())
            + f" | **{sum(run.cpu_ms.values()):.2f} ms** |"
            for name, run in (
                (f"`GET {HELLO}`", hello),
                (f"`POST {FLOOR}`", floor),
                ("`POST /api/v1/verify`", api),
                ("`GET /v/<token>`", page),
            )
        ),
        "",
        "The old goal (verify ≥ 60 % of hello-world) is withdrawn (issue #14): it had bought "
        "private SQLAlchemy internals and module-level caches; verification now runs through "
        "SQLAlchemy's public API, with its caches on the app's runtime. The figures are "
        f"reported as measured. With {CONNECTIONS} connections on 2 workers a request waits "
        f"for ~{CONNECTIONS // 2} others (Little's law: latency ≈ connections / throughput).",
        "",
        f"The floor route (`{FLOOR}`, benchmark app only) does per request only what every "
        "verification meeting the issue's other points must do: count the request in the "
        "Redis-backed limiter, check the token's Ed25519 signature, and read the certificate's "
        "current status (a revocation must show at once) with one prepared SELECT on a "
        "connection the worker holds open — no pool, no ORM, no joins, no field comparison, no "
        "transparency proof, no result document. Its share of hello-world "
        f"(**{floor.rps / hello.rps:.0%}**) bounds what any verify route of this app can reach "
        "here; the real route's CPU above the floor's is what it does beyond that minimum.",
        "",
        f"Look-up by number + name (`lookup_by_number`: find by number, compare the name, "
        f"verify the stored token), {LOOKUPS:,} random real certificates, one session each:",
        "",
        "| certificates in PostgreSQL | p50 | p99 |",
        "|---|---|---|",
        f"| {REAL_CERTIFICATES:,} | {small[0]:.2f} ms | {small[1]:.2f} ms |",
        f"| {TOTAL_CERTIFICATES:,} | {large[0]:.2f} ms | {large[1]:.2f} ms |",
        "",
        f"p50 at 1M / p50 at 10k = **{ratio:.2f}** "
        f"(goal ≤ 1.5: {'met' if ratio <= 1.5 else 'NOT met'}). "
        f"The {TOTAL_CERTIFICATES - REAL_CERTIFICATES:,} extra rows (and holders) were added "
        f"with set-based SQL in {fill_s:.0f} s. The number is unique-indexed, so the look-up "
        "is an index probe whose depth grows with log(n).",
        "",
    ]


def main() -> None:
    print("\n".join(section()))


if __name__ == "__main__":
    main()
