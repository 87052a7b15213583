"""``certsvc pdf``: certificate PDFs from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from certsvc.cli.context import Context, pass_ctx
from certsvc.errors import InvalidInput


@click.command("pdf")
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
    """Write a certificate, or a whole batch, as print-ready PDF."""
    from certsvc.render.batch import batch_merged, batch_zip, certificate_face, stored_seal
    from certsvc.render.certificate import render_certificate
    from certsvc.render.seal import load_seal

    if (number is None) == (batch_id is None):
        raise InvalidInput("give a certificate NUMBER or --batch ID (one of them)")
    stamp = load_seal(seal.read_bytes()) if seal else None
    runtime = ctx.runtime
    public_url = runtime.settings.public_url
    with runtime.db.session() as session:
        if number is not None:
            face = certificate_face(session, number, public_url)
            target = output or Path(f"{face.number}.pdf")
            if target.is_dir():
                target = target / f"{face.number}.pdf"
            data = render_certificate(face, stamp or stored_seal(session, face.body_code))
            target.write_bytes(data)
            click.echo(f"wrote {target} ({len(data) / 1024:.1f} KB)")
            return
        assert batch_id is not None
        if output is None or output.suffix.lower() not in (".zip", ".pdf"):
            raise InvalidInput("--batch needs -o FILE.zip (PDFs) or -o FILE.pdf (print file)")
        if output.suffix.lower() == ".pdf":
            output.write_bytes(batch_merged(session, batch_id, public_url, stamp))
        else:
            with output.open("wb") as out:
                for chunk in batch_zip(session, batch_id, public_url, stamp):
                    out.write(chunk)
    click.echo(f"wrote {output} ({output.stat().st_size / 1024:.1f} KB)")
