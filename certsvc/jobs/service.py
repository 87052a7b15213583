"""Jobs as the service sees them: submit, look at, run in fenced steps, sweep, download.

The ``jobs`` row is the truth; the queue only carries "job X may be run now". The rules:

1. **Submit** writes the row (and its encrypted input) in one transaction, *then* puts the
   id on the queue. If the queue cannot be reached the job waits as ``queued`` and the
   sweeper puts it on the queue again — a submitted job is never lost.
2. **Claim** (a worker takes job X): one conditional UPDATE moves a ``queued`` job — or a
   ``running`` one whose lease ran out — to ``running``, adds one to ``attempts`` and sets a
   lease; it deletes what an earlier, dead attempt had written. A second delivery of the same
   message finds nothing to claim, so two workers never run one job at once.
3. **Steps** of an attempt (progress, a chunk of the result, the end) each write in one
   transaction that checks ``attempts`` is still theirs and the job still ``running``
   (a fencing token): a worker that was presumed dead and lost its lease writes nothing
   more. Each step also renews the lease.
4. **Finish** marks the job ``succeeded`` (with its result's expiry) or ``failed`` in the same
   fenced way, and drops the job's input (it may hold personal data).
5. **Sweep** (every worker, every few seconds): jobs whose lease ran out go back to
   ``queued`` and on the queue; jobs ``queued`` for longer than a lease are put on the queue
   again (a message lost with Redis); a job that took more than :data:`MAX_ATTEMPTS` workers
   down with it fails; expired results are deleted.

So a job runs at least once, and its effects happen once: a render's result is the last
attempt's bytes only, an import replays the batch it issued (issuance is idempotent by
content and key).

Every read for a person takes the body (``body_id``) and answers NotFound for another
body's job, exactly as for one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certsvc.errors import CertsvcError, JobNotFinished, JobResultExpired, NotFound, RowError
from certsvc.i18n import N_, Message
from certsvc.models import utcnow
from certsvc.models.jobs import JOB_KINDS, Job, JobChunk

if TYPE_CHECKING:
    from certsvc.runtime import Runtime

__all__ = [
    "ASYNC_IMPORT_ROWS",
    "CHUNK_BYTES",
    "MAX_ATTEMPTS",
    "Attempt",
    "LeaseLost",
    "claim",
    "error_text",
    "get_job",
    "job_json",
    "list_jobs",
    "public_outcome",
    "read_input",
    "result_chunks",
    "row_errors",
    "submit",
    "sweep",
]

log = logging.getLogger(__name__)

#: Result bytes are stored in pieces of this size: a worker never holds more than one.
CHUNK_BYTES = 1024 * 1024
#: An import with more rows than this runs as a job, not in the request.
ASYNC_IMPORT_ROWS = 1_000
#: A job whose worker died this many times is failed rather than handed out again.
MAX_ATTEMPTS = 5
#: Progress is written at most this often (seconds); the last step always is.
PROGRESS_INTERVAL = 0.5
#: The key of a failed job's message record in its outcome (not shown as part of the outcome).
_ERROR_TEXT = "error_text"


class LeaseLost(CertsvcError):
    """This attempt no longer owns the job (its lease ran out and another worker took it)."""

    code = "job_lease_lost"
    http_status = 409
    exit_code = 75


# --- submit ---------------------------------------------------------------------------------


def submit(
    runtime: Runtime,
    body_id: int,
    kind: str,
    params: Mapping[str, Any],
    *,
    created_by: str,
    total: int = 0,
    payload: Any = None,
    dedupe_key: str | None = None,
) -> tuple[Job, bool]:
    """Store a new job and put it on the queue; returns ``(job, created)``.

    ``payload`` (JSON-able, e.g. the rows of an import) is kept encrypted until the job ends.
    With ``dedupe_key``, a job of the same body with the same key is answered instead
    (``created`` False) — the retry of a submission never runs the work twice.
    """
    assert kind in JOB_KINDS
    try:
        job = _store_job(runtime, body_id, kind, params, created_by, total, payload, dedupe_key)
    except IntegrityError:
        # The same submission, at the same moment, on another server: answer its job.
        job = None
    if job is None:
        with runtime.db.session() as session:
            existing = session.scalar(
                select(Job).where(Job.body_id == body_id, Job.dedupe_key == dedupe_key)
            )
        assert existing is not None  # found before, or the winner of the race above
        return existing, False
    _enqueue(runtime, job.id)
    return job, True


def _store_job(
    runtime: Runtime,
    body_id: int,
    kind: str,
    params: Mapping[str, Any],
    created_by: str,
    total: int,
    payload: Any,
    dedupe_key: str | None,
) -> Job | None:
    """The new job's row (and input), or None when a job with ``dedupe_key`` exists."""
    with runtime.db.transaction() as session:
        if dedupe_key is not None:
            existing = session.scalar(
                select(Job.id).where(Job.body_id == body_id, Job.dedupe_key == dedupe_key)
            )
            if existing is not None:
                return None
        job = Job(
            id=uuid.uuid4().hex,
            body_id=body_id,
            kind=kind,
            params=dict(params),
            state="queued",
            progress_total=total,
            created_by=created_by[:100],
            dedupe_key=dedupe_key,
        )
        session.add(job)
        session.flush()
        if payload is not None:
            _store_input(session, runtime, job.id, payload)
    return job


def _enqueue(runtime: Runtime, job_id: str) -> None:
    """Put the job on the queue; a queue that does not answer is left to the sweeper."""
    try:
        runtime.job_queue.enqueue(job_id)
    except Exception:  # the row is committed: the sweeper re-enqueues it within a lease
        log.exception("job %s stored but not queued; a worker's sweeper will queue it", job_id)


# --- the input, encrypted -------------------------------------------------------------------


def _input_key(runtime: Runtime) -> AESGCM:
    """A key for job inputs derived from the ID encryption key (they hold ID numbers)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"certsvc job input v1")
    return AESGCM(hkdf.derive(runtime.settings.id_encryption_key))


def _store_input(session: Session, runtime: Runtime, job_id: str, payload: Any) -> None:
    plain = zlib.compress(json.dumps(payload, ensure_ascii=False).encode(), 6)
    nonce = os.urandom(12)
    sealed = nonce + _input_key(runtime).encrypt(nonce, plain, job_id.encode())
    for seq, start in enumerate(range(0, len(sealed), CHUNK_BYTES)):
        session.add(
            JobChunk(job_id=job_id, role="input", seq=seq, data=sealed[start : start + CHUNK_BYTES])
        )


def read_input(runtime: Runtime, job_id: str) -> Any:
    """The job's payload as it was submitted."""
    with runtime.db.session() as session:
        sealed = b"".join(
            session.scalars(
                select(JobChunk.data)
                .where(JobChunk.job_id == job_id, JobChunk.role == "input")
                .order_by(JobChunk.seq)
            )
        )
    if len(sealed) < 13:
        raise NotFound(
            N_("job {job} has no stored input (it has ended, or never had one)"), job=job_id
        )
    plain = _input_key(runtime).decrypt(sealed[:12], sealed[12:], job_id.encode())
    return json.loads(zlib.decompress(plain))


# --- running: claim and fenced steps ----------------------------------------------------------


def claim(runtime: Runtime, job_id: str, worker: str) -> Attempt | None:
    """Take job ``job_id`` for this worker, or None when there is nothing to take (it has
    ended, or another worker holds a live lease on it)."""
    now = utcnow()
    lease = dt.timedelta(seconds=runtime.settings.job_lease_seconds)
    with runtime.db.transaction() as session:
        row = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                or_(Job.state == "queued", (Job.state == "running") & (Job.lease_until < now)),
                Job.attempts < MAX_ATTEMPTS,  # beyond that the sweeper gives the job up
            )
            .values(
                state="running",
                attempts=Job.attempts + 1,
                lease_until=now + lease,
                worker=worker[:100],
                started_at=func.coalesce(Job.started_at, now),
                progress_done=0,
                updated_at=now,
            )
            .returning(
                Job.attempts, Job.kind, Job.body_id, Job.params, Job.progress_total, Job.started_at
            )
        ).one_or_none()
        if row is None:
            return None
        # What a dead attempt wrote is not part of this one's result.
        session.execute(
            delete(JobChunk).where(JobChunk.job_id == job_id, JobChunk.role == "result")
        )
    attempts, kind, body_id, params, total, started_at = row
    return Attempt(
        runtime, job_id, int(attempts), kind, int(body_id), dict(params), int(total), started_at
    )


@dataclass
class Attempt:
    """One worker's run of one job. Every write checks the job is still this attempt's."""

    runtime: Runtime
    job_id: str
    number: int
    kind: str
    body_id: int
    params: dict[str, Any]
    total: int
    started_at: dt.datetime
    _seq: int = 0
    _buffer: bytearray | None = None
    _done: int = 0
    _written_at: float = 0.0
    _size: int = 0

    def _fenced(self, session: Session, **values: Any) -> None:
        now = utcnow()
        lease = dt.timedelta(seconds=self.runtime.settings.job_lease_seconds)
        owned = session.execute(
            update(Job)
            .where(Job.id == self.job_id, Job.attempts == self.number, Job.state == "running")
            .values({"lease_until": now + lease, "updated_at": now, **values})
            .returning(Job.id)
        ).first()
        if owned is None:
            raise LeaseLost(
                N_("job {job}: attempt {attempt} no longer owns the job"),
                job=self.job_id,
                attempt=self.number,
            )

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        """Report ``done`` of ``total`` units (and renew the lease), at most twice a second."""
        self._done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if not force and now - self._written_at < PROGRESS_INTERVAL:
            return
        self._written_at = now
        with self.runtime.db.transaction() as session:
            self._fenced(session, progress_done=done, progress_total=self.total)

    def write(self, data: bytes) -> None:
        """Add bytes to the result; they are stored a chunk at a time with the progress."""
        if self._buffer is None:
            self._buffer = bytearray()
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            self._flush(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]

    def _flush(self, piece: bytes) -> None:
        with self.runtime.db.transaction() as session:
            self._fenced(session, progress_done=self._done, progress_total=self.total)
            session.add(JobChunk(job_id=self.job_id, role="result", seq=self._seq, data=piece))
        self._seq += 1
        self._size += len(piece)

    def succeed(
        self,
        *,
        result_name: str = "",
        result_type: str = "",
        outcome: Mapping[str, Any] | None = None,
    ) -> None:
        """End the attempt successfully: the result is complete and may be downloaded."""
        if self._buffer:
            self._flush(bytes(self._buffer))
            self._buffer = None
        now = utcnow()
        ttl = dt.timedelta(hours=self.runtime.settings.job_result_ttl_hours)
        with self.runtime.db.transaction() as session:
            self._fenced(
                session,
                state="succeeded",
                progress_done=self.total or self._done,
                progress_total=self.total or self._done,
                finished_at=now,
                run_seconds=(now - self.started_at).total_seconds(),
                expires_at=now + ttl,
                lease_until=None,
                result_name=result_name,
                result_type=result_type,
                result_size=self._size,
                outcome=dict(outcome or {}),
            )
            _drop_input(session, self.job_id)

    def fail(
        self,
        code: str,
        message: Message,
        outcome: Mapping[str, Any] | None = None,
        *,
        rows: Sequence[RowError] = (),
    ) -> None:
        """End the attempt with an error a person can act on; nothing is downloadable.

        The message is kept in English (``error_message``, for logs and old readers) and as a
        message record, so whoever looks at the job reads it in their own language
        (:func:`error_text`); so are a rejected batch's ``rows`` (:func:`row_errors`).
        """
        stored = dict(outcome or {})
        stored[_ERROR_TEXT] = message.to_record()
        if rows:
            stored["rows"] = [e.to_record() for e in rows]
        now = utcnow()
        with self.runtime.db.transaction() as session:
            self._fenced(
                session,
                state="failed",
                finished_at=now,
                run_seconds=(now - self.started_at).total_seconds(),
                lease_until=None,
                error_code=code[:64],
                error_message=message.english,
                outcome=stored,
            )
            session.execute(
                delete(JobChunk).where(JobChunk.job_id == self.job_id, JobChunk.role == "result")
            )
            _drop_input(session, self.job_id)


def _drop_input(session: Session, job_id: str) -> None:
    session.execute(delete(JobChunk).where(JobChunk.job_id == job_id, JobChunk.role == "input"))


# --- the sweeper ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did: job ids put on the queue again, jobs failed, results deleted."""

    requeued: list[str]
    abandoned: list[str]
    expired: int


_ABANDONED = Message(
    N_(
        "the job stopped its worker {attempts} times and was given up; submit it again, and if "
        "it fails again tell the operator (the workers' logs say why)"
    ),
    attempts=MAX_ATTEMPTS,
)


def sweep(runtime: Runtime) -> SweepReport:
    """Hand out jobs whose worker died, re-queue lost messages, delete expired results.

    Safe to run on every worker at once: each change is a conditional UPDATE, so a job is
    taken back by one sweeper only.
    """
    now = utcnow()
    lease = dt.timedelta(seconds=runtime.settings.job_lease_seconds)
    stale = (Job.state == "running") & (Job.lease_until < now)
    with runtime.db.transaction() as session:
        abandoned = list(
            session.scalars(
                update(Job)
                .where(stale, Job.attempts >= MAX_ATTEMPTS)
                .values(
                    state="failed",
                    finished_at=now,
                    lease_until=None,
                    updated_at=now,
                    error_code="job_abandoned",
                    error_message=_ABANDONED.english,
                    outcome={_ERROR_TEXT: _ABANDONED.to_record()},
                )
                .returning(Job.id)
            )
        )
        if abandoned:
            session.execute(delete(JobChunk).where(JobChunk.job_id.in_(abandoned)))
        requeued = list(
            session.scalars(
                update(Job)
                .where(stale)
                .values(state="queued", enqueued_at=now, updated_at=now, worker="")
                .returning(Job.id)
            )
        )
        requeued += list(
            session.scalars(
                update(Job)
                .where(Job.state == "queued", Job.enqueued_at < now - lease)
                .values(enqueued_at=now)
                .returning(Job.id)
            )
        )
        expired = list(
            session.scalars(
                update(Job)
                .where(Job.state == "succeeded", Job.expires_at < now)
                .values(state="expired", updated_at=now)
                .returning(Job.id)
            )
        )
        if expired:
            session.execute(delete(JobChunk).where(JobChunk.job_id.in_(expired)))
    for job_id in requeued:
        _enqueue(runtime, job_id)
    if requeued or abandoned or expired:
        log.info(
            "sweep: %d job(s) queued again, %d given up, %d result(s) expired",
            len(requeued),
            len(abandoned),
            len(expired),
        )
    return SweepReport(requeued, abandoned, len(expired))


# --- reading, for people --------------------------------------------------------------------


def get_job(session: Session, body_id: int | None, job_id: str) -> Job:
    """Job ``job_id`` of body ``body_id`` (None: any body — operators and the CLI)."""
    query = select(Job).where(Job.id == job_id[:32])
    if body_id is not None:
        query = query.where(Job.body_id == body_id)
    job = session.scalar(query)
    if job is None:
        raise NotFound(N_("no job {job}; `certsvc jobs list` shows the jobs"), job=job_id[:32])
    return job


def list_jobs(session: Session, body_id: int | None, limit: int = 50) -> list[Job]:
    """The newest jobs first, of one body or (None) of all."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if body_id is not None:
        query = query.where(Job.body_id == body_id)
    return list(session.scalars(query))


def percent(job: Job) -> int:
    """Progress in whole percent (100 once succeeded)."""
    if job.state == "succeeded":
        return 100
    if job.progress_total <= 0:
        return 0
    return min(99, job.progress_done * 100 // job.progress_total)


def job_json(job: Job) -> dict[str, Any]:
    """The job as the API, the console's progress poll and the CLI's --json show it."""

    def at(value: dt.datetime | None) -> str | None:
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "finished": job.state in ("succeeded", "failed", "expired"),
        "progress": {
            "done": job.progress_done,
            "total": job.progress_total,
            "percent": percent(job),
        },
        "attempts": job.attempts,
        "params": job.params,
        "created_by": job.created_by,
        "created_at": at(job.created_at),
        "started_at": at(job.started_at),
        "finished_at": at(job.finished_at),
        "expires_at": at(job.expires_at),
        "outcome": public_outcome(job),
        "result": (
            {"name": job.result_name, "type": job.result_type, "size": job.result_size}
            if job.state == "succeeded" and job.result_name
            else None
        ),
        "error": (
            {"code": job.error_code, "message": str(error_text(job))}
            if job.state == "failed"
            else None
        ),
    }


def result_chunks(
    runtime: Runtime, body_id: int | None, job_id: str
) -> tuple[Job, Iterator[bytes]]:
    """The job (checked to be of ``body_id``) and its result, read one chunk at a time."""
    with runtime.db.session() as session:
        job = get_job(session, body_id, job_id)
    if job.state == "expired" or (job.expires_at is not None and job.expires_at < utcnow()):
        raise JobResultExpired(
            N_(
                "the result of job {job} was kept until {until} UTC and has been deleted; "
                "start the job again"
            ),
            job=job.id,
            until=f"{job.expires_at:%Y-%m-%d %H:%M}",
        )
    if job.state != "succeeded" or not job.result_name:
        if job.state == "queued":
            raise JobNotFinished(
                N_(
                    "job {job} is waiting in the queue and has no result to download yet; "
                    "wait until it has succeeded"
                ),
                job=job.id,
            )
        if job.state == "running":
            raise JobNotFinished(
                N_(
                    "job {job} is running and has no result to download yet; wait until it "
                    "has succeeded"
                ),
                job=job.id,
            )
        if job.state == "failed":
            raise JobNotFinished(
                N_("job {job} failed and has no result to download; start it again"), job=job.id
            )
        raise JobNotFinished(N_("job {job} has no result to download"), job=job.id)

    def chunks() -> Iterator[bytes]:
        seq = 0
        while True:
            with runtime.db.session() as session:
                data = session.scalar(
                    select(JobChunk.data).where(
                        JobChunk.job_id == job.id, JobChunk.role == "result", JobChunk.seq == seq
                    )
                )
            if data is None:
                return
            yield data
            seq += 1

    return job, chunks()


def encode_rows(rows: Sequence[tuple[int, Mapping[str, str]]]) -> list[list[Any]]:
    """Rows of an import as JSON (row number, values)."""
    return [[n, dict(values)] for n, values in rows]


def decode_rows(data: list[list[Any]]) -> list[tuple[int, dict[str, str]]]:
    return [(int(n), {str(k): str(v) for k, v in values.items()}) for n, values in data]


# --- reading a job's error in the reader's language -------------------------------------------


def error_text(job: Job) -> Message:
    """Why ``job`` failed, rendered (``str()``) in the current language.

    A job failed before messages were kept as records has its English text only: that is
    shown as it is.
    """
    record = job.outcome.get(_ERROR_TEXT) if job.outcome else None
    if isinstance(record, dict):
        return Message.from_record(record)
    return _stored_english(job.error_message)


def row_errors(job: Job) -> list[RowError]:
    """The row errors a rejected batch left with its job (at most 1,000), oldest form too."""
    found: list[RowError] = []
    for record in (job.outcome or {}).get("rows", []):
        if "text" in record:
            found.append(RowError.from_record(record))
        else:  # stored as English text by an earlier version
            found.append(
                RowError(record["row"], record["column"], _stored_english(record["message"]))
            )
    return found


def _stored_english(text: str) -> Message:
    """Text a job kept in English only (before messages were records): shown as it is, in
    every language, since no catalogue entry matches a rendered sentence."""
    return Message(text)


def public_outcome(job: Job) -> dict[str, Any]:
    """The job's outcome as people and clients see it: row errors rendered in the current
    language, the message record left out (the error itself is shown as ``error``)."""
    shown = {k: v for k, v in (job.outcome or {}).items() if k != _ERROR_TEXT}
    if "rows" in shown:
        shown["rows"] = [e.to_dict() for e in row_errors(job)]
    return shown
