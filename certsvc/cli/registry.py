"""``certsvc registry pull`` (the reference registry client) and ``certsvc stats``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from certsvc.cli.context import Context, pass_ctx
from certsvc.cli.help import HelpCommand, HelpGroup
from certsvc.errors import InvalidInput, RecordsRejected, StatusListConflict
from certsvc.i18n import N_, gettext, plural
from certsvc.registry.feed import DEFAULT_LIMIT, MAX_LIMIT
from certsvc.registry.mirror import Mirror
from certsvc.registry.pull import pull
from certsvc.registry.stats import FORMATS, compute_stats, render
from certsvc.registry.transport import FeedClient, RetryPolicy


@click.group(cls=HelpGroup)
def registry() -> None:
    """The national registry side: pull the signed change feed into a local mirror."""


@registry.command("pull")
@click.option("--url", required=True, help="Base URL of the certsvc service.")
@click.option(
    "--token",
    envvar="CERTSVC_REGISTRY_TOKEN",
    required=True,
    help="Registry-role API token (or CERTSVC_REGISTRY_TOKEN).",
)
@click.option(
    "--db",
    "mirror_db",
    default="registry-mirror.db",
    show_default=True,
    help="The mirror: a SQLite file path or any SQLAlchemy URL.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Events per page.",
)
@click.option(
    "--retries", type=click.IntRange(1, 100), default=10, show_default=True, help="Tries per page."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def registry_pull(
    url: str, token: str, mirror_db: str, limit: int, retries: int, quiet: bool
) -> None:
    """Pull every new event, verify each record, apply it to the mirror; report rejections."""
    show_progress = not quiet and sys.stderr.isatty()

    def on_retry(problem: str, delay: float) -> None:
        if not quiet:
            click.echo(
                gettext("retrying in {delay:.1f} s: {problem}", delay=delay, problem=problem),
                err=True,
            )

    client = FeedClient(url, token, policy=RetryPolicy(attempts=retries), on_retry=on_retry)
    mirror = Mirror(mirror_db)
    try:
        if show_progress:
            with click.progressbar(length=1, label=gettext("pulling"), file=sys.stderr) as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = max(total, done, 1)
                    bar.update(done - bar.pos)

                summary = pull(client, mirror, limit=limit, progress=progress)
        else:
            summary = pull(client, mirror, limit=limit)
    finally:
        mirror.dispose()
    for rejection in summary.rejections:
        click.echo(gettext("rejected: {rejection}", rejection=rejection), err=True)
    for problem in summary.status_pending:
        click.echo(gettext("pending: {problem}", problem=problem), err=True)
    for problem in summary.status_conflicts:
        click.echo(gettext("status list: {problem}", problem=problem), err=True)
    for line in summary.lines():
        click.echo(line)
    if summary.status_conflicts:
        raise StatusListConflict(
            plural(
                "{n} certificate or status list disagrees with the issuer's signed status "
                "lists (listed above); the feed's signed statements were applied — ask the "
                "issuer, and check the certificates on its verify page",
                "{n} certificates or status lists disagree with the issuer's signed status "
                "lists (listed above); the feed's signed statements were applied — ask the "
                "issuer, and check the certificates on its verify page",
                len(summary.status_conflicts),
            )
        )
    if summary.rejections:
        raise RecordsRejected(
            plural(
                "{n} record did not verify and was not applied; it is listed above and kept "
                "in the mirror's mirror_events table",
                "{n} records did not verify and were not applied; they are listed above and "
                "kept in the mirror's mirror_events table",
                len(summary.rejections),
            )
        )


@click.command(cls=HelpCommand)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--body", "body_code", default=None, help="Only this body's certificates.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output; xlsx needs a file).",
)
@pass_ctx
def stats(ctx: Context, fmt: str, body_code: str | None, output: Path | None) -> None:
    """Valid certificates and distinct holders by province, occupation, level, year, route."""
    from certsvc.bodies.bodies import get_body

    if fmt == "xlsx" and output is None:
        raise InvalidInput(N_("xlsx is a binary format: give --output FILE.xlsx"))
    runtime = ctx.runtime
    with runtime.db.session() as session:
        body_id = get_body(session, body_code).id if body_code else None
        result = compute_stats(
            session, body_id=body_id, extra_provinces=runtime.settings.extra_provinces
        )
    data = render(result, fmt)
    if output is None:
        click.echo(data.decode("utf-8-sig"), nl=False)
    else:
        output.write_bytes(data)
        click.echo(
            gettext(
                "wrote {file}: {certificates}, {holders}",
                file=output,
                certificates=plural(
                    "{n} valid certificate", "{n} valid certificates", result.certificates
                ),
                holders=plural("{n} holder", "{n} holders", result.holders),
            )
        )
