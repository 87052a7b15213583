"""Transparency-log figures for ``make bench``: append rate and proof time at 1M leaves.

:func:`section` returns markdown lines for ``bench/results.md``. It builds a log of
``CERTSVC_BENCH_LOG_LEAVES`` (default 1,000,000) synthetic leaf hashes through the real append
path (:func:`certsvc.transparency.store.append_leaves`, one transaction per chunk, as a backlog
catch-up does), then times issuance-sized appends and proofs at that size. Synthetic leaves
isolate the log from issuance, which ``bench.run`` measures on its own. SQLite always;
PostgreSQL too when it answers at ``CERTSVC_BENCH_DATABASE_URL``.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench.run import PG_URL, postgres_schema
from certsvc.db import Database
from certsvc.models import Base
from certsvc.models.transparency import LogCheckpoint, LogKey, LogState, MerkleNode
from certsvc.transparency import merkle, store
from certsvc.transparency.leaf import EventFacts, leaf_hash_of

LEAVES = int(os.environ.get("CERTSVC_BENCH_LOG_LEAVES", "1000000"))
CHUNK = 50_000  # leaves per transaction while building the log
BATCH = 1_000  # an issuance batch
PROOFS = 500
TABLES = [m.__table__ for m in (MerkleNode, LogState, LogKey, LogCheckpoint)]


@dataclass
class Figures:
    backend: str
    build_rate: float
    build_seconds: float
    batch_ms: float
    inclusion_ms: tuple[float, float]
    consistency_ms: tuple[float, float]
    root_ms: float
    nodes: int


def _leaf(i: int) -> bytes:
    return merkle.leaf_hash(i.to_bytes(8, "big"))


def _append(db: Database, leaves: list[bytes]) -> None:
    with db.transaction() as session:
        size = store.lock_log(session)
        store.append_leaves(session, leaves, size=size)


def _ms(work: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def measure(db: Database, backend: str) -> Figures:
    Base.metadata.create_all(db.engine, tables=TABLES)  # type: ignore[arg-type]
    start = time.perf_counter()
    for first in range(0, LEAVES, CHUNK):
        _append(db, [_leaf(i) for i in range(first, min(first + CHUNK, LEAVES))])
        print(f"  {backend}: {min(first + CHUNK, LEAVES):,} leaves", file=sys.stderr)
    build = time.perf_counter() - start
    size = LEAVES
    batches = []
    for _ in range(5):  # issuance-sized appends on top of the big tree
        leaves = [_leaf(size + i) for i in range(BATCH)]
        t = time.perf_counter()
        _append(db, leaves)
        batches.append((time.perf_counter() - t) * 1000)
        size += BATCH
    rng = random.Random(6962)
    with db.session() as session:
        inclusion = _ms(lambda: store.inclusion_proof(session, rng.randint(1, size), size), PROOFS)

        def consistency() -> object:
            old = rng.randint(1, size - 1)
            return store.consistency_proof(session, old, rng.randint(old, size))

        consistent = _ms(consistency, PROOFS)
        root = _ms(lambda: store.root_hash(session, size), 50)[0]
        # Spot-check one proof end to end.
        seq = rng.randint(1, size)
        proof = store.inclusion_proof(session, seq, size)
        assert merkle.verify_inclusion(
            _leaf(seq - 1), seq - 1, size, proof, store.root_hash(session, size)
        )
        nodes = int(session.execute(text("SELECT count(*) FROM merkle_nodes")).scalar_one())
    return Figures(
        backend,
        LEAVES / build,
        build,
        statistics.median(batches),
        inclusion,
        consistent,
        root,
        nodes,
    )


def leaf_rate(count: int = 50_000) -> float:
    """Leaves per second computed from event facts (canonical JSON, two SHA-256 of the
    signed forms, the leaf hash): the per-event work an append adds to the node writes."""
    at = dt.datetime.now(dt.UTC)
    facts = [
        EventFacts(
            i, "issued", at, {"kid": "k" * 43}, "Y000132010001", f"N{i:021d}", "t" * 600, "r" * 3000
        )
        for i in range(1, count + 1)
    ]
    start = time.perf_counter()
    for f in facts:
        leaf_hash_of(f)
    return count / (time.perf_counter() - start)


def section() -> list[str]:
    """Markdown lines for the transparency-log part of ``bench/results.md``."""
    workdir = Path(tempfile.mkdtemp(prefix="certsvc-bench-log-"))
    results: list[Figures] = []
    leaves_per_second = leaf_rate()
    try:
        db = Database(f"sqlite:///{workdir}/log.db")
        try:
            results.append(measure(db, "SQLite"))
        finally:
            db.dispose()
        pg = postgres_schema("certsvc_bench_log")
        if pg is not None:
            url, drop = pg
            db = Database(url)
            try:
                results.append(measure(db, "PostgreSQL"))
            finally:
                db.dispose()
                drop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    depth = (LEAVES - 1).bit_length()
    lines = [
        "## Transparency log",
        "",
        f"A log of {LEAVES:,} synthetic leaves built through `store.append_leaves` in "
        f"transactions of {CHUNK:,} (a backlog catch-up), then {BATCH:,}-leaf appends (one "
        f"issuance batch) and {PROOFS} proofs of random positions at that size. Every complete "
        f"subtree is stored (`merkle_nodes`), so a proof reads at most 2×{depth} nodes by "
        "primary key in one statement.",
        "",
        "| backend | build rate | build time | 1,000-leaf append | inclusion proof "
        "(median / p95) | consistency proof (median / p95) | root | stored nodes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in results:
        lines.append(
            f"| {f.backend} | **{f.build_rate:,.0f} leaves/s** | {f.build_seconds:,.1f} s "
            f"| {f.batch_ms:,.1f} ms | **{f.inclusion_ms[0]:.2f}** / {f.inclusion_ms[1]:.2f} ms "
            f"| {f.consistency_ms[0]:.2f} / {f.consistency_ms[1]:.2f} ms | {f.root_ms:.2f} ms "
            f"| {f.nodes:,} |"
        )
    lines += [
        "",
        f"Leaf data for real events (canonical JSON, SHA-256 of a 600-byte token and a 3 kB "
        f"record, leaf hash): {leaves_per_second:,.0f} events/s, on top of the node writes.",
    ]
    if len(results) == 1:
        lines += ["", f"PostgreSQL was not reachable at {PG_URL}; only SQLite was measured."]
    lines.append("")
    return lines


if __name__ == "__main__":
    print("\n".join(section()))
