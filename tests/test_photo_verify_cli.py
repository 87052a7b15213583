"""``certsvc verify … --photo FILE`` (issue #16): a photo file against the digest the signed
record names — offline from the PDF's embedded record, online from the current record."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from certsvc.cli.context import Context
from certsvc.cli.main import cli
from certsvc.cli.verify import PHOTO_MISMATCH
from certsvc.holders.photos import normalise_photo
from certsvc.issuance.photos import replace_photo
from certsvc.render import render_certificate
from certsvc.render.batch import certificate_face
from certsvc.runtime import Runtime
from tests.conftest import issue, photo_bytes, row


def run(runtime: Runtime, *args: str) -> Result:
    ctx = Context()
    ctx._runtime = runtime
    return CliRunner().invoke(cli, ["verify", *args], obj=ctx)


def test_a_photo_is_checked_against_the_signed_digest_offline_and_online(
    runtime: Runtime, body: str, client: FlaskClient, tmp_path: Path
) -> None:
    stored = normalise_photo(photo_bytes())
    cert = issue(runtime, [row(1)], photos={2: stored}).certificates[0]
    with runtime.db.session() as session:
        face = certificate_face(session, cert.number, "https://cert.example.cn", runtime.vault)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_certificate(face))
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(client.get("/.well-known/jwks.json").data)
    good, swapped = tmp_path / "good.jpg", tmp_path / "swapped.jpg"
    good.write_bytes(stored)
    swapped.write_bytes(normalise_photo(photo_bytes(colour=(20, 40, 200))))

    offline = run(runtime, str(pdf), "--jwks", str(jwks), "--photo", str(good))
    assert offline.exit_code == 0, offline.output
    assert "matches the signed digest" in offline.output
    mismatch = run(runtime, str(pdf), "--jwks", str(jwks), "--photo", str(swapped))
    assert mismatch.exit_code == PHOTO_MISMATCH and "DOES NOT match" in mismatch.output
    token_only = run(runtime, cert.token, "--jwks", str(jwks), "--photo", str(good))
    assert token_only.exit_code == 2 and "certificate PDF" in token_only.output

    assert run(runtime, cert.token, "--photo", str(good)).exit_code == 0
    assert run(runtime, cert.token, "--photo", str(swapped)).exit_code == PHOTO_MISMATCH
    # Online follows a replaced photo; the old PDF's record still names the old one.
    replace_photo(runtime, None, cert.number, swapped.read_bytes(), actor="t")
    assert run(runtime, cert.token, "--photo", str(swapped)).exit_code == 0
    assert run(runtime, cert.token, "--photo", str(good)).exit_code == PHOTO_MISMATCH
    assert run(runtime, str(pdf), "--jwks", str(jwks), "--photo", str(good)).exit_code == 0
