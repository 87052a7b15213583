"""Tables of background jobs: one row per job (state, progress, lease, result) and the
job's stored bytes (its input, its result) in chunks.

They live in the database, not in the queue, so that every app server and every worker sees
the same state: the queue (Huey, :mod:`certsvc.jobs.queue`) only says "job X may be run", and
losing that message (a worker killed with the job in hand) loses nothing — the row is still
there and :func:`certsvc.jobs.service.sweep` hands it out again. The tables subclass
:class:`certsvc.models.Base`, which imports this module, so Alembic sees one schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from certsvc.models.base import Base, UTCDateTime, utcnow

__all__ = ["JOB_KINDS", "JOB_STATES", "Job", "JobChunk"]

#: What a job does: a batch's ZIP of PDFs, its merged print PDF, an import of a large results
#: file, or a statistics export.
JOB_KINDS = ("batch_zip", "batch_print", "import", "stats_export")
#: ``queued`` → ``running`` → ``succeeded`` | ``failed``; a running job whose lease ran out is
#: ``queued`` again (at least once), a succeeded job whose result expired is ``expired``.
JOB_STATES = ("queued", "running", "succeeded", "failed", "expired")


class Job(Base):
    """One piece of long work of one certification body."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    body_id: Mapped[int] = mapped_column(
        ForeignKey("certification_bodies.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    #: What the job works on, e.g. ``{"batch_id": …}``; never personal data (rows of an
    #: import are an encrypted input chunk).
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    #: How often a worker has taken the job; also the fencing token of the current attempt:
    #: every write of an attempt checks it, so a worker that lost its lease writes nothing.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    #: Submitting the same work twice (an API retry with the same Idempotency-Key, the same
    #: file confirmed twice) answers the first job: unique per body when given.
    dedupe_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: When the job was last put on the queue (by a submit or by the sweeper).
    enqueued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Seconds from the first start to the end (for the duration histogram of /metrics).
    run_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: What the job produced besides a file, e.g. ``{"batch_id": …}`` for an import.
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result_name: Mapped[str] = mapped_column(String(255), default="")
    result_type: Mapped[str] = mapped_column(String(100), default="")
    result_size: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'running', 'succeeded', 'failed', 'expired')", name="state"
        ),
        CheckConstraint(
            "kind IN ('batch_zip', 'batch_print', 'import', 'stats_export')", name="kind"
        ),
        Index("ix_jobs_state_lease", "state", "lease_until"),
        UniqueConstraint("body_id", "dedupe_key"),
    )


class JobChunk(Base):
    """A piece of a job's input (``role`` input) or result (``role`` result), in order."""

    __tablename__ = "job_chunks"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (CheckConstraint("role IN ('input', 'result')", name="role"),)
