"""``certsvc log …``: grow and sign the transparency log, show it, prove, audit, check offline."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import click

from certsvc.cli.context import Context, pass_ctx
from certsvc.cli.help import HelpGroup
from certsvc.errors import InvalidInput, MalformedToken, NotFound
from certsvc.i18n import N_, Message, gettext, ngettext
from certsvc.signing.jwks import parse_rfc3339
from certsvc.transparency import store
from certsvc.transparency.log import (
    LogKeys,
    append_and_checkpoint,
    audit,
    certificate_inclusion,
    latest_checkpoint,
    log_position_at,
)
from certsvc.transparency.offline import verify_bundle


@click.group("log", cls=HelpGroup)
def log_group() -> None:
    """The issuance transparency log: checkpoints, proofs, audit."""


@log_group.command("checkpoint")
@pass_ctx
def checkpoint(ctx: Context) -> None:
    """Append every new event to the log and sign a checkpoint (idempotent; run after batches)."""
    signed = append_and_checkpoint(ctx.runtime)
    click.echo(signed.note, nl=False)


@log_group.command("show")
@pass_ctx
def show(ctx: Context) -> None:
    """Print the latest signed checkpoint."""
    with ctx.transaction() as session:
        signed = latest_checkpoint(session)
    if signed is None:
        raise NotFound(N_("the log has no checkpoint yet; run `certsvc log checkpoint`"))
    click.echo(signed.note, nl=False)


@log_group.command("prove")
@click.argument("number")
@pass_ctx
def prove(ctx: Context, number: str) -> None:
    """Print the inclusion bundle (JSON) of certificate NUMBER in the latest checkpoint."""
    with ctx.transaction() as session:
        result = certificate_inclusion(session, number, ctx.runtime.caches)
    if result is None:
        raise NotFound(
            N_(
                "certificate {number} is not in a checkpoint: it does not exist or was "
                "issued after the last one (`certsvc log checkpoint`)"
            ),
            number=number,
        )
    click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))


@log_group.command("consistency")
@click.argument("old_size", type=int)
@click.argument("new_size", type=int)
@pass_ctx
def consistency(ctx: Context, old_size: int, new_size: int) -> None:
    """Print the consistency proof (base64 hashes, one a line) from OLD_SIZE to NEW_SIZE."""
    with ctx.transaction() as session:
        proof = store.consistency_proof(session, old_size, new_size)
    for node in proof:
        click.echo(base64.b64encode(node).decode("ascii"))


@log_group.command("position")
@click.argument("when")
@pass_ctx
def position(ctx: Context, when: str) -> None:
    """Print the log position of time WHEN (RFC 3339): events 1..N occurred at or before it."""
    try:
        moment = parse_rfc3339(when, what=Message(N_("the time")))
    except MalformedToken as exc:
        raise InvalidInput(
            N_("{when!r} is not an RFC 3339 time, e.g. 2026-11-26T08:00:00Z"), when=when
        ) from exc
    with ctx.transaction() as session:
        click.echo(str(log_position_at(session, moment)))


@log_group.command("audit")
@pass_ctx
def audit_command(ctx: Context) -> None:
    """Recompute every leaf from the event log and check every checkpoint against the tree."""
    with ctx.transaction() as session:
        size = audit(session)
    click.echo(
        ngettext(
            "ok: {n} event matches the log and every checkpoint verifies",
            "ok: {n} events match the log and every checkpoint verifies",
            size,
        )
    )


@log_group.command("rotate-key")
@pass_ctx
def rotate_key(ctx: Context) -> None:
    """Retire the log key and make a new one (older checkpoints stay verifiable)."""
    with ctx.audited("log.rotate_key") as entry, ctx.transaction() as session:
        key = LogKeys.of(ctx.runtime).rotate(session)
        entry.target = key.kid
    click.echo(
        gettext("new log key {kid}; publish /.well-known/transparency.json again", kid=key.kid)
    )


@log_group.command("verify-bundle")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--token", required=True, help="The certificate's QR token.")
@click.option("--number", required=True, help="The certificate number.")
@click.option("--key", "keys", multiple=True, required=True, help="Log key origin+id+base64.")
@click.option("--origin", required=True, help="The log's origin, e.g. cert.example.cn/log.")
def verify_bundle_command(
    bundle: Path, token: str, number: str, keys: tuple[str, ...], origin: str
) -> None:
    """Check an inclusion BUNDLE offline (no database): signature, leaf, audit path."""
    try:
        document = json.loads(bundle.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidInput(N_("{bundle} is not a JSON inclusion bundle"), bundle=bundle) from exc
    if not isinstance(document, dict):
        raise InvalidInput(N_("{bundle} is not a JSON inclusion bundle"), bundle=bundle)
    document = document.get("transparency", document)  # a whole verification result works too
    signed = verify_bundle(
        document, trusted_keys=keys, origin=origin, token=token, certificate_number=number
    )
    click.echo(
        gettext(
            "logged: certificate {number} is in checkpoint {size} of {origin}",
            number=number,
            size=signed.size,
            origin=signed.origin,
        )
    )
