"""Concurrent issuance: numbers stay unique and gap-free (the DESIGN.md number contract)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from certsvc.domain.numbers import parse_certificate_number
from certsvc.models import Certificate, Event
from certsvc.runtime import Runtime
from tests.conftest import issue, row

WORKERS = 8
TOTAL = 2_000
BATCH = 25


@pytest.mark.slow
def test_eight_workers_issue_2000_certificates_without_duplicate_or_gap(
    runtime: Runtime, body: str
) -> None:
    barrier = threading.Barrier(WORKERS)
    batches = [
        [row(n, level="四级" if n % 3 else "三级") for n in range(start, start + BATCH)]
        for start in range(0, TOTAL, BATCH)
    ]

    def worker(index: int) -> list[str]:
        barrier.wait()  # start together so the transactions overlap
        numbers: list[str] = []
        for batch in batches[index::WORKERS]:
            numbers += [c.number for c in issue(runtime, batch).certificates]
        return numbers

    with ThreadPoolExecutor(WORKERS) as pool:
        issued = [n for numbers in pool.map(worker, range(WORKERS)) for n in numbers]

    assert len(issued) == TOTAL
    assert len(set(issued)) == TOTAL
    with runtime.db.session() as session:
        stored = session.scalars(select(Certificate.number)).all()
    assert sorted(stored) == sorted(issued)
    by_level: dict[str, list[int]] = {}
    for number in stored:
        parsed = parse_certificate_number(number)
        by_level.setdefault(parsed.level.code, []).append(parsed.serial)
    for level, serials in by_level.items():
        assert sorted(serials) == list(range(1, len(serials) + 1)), f"gap at level {level}"
    assert sum(len(s) for s in by_level.values()) == TOTAL
    with runtime.db.session() as session:
        seqs = session.scalars(select(Event.seq).order_by(Event.seq)).all()
        by_batch: dict[str | None, list[int]] = {}
        for seq, batch_id in session.execute(
            select(Event.seq, Event.batch_id).where(Event.kind == "issued")
        ):
            by_batch.setdefault(batch_id, []).append(seq)
    # The event log is numbered in commit order without holes, whatever the interleaving,
    # and each batch's events form one run (its transaction held the log head).
    assert seqs == list(range(1, len(seqs) + 1))
    assert sum(len(v) for v in by_batch.values()) == TOTAL
    for batch_seqs in by_batch.values():
        assert max(batch_seqs) - min(batch_seqs) + 1 == len(batch_seqs) == BATCH
