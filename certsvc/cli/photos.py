"""``certsvc photo replace | erase``: a holder's photo after issuance.

See :mod:`certsvc.issuance.photos`: the certificate keeps its number and QR; its record is
re-signed with the new photo's digest and the change goes to the registry feed.
"""

from __future__ import annotations

from pathlib import Path

import click

from certsvc.cli.context import Context, pass_ctx
from certsvc.cli.help import HelpGroup
from certsvc.holders.photos import normalise_photo
from certsvc.i18n import gettext, ngettext
from certsvc.issuance.photos import (
    AUDIT_ACTION,
    ERASE_ACTION,
    audit_detail,
    erase_photos,
    replace_photo,
)


@click.group("photo", cls=HelpGroup)
def photo() -> None:
    """Holder photos: replace one (re-signs the record, keeps the number) or erase them."""


@photo.command("replace")
@click.argument("number")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def photo_replace(ctx: Context, number: str, file: Path) -> None:
    """Replace the holder photo of certificate NUMBER with FILE (JPEG or PNG, 1-inch).

    The photo is checked and re-encoded without metadata like an imported one; the
    certificate keeps its number and QR code, its signed record names the new photo.
    """
    number = number.strip().upper()
    with ctx.audited(AUDIT_ACTION, certificate=number, target=number) as entry:
        jpeg = normalise_photo(file.read_bytes())
        # The CLI acts for the platform operator: any body's certificate (body None).
        done = replace_photo(ctx.runtime, None, number, jpeg, actor=ctx.actor.name)
        entry.detail.update(audit_detail(done))
    click.echo(
        gettext(
            "replaced the photo of {number}: sha256 {sha256}",
            number=done.number,
            sha256=done.sha256,
        )
    )


@photo.command("erase")
@click.argument("number")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def photo_erase(ctx: Context, number: str, yes: bool) -> None:
    """Erase every stored photo of the holder of certificate NUMBER (at its body).

    The signed records keep the photos' digests; the verify page and PDFs show no photo
    afterwards. It cannot be undone (restoring needs the photo file and `photo replace`).
    """
    number = number.strip().upper()
    if not yes:
        click.confirm(
            gettext("erase every stored photo of the holder of {number}?", number=number),
            abort=True,
        )
    with ctx.audited(ERASE_ACTION, certificate=number, target=number) as entry:
        erased = erase_photos(ctx.runtime, None, number)
        entry.detail["erased_sha256"] = erased
    click.echo(
        ngettext(
            "erased {n} photo of the holder of {number}",
            "erased {n} photos of the holder of {number}",
            len(erased),
            number=number,
        )
    )
