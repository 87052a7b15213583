"""``make bench``: issuance throughput next to the bare Ed25519 signing rate, into results.md.

Each certificate costs two Ed25519 signatures (QR token and vc+jwt record), so the signing
rate measured in the same run, halved, is the ceiling the issuance figure is compared with.
The machine is small (2 cores) and shared: every figure is the median of several rounds, and
the ratios matter more than the absolute numbers.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from certsvc.bodies.bodies import NewBody, add_scope, create_body, load_occupations
from certsvc.cli.demo import resident_id, uscc
from certsvc.config import Settings, generate_secrets
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.occupations import shipped_catalogue
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.models.migrate import upgrade
from certsvc.runtime import Runtime
from certsvc.signing.keys import generate_private_key

RESULTS = Path(__file__).with_name("results.md")
PG_URL = os.environ.get(
    "CERTSVC_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BATCH = 1_000
ROUNDS = 5
BODY = "Y000132010001"
BODY_USCC = uscc("91320100MA1X7K3P8")


def median_rate(work: Callable[[], int], rounds: int) -> tuple[float, list[float]]:
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        done = work()
        rates.append(done / (time.perf_counter() - start))
    return statistics.median(rates), rates


def signing_rate() -> float:
    key = generate_private_key()
    message = b"x" * 300

    def work() -> int:
        for _ in range(5_000):
            key.sign(message)
        return 5_000

    return median_rate(work, ROUNDS)[0]


def rows_for(start: int) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for i in range(BATCH):
        n = start + i
        first17 = f"32010{(n // 1_000_000) % 10}{1960 + (n // 1000) % 40}0101{n % 1000:03d}"
        rows.append(
            (
                i + 2,
                {
                    "name": "王建国",
                    "id_type": "居民身份证",
                    "id_number": resident_id(first17),
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
                },
            )
        )
    return rows


def issuance_rate(url: str, workdir: Path) -> tuple[float, list[float]]:
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": url,
        "CERTSVC_KEY_DIR": str(workdir / "keys"),
    }
    runtime = Runtime.from_settings(Settings.from_env(env))
    upgrade(runtime.db.engine)
    with runtime.db.transaction() as session:
        load_occupations(session, shipped_catalogue())
        body = create_body(session, NewBody(BODY, "基准测试集团", BODY_USCC, chain_leader=True))
        runtime.keyring.create_key(session, body)
        add_scope(session, body, ["6-31-01-03"], CERTIFIED_LEVELS)
    # Rows are made before the clock starts: generating test IDs is not issuance.
    batches = iter([rows_for(start) for start in range(0, (ROUNDS + 1) * BATCH, BATCH)])

    def work() -> int:
        rows = next(batches)
        result = issue_batch(runtime, BODY, rows, source="api", content_sha256=content_hash(rows))
        assert len(result.certificates) == BATCH
        return BATCH

    work()  # warm-up: imports, key unlock, first counter row
    try:
        return median_rate(work, ROUNDS)
    finally:
        runtime.db.dispose()


def postgres_schema(prefix: str = "certsvc_bench") -> tuple[str, Callable[[], None]] | None:
    """A fresh schema on the benchmark PostgreSQL: (URL using it, drop function), or None."""
    try:
        admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError:
        return None

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


def issuance_section() -> list[str]:
    """Issuance throughput on PostgreSQL and SQLite next to the bare signing rate."""
    workdir = Path(tempfile.mkdtemp(prefix="certsvc-bench-"))
    try:
        sign = signing_rate()
        print(f"bare Ed25519 signing: {sign:,.0f} signatures/s", file=sys.stderr)
        results: dict[str, tuple[float, list[float]]] = {}
        pg = postgres_schema()
        if pg is not None:
            url, drop = pg
            try:
                results["PostgreSQL"] = issuance_rate(url, workdir / "pg")
            finally:
                drop()
        results["SQLite"] = issuance_rate(f"sqlite:///{workdir}/bench.db", workdir / "sqlite")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ceiling = sign / 2
    lines = [
        "## Issuance",
        "",
        f"Batches of {BATCH:,} rows through `issue_batch`: validate every row (ID check digits, "
        "scope, membership, duplicates against the database), allocate numbers, sign the QR "
        "token and the vc+jwt record, encrypt and hash the ID, store holders, certificates "
        f"and events — one transaction per batch. Median of {ROUNDS} rounds after a warm-up.",
        "",
        "| what | rate | vs. signing ceiling |",
        "|---|---|---|",
        f"| bare Ed25519 signing (baseline) | {sign:,.0f} signatures/s | — |",
        f"| signing ceiling (2 signatures per certificate) | {ceiling:,.0f} certificates/s "
        "| 100 % |",
    ]
    for name, (rate, rounds) in results.items():
        print(f"issuance on {name}: {rate:,.0f} certificates/s", file=sys.stderr)
        spread = ", ".join(f"{r:,.0f}" for r in rounds)
        lines.append(
            f"| issuance on {name} | **{rate:,.0f} certificates/s** (rounds: {spread}) "
            f"| {rate / ceiling:.0%} |"
        )
    if "PostgreSQL" not in results:
        lines += ["", f"PostgreSQL was not reachable at {PG_URL}; only SQLite was measured."]
    lines += ["", "Goal (issue #3): ≥ 2,000 certificates/s on PostgreSQL on this 2-core machine."]
    return lines


def _sections() -> dict[str, Callable[[], list[str]]]:
    from bench import imports, jobs, pdf, photos, registry, transparency, verify

    return {
        "issuance": issuance_section,
        "import": imports.section,
        "pdf": pdf.section,
        "verify": verify.section,
        "registry": registry.section,
        "transparency": transparency.section,
        "jobs": jobs.section,
        "photos": photos.section,
    }


#: Each section's heading in results.md, by the name ``SECTIONS=…`` takes.
TITLES = {
    "issuance": "Issuance",
    "import": "Reading results files",
    "pdf": "Certificate PDFs",
    "verify": "Verification",
    "registry": "Registry feed",
    "transparency": "Transparency log",
    "jobs": "Jobs",
    "photos": "Importing with photos",
}


def _blocks(markdown: str) -> dict[str, list[str]]:
    """The sections of a results.md by heading: each ``## `` line and the lines up to the
    next one."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = blocks[line[3:].strip()] = []
        if current is not None:
            current.append(line)
    return blocks


def _stamped(lines: list[str], title: str) -> list[str]:
    """A section's lines under its heading, with the time it was measured."""
    body = lines[1:] if lines and lines[0] == f"## {title}" else lines
    while body and not body[0].strip():
        body = body[1:]
    while body and not body[-1].strip():
        body = body[:-1]
    stamp = f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC."
    return [f"## {title}", "", stamp, "", *body]


def main(argv: list[str]) -> int:
    """Run the named sections (default: all) and write bench/results.md.

    A partial run replaces only its sections; the others keep their figures and the time
    they were measured, so one slow section can be re-run without redoing the rest.
    """
    sections = _sections()
    chosen = argv or list(sections)
    unknown = [name for name in chosen if name not in sections]
    if unknown:
        print(f"unknown section(s) {unknown}; choose from {list(sections)}", file=sys.stderr)
        return 2
    kept = _blocks(RESULTS.read_text()) if RESULTS.exists() else {}
    failed = 0
    for name in chosen:
        print(f"== {name}", file=sys.stderr)
        title = TITLES[name]
        try:
            kept[title] = _stamped(sections[name](), title)
        except Exception as exc:  # a broken section must not hide the others' figures
            failed += 1
            failure = (
                f"**The run at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC failed:** "
                f"`{type(exc).__name__}: {exc}`"
            )
            earlier = kept.get(title, [])[1:]
            note = ["", "Earlier figures:"] if earlier else []
            kept[title] = [f"## {title}", "", failure, *note, *earlier]
    document = [
        "# certsvc benchmarks",
        "",
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}. "
        "The machine is shared and noisy: compare the ratios within a section, measured in "
        "one run, more than absolute figures across sections. `make bench` runs every "
        "section; `make bench SECTIONS=verify` re-runs one and keeps the others.",
        "",
    ]
    for name in sections:
        block = kept.get(TITLES[name], [])
        while block and not block[-1].strip():
            block = block[:-1]
        if block:
            document += [*block, ""]
    RESULTS.write_text("\n".join(document))
    print(f"wrote {RESULTS}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
