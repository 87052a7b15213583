"""``certsvc pdf``: certificate PDFs from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from certsvc.cli.context import Context, pass_ctx
from certsvc.cli.help import HelpCommand
from certsvc.errors import InvalidInput
from certsvc.i18n import N_, gettext
from certsvc.private_files import open_private, write_private

if TYPE_CHECKING:
    from certsvc.render.certificate import CertificateFace


@click.command("pdf", cls=HelpCommand)
@click.argument("number", required=False)
@click.option("--batch", "batch_id", help="Render every certificate of this batch.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="File to write: NUMBER.pdf by default; for --batch a .zip (one PDF per certificate) "
    "or a .pdf (all certificates, one per page, for printing).",
)
@click.option(
    "--seal",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A seal as PNG or SVG for this run (default: the body's stored seal, else a round "
    "red seal with the body's name).",
)
@pass_ctx
def pdf(
    ctx: Context, number: str | None, batch_id: str | None, output: Path | None, seal: Path | None
) -> None:
    """Write a certificate, or a whole batch, as print-ready PDF.

    A revoked or superseded certificate is written with a diagonal mark and a notice saying
    so; a batch is rendered on every core, with a progress bar on standard error.
    """
    from certsvc.render.batch import (
        batch_merged,
        batch_size,
        batch_zip,
        certificate_face,
        stored_seal,
    )
    from certsvc.render.certificate import render_certificate
    from certsvc.render.seal import load_seal

    if (number is None) == (batch_id is None):
        raise InvalidInput(N_("give a certificate NUMBER or --batch ID (one of them)"))
    stamp = load_seal(seal.read_bytes()) if seal else None
    runtime = ctx.runtime
    public_url = runtime.settings.public_url
    if number is not None:
        number = number.strip().upper()
        with (
            ctx.audited("certificate.pdf", certificate=number, target=number) as entry,
            runtime.db.session() as session,
        ):
            face = certificate_face(session, number, public_url, runtime.vault)
            entry.target = face.number
            target = output or Path(f"{face.number}.pdf")
            if target.is_dir():
                target = target / f"{face.number}.pdf"
            data = render_certificate(face, stamp or stored_seal(session, face.body_code))
            write_private(target, data)  # the holder's full ID number is printed on it
        written = gettext("wrote {file} ({size:.1f} KB)", file=target, size=len(data) / 1024)
        click.echo(written + _standing_note(face))
        return
    assert batch_id is not None
    if output is None or output.suffix.lower() not in (".zip", ".pdf"):
        raise InvalidInput(N_("--batch needs -o FILE.zip (PDFs) or -o FILE.pdf (print file)"))
    with ctx.audited("batch.pdf", target=batch_id[:64]), runtime.db.session() as session:
        total = batch_size(session, batch_id)
        with click.progressbar(length=total, label=gettext("rendering"), file=sys.stderr) as bar:

            def progress(done: int) -> None:
                bar.update(done - bar.pos)

            if output.suffix.lower() == ".pdf":
                data = batch_merged(
                    session, batch_id, public_url, runtime.vault, stamp, progress=progress
                )
                write_private(output, data)
            else:
                chunks = batch_zip(
                    session, batch_id, public_url, runtime.vault, stamp, progress=progress
                )
                with open_private(output) as out:
                    for chunk in chunks:
                        out.write(chunk)
    click.echo(
        gettext("wrote {file} ({size:.1f} KB)", file=output, size=output.stat().st_size / 1024)
    )


def _standing_note(face: CertificateFace) -> str:
    """What the line says after a revoked or superseded certificate was written."""
    if face.mark is None:
        return ""
    return gettext(
        "; marked {standing}: it is no longer valid", standing=face.mark.standing.value.upper()
    )
