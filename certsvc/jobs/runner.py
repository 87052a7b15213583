"""What each kind of job does, in steps a second run can repeat without harm.

- ``batch_zip`` / ``batch_print``: render the batch; the bytes go to the job's result a
  chunk at a time (:class:`~certsvc.jobs.service.Attempt`). A second attempt starts over —
  its claim deleted the first attempt's chunks — so the result is one attempt's whole output.
- ``import``: issue the stored rows with :func:`~certsvc.issuance.service.issue_batch`,
  which is all-or-nothing and idempotent by content (and by the API's Idempotency-Key): a
  second attempt after a crash answers the batch the first one committed, never a second.
- ``stats_export``: count and write the body's statistics (read-only, repeatable).

:func:`run_job` is what the queue's message runs on a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from certsvc.errors import BatchRejected, CertsvcError, RowError
from certsvc.i18n import N_, Message
from certsvc.jobs import rendering
from certsvc.jobs.queue import worker_name
from certsvc.jobs.service import Attempt, LeaseLost, claim, decode_rows, read_input

if TYPE_CHECKING:
    from certsvc.runtime import Runtime

__all__ = ["run_job"]

log = logging.getLogger(__name__)


def run_job(runtime: Runtime, job_id: str) -> None:
    """Claim job ``job_id`` and run it to its end; nothing when it is not to be had."""
    attempt = claim(runtime, job_id, worker_name())
    if attempt is None:
        log.info("job %s: nothing to run (finished, or held by another worker)", job_id)
        return
    log.info("job %s (%s): attempt %d", job_id, attempt.kind, attempt.number)
    try:
        _STEPS[attempt.kind](runtime, attempt)
    except LeaseLost:
        log.warning(
            "job %s: attempt %d lost its lease; another worker has it", job_id, attempt.number
        )
    except BatchRejected as exc:
        attempt.fail(exc.code, exc.text, rows=exc.errors[:1000])
    except CertsvcError as exc:
        attempt.fail(exc.code, exc.text)
    except Exception:
        # Not a problem a person can fix from the message: the details go to the worker's
        # log (never to the job, which people read), the job ends so it cannot loop.
        log.exception("job %s: attempt %d failed", job_id, attempt.number)
        attempt.fail(
            "internal_error",
            Message(
                N_(
                    "the job failed on the server; start it again, and if it fails again tell "
                    "the operator (the worker's log has the details)"
                )
            ),
        )


def _batch_zip(runtime: Runtime, attempt: Attempt) -> None:
    batch_id = str(attempt.params["batch_id"])
    attempt.progress(0, rendering.batch_size(runtime, batch_id), force=True)
    for chunk in rendering.render_batch_zip(runtime, batch_id, attempt.progress):
        attempt.write(chunk)
    attempt.succeed(result_name=f"batch-{batch_id}.zip", result_type="application/zip")


def _batch_print(runtime: Runtime, attempt: Attempt) -> None:
    batch_id = str(attempt.params["batch_id"])
    attempt.progress(0, rendering.batch_size(runtime, batch_id), force=True)
    attempt.write(rendering.render_batch_print(runtime, batch_id, attempt.progress))
    attempt.succeed(result_name=f"batch-{batch_id}.pdf", result_type="application/pdf")


def _import(runtime: Runtime, attempt: Attempt) -> None:
    from certsvc.issuance.service import issue_batch

    payload = read_input(runtime, attempt.job_id)
    rows = decode_rows(payload["rows"])
    read_errors = [RowError.from_record(e) for e in payload.get("read_errors", [])]
    attempt.progress(0, len(rows), force=True)
    # SQLite has one writer at a time, and issuance holds the write lock until it commits:
    # progress written from another connection meanwhile would wait for it (and time out).
    # PostgreSQL locks rows, so there the bar moves while the batch is signed.
    progress = attempt.progress if runtime.db.dialect != "sqlite" else None
    result = issue_batch(
        runtime,
        str(payload["body_code"]),
        rows,
        source=str(payload["source"]),
        content_sha256=str(payload["content_sha256"]),
        filename=str(payload.get("filename", "")),
        idempotency_key=payload.get("idempotency_key"),
        actor=str(payload.get("actor", "")),
        read_errors=read_errors,
        progress=progress,
    )
    attempt.succeed(
        outcome={
            "batch_id": result.batch_id,
            "certificates": len(result.certificates),
            "replayed": result.replayed,
            "superseded": result.superseded,
        }
    )


def _stats_export(runtime: Runtime, attempt: Attempt) -> None:
    from certsvc.registry.stats import compute_stats, render

    fmt = str(attempt.params.get("format", "xlsx"))
    attempt.progress(0, 1, force=True)
    with runtime.db.session() as session:
        stats = compute_stats(
            session, body_id=attempt.body_id, extra_provinces=runtime.settings.extra_provinces
        )
    attempt.write(render(stats, fmt))
    types = {
        "json": "application/json",
        "csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    day = stats.generated_at.strftime("%Y%m%d")
    attempt.succeed(result_name=f"statistics-{day}.{fmt}", result_type=types[fmt])


_STEPS: dict[str, Callable[[Runtime, Attempt], None]] = {
    "batch_zip": _batch_zip,
    "batch_print": _batch_print,
    "import": _import,
    "stats_export": _stats_export,
}
