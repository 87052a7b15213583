"""``certsvc worker`` and ``certsvc jobs list|show|wait|zip|print|stats|download``.

Registered on the ``certsvc`` group by :mod:`certsvc.cli.main`.
The CLI is an operator's tool: it sees the jobs of every body (``--body`` narrows the list).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.cli.columns import pad
from certsvc.cli.context import Context, pass_ctx
from certsvc.cli.help import HelpCommand, HelpGroup
from certsvc.errors import JobFailed, NotFound
from certsvc.i18n import N_, gettext, ngettext, plural
from certsvc.jobs import service
from certsvc.models import Batch, CertificationBody
from certsvc.models.jobs import Job
from certsvc.names import job_kind_name, job_state_name
from certsvc.private_files import open_private


@click.command(cls=HelpCommand)
@click.option(
    "--threads",
    type=click.IntRange(1, 32),
    default=2,
    show_default=True,
    help="Jobs run at the same time in this process.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve this worker's Prometheus metrics (certificates issued by import jobs) "
    "on this port, on --metrics-host only.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@pass_ctx
def worker(ctx: Context, threads: int, metrics_port: int | None, metrics_host: str) -> None:
    """Run background jobs (batch ZIPs and print PDFs, imports, exports) until stopped.

    Ctrl-C stops at once (an unfinished job runs again later); SIGTERM lets running jobs
    finish first.
    """
    from certsvc.jobs.worker import run_worker
    from certsvc.logs import configure_logging

    configure_logging(ctx.runtime.settings.log_level)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        import certsvc.metrics  # noqa: F401 — the counters exist (at 0) from the start

        # A port of its own, not the app's: reachable from the monitoring host only.
        start_http_server(metrics_port, addr=metrics_host)
    run_worker(ctx.runtime, threads=threads)


@click.group(cls=HelpGroup)
def jobs() -> None:
    """Background jobs: list, show, wait for, start, download."""


def _line(job: Job) -> str:
    done = f"{job.progress_done}/{job.progress_total}" if job.progress_total else "—"
    return (
        f"{job.id}  {pad(job_kind_name(job.kind), 12)} {pad(job_state_name(job.state), 9)} "
        f"{service.percent(job):>3}%  {done:>11}  "
        f"{job.created_at:%Y-%m-%d %H:%M}  {job.created_by}"
    )


@jobs.command("list")
@click.option("--body", "body_code", help="Only this body's jobs (code).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@pass_ctx
def jobs_list(ctx: Context, body_code: str | None, limit: int) -> None:
    """The newest jobs first: id, kind, state, progress, when, by whom."""
    with ctx.runtime.db.session() as session:
        body_id = _body_id(session, body_code) if body_code else None
        rows = service.list_jobs(session, body_id, limit)
    if not rows:
        click.echo(gettext("no jobs"))
    for job in rows:
        click.echo(_line(job))


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@pass_ctx
def jobs_show(ctx: Context, job_id: str, as_json: bool) -> None:
    """One job: state, progress, result or error."""
    with ctx.runtime.db.session() as session:
        job = service.get_job(session, None, job_id)
    data = service.job_json(job)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(_line(job))
    labels = {
        "started_at": gettext("started"),
        "finished_at": gettext("finished"),
        "expires_at": gettext("expires"),
    }
    for key, label in labels.items():
        if data[key]:
            click.echo(f"  {pad(label, 12)} {data[key]}")
    if data["result"]:
        size = ngettext("{n:,} byte", "{n:,} bytes", job.result_size or 0)
        label = gettext("result")
        click.echo(f"  {pad(label, 12)} {job.result_name} ({size})")
    if job.outcome:
        outcome = json.dumps(service.public_outcome(job), ensure_ascii=False)[:500]
        label = gettext("outcome")
        click.echo(f"  {pad(label, 12)} {outcome}")
    if data["error"]:
        label = gettext("error")
        click.echo(f"  {pad(label, 12)} {job.error_code}: {service.error_text(job)}")


@jobs.command("wait")
@click.argument("job_id")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds.")
@pass_ctx
def jobs_wait(ctx: Context, job_id: str, timeout: float) -> None:
    """Show a progress bar until the job ends; exit 1 if it failed."""
    job = _wait(ctx, job_id, timeout)
    if job.state == "failed":
        raise JobFailed(
            N_("job {job} failed: {code}: {message}"),
            job=job.id,
            code=job.error_code,
            message=service.error_text(job),
        )
    done = f" ({job.progress_done}/{job.progress_total})" if job.progress_total else ""
    name = f": {job.result_name}" if job.result_name else ""
    click.echo(
        gettext("job {id}: {state}", id=job.id, state=job_state_name(job.state)) + done + name
    )


def _wait(ctx: Context, job_id: str, timeout: float) -> Job:
    def current() -> Job:
        with ctx.runtime.db.session() as session:
            return service.get_job(session, None, job_id)

    job = current()
    deadline = time.monotonic() + timeout
    shown = 0
    with click.progressbar(
        length=max(job.progress_total, 1),
        label=f"{job_kind_name(job.kind)} {job.id[:8]}",
        show_pos=True,
    ) as bar:
        while True:
            if job.progress_total and bar.length != job.progress_total:
                bar.length = job.progress_total
            target = job.progress_total if job.state == "succeeded" else job.progress_done
            if target > shown:
                bar.update(target - shown)
                shown = target
            if job.state in ("succeeded", "failed", "expired"):
                return job
            if time.monotonic() > deadline:
                raise click.ClickException(
                    gettext(
                        "job {id} has not ended after {seconds:.0f} s: {state}",
                        id=job.id,
                        state=job_state_name(job.state),
                        seconds=timeout,
                    )
                )
            time.sleep(0.5)
            job = current()


def _body_id(session: Session, code: str) -> int:
    body_id = session.scalar(select(CertificationBody.id).where(CertificationBody.code == code))
    if body_id is None:
        raise NotFound(N_("no certification body with code {code}; `certsvc body list`"), code=code)
    return body_id


def _submit_render(ctx: Context, kind: str, batch_id: str, wait: bool) -> None:
    with ctx.runtime.db.session() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise NotFound(
                N_("no batch {batch_id}; the batch id is printed when a file is issued"),
                batch_id=batch_id,
            )
        body_id = batch.body_id
    job, _ = service.submit(
        ctx.runtime, body_id, kind, {"batch_id": batch_id}, created_by="cli", total=batch.row_count
    )
    click.echo(gettext("job {id} queued", id=job.id))
    if wait:
        done = _wait(ctx, job.id, 3600.0)
        if done.state == "failed":
            raise JobFailed(
                N_("job {job} failed: {code}: {message}"),
                job=job.id,
                code=done.error_code,
                message=service.error_text(done),
            )


@jobs.command("zip")
@click.argument("batch_id")
@click.option("--wait", is_flag=True, help="Show a progress bar until it is done.")
@pass_ctx
def jobs_zip(ctx: Context, batch_id: str, wait: bool) -> None:
    """Start a job that renders a batch as a ZIP of PDFs (a worker must run)."""
    _submit_render(ctx, "batch_zip", batch_id, wait)


@jobs.command("print")
@click.argument("batch_id")
@click.option("--wait", is_flag=True, help="Show a progress bar until it is done.")
@pass_ctx
def jobs_print(ctx: Context, batch_id: str, wait: bool) -> None:
    """Start a job that renders a batch as one print PDF (a worker must run)."""
    _submit_render(ctx, "batch_print", batch_id, wait)


@jobs.command("download")
@click.argument("job_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: the result's own name).",
)
@pass_ctx
def jobs_download(ctx: Context, job_id: str, output: Path | None) -> None:
    """Write a finished job's result to a file."""
    job, chunks = service.result_chunks(ctx.runtime, None, job_id)
    target = output or Path(job.result_name)
    with open_private(target) as out:  # a batch zip carries every holder's full ID number
        for chunk in chunks:
            out.write(chunk)
    click.echo(
        gettext(
            "wrote {file} ({size})",
            file=target,
            size=plural("{n:,} byte", "{n:,} bytes", job.result_size or 0),
        )
    )
