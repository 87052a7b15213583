"""``certsvc verify TOKEN|URL|FILE.pdf|IMAGE.png [--jwks FILE_OR_URL]``.

Without ``--jwks`` the token is checked against this installation's database (the same
:func:`~certsvc.verify.core.verify_token` as the page and the API). With ``--jwks`` nothing
but the key set is used — fully offline with a file — and the output says what could not be
checked (revocation, supersession, the stored record; see :mod:`certsvc.verify.offline`).

With ``--status-list`` (with ``--jwks`` and a certificate PDF) the issuer's signed W3C
Bitstring Status List that the embedded record names is fetched and the certificate's
revocation bit checked (:mod:`certsvc.verify.status`).

With ``--log-bundle FILE --log-key KEY`` (offline, with ``--jwks``) the certificate's
inclusion bundle — the ``transparency`` member of an online result, or ``certsvc log prove`` —
is checked against the transparency log's verifier key
(:func:`certsvc.transparency.offline.verify_bundle`): signed checkpoint, this token's leaf,
audit path. The result then carries it as ``transparency``; a bundle that does not check out
is an error (one line, exit 65), never a quiet "valid".

With ``--photo FILE`` the photo file (the exact JPEG the verify page or the registry serves)
is checked against the digest the certificate's signed record names: offline the record
embedded in the certificate PDF, online the certificate's current record
(:mod:`certsvc.verify.photo`). A photo that does not match exits :data:`PHOTO_MISMATCH`.

Exit status: 0 only for ``valid``; otherwise :data:`EXIT_CODES` by status, with a one-line
reason on stderr. Input that cannot be read exits with its error's code (65 bad file, 64 …).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.request import Request, urlopen

import click

from certsvc.cli.columns import pad
from certsvc.cli.context import Context, pass_ctx
from certsvc.cli.help import HelpCommand
from certsvc.errors import CheckpointError, InvalidInput, LogIntegrityError, SigningKeyError
from certsvc.i18n import N_, Message, gettext
from certsvc.signing.jwks import KeySet
from certsvc.signing.strictjson import loads_object
from certsvc.transparency.note import NoteVerifier
from certsvc.transparency.offline import verify_bundle
from certsvc.verify.core import verify_token
from certsvc.verify.offline import verify_offline
from certsvc.verify.photo import photo_check, signed_photo_digest, stored_photo_digest
from certsvc.verify.result import VerificationResult
from certsvc.verify.sources import Presented, read_target, url_host
from certsvc.verify.status import check_status_list

__all__ = ["EXIT_CODES", "PHOTO_MISMATCH", "load_key_set", "verify"]

#: Exit status per verification status (0 only for valid; 1, 2 are click's own).
EXIT_CODES = {
    "valid": 0,
    "revoked": 3,
    "superseded": 4,
    "invalid_signature": 5,
    "unknown_key": 6,
    "malformed": 7,
    "not_found": 8,
}
_MAX_JWKS = 1024 * 1024
#: Exit status when a valid certificate's record names another photo than the one given.
PHOTO_MISMATCH = 9


def load_key_set(source: str) -> KeySet:
    """A key set from a JWKS file or an http(s) URL; SigningKeyError says what is wrong."""
    if not source.lower().startswith(("https://", "http://")):
        return KeySet.from_file(Path(source))
    accept = {"Accept": "application/jwk-set+json, application/json"}
    request = Request(source, headers=accept)  # noqa: S310 - http(s) only, checked above
    try:
        with urlopen(request, timeout=15) as response:  # noqa: S310 - scheme checked above
            data = response.read(_MAX_JWKS + 1)
    except (URLError, OSError, ValueError) as exc:
        raise SigningKeyError(
            N_("cannot fetch the JWKS from {source}: {exc}; download it and give the file"),
            source=source,
            exc=exc,
        ) from exc
    if len(data) > _MAX_JWKS:
        raise SigningKeyError(
            N_("the JWKS at {source} is larger than 1 MB; refusing it"), source=source
        )
    return KeySet.from_document(
        loads_object(data, what=Message(N_("JWKS from {source}"), source=source))
    )


def _both(zh: Any, en: Any) -> str:
    if zh and en and zh != en:
        return f"{zh} ({en})"
    return str(zh or en or "—")


@dataclass(frozen=True)
class Trust:
    """What a verification relied on, in the reader's language, and the host it trusted
    (None for a key set file, which names no host)."""

    host: str | None
    text: Message


def trust_of(public_url: str, jwks_source: str | None) -> Trust:
    """Online: this installation's database, serving ``public_url``; offline: the key set."""
    if jwks_source is None:
        host = url_host(public_url)
        return Trust(
            host,
            Message(N_("this installation's database (online), serving {host}"), host=host),
        )
    host = url_host(jwks_source)
    if host is not None:
        return Trust(
            host,
            Message(N_("the key set published by {host} (signature checked offline)"), host=host),
        )
    return Trust(None, Message(N_("the key set file {file} (offline)"), file=jwks_source))


def host_warning(presented: Presented, trust: Trust) -> str | None:
    """One line when the URL names another host than the one trusted, else None."""
    shown = presented.url_host
    if shown is None or trust.host is None or shown == trust.host:
        return None
    return gettext(
        "warning: the URL's host {shown} is not {trusted}, which was trusted; a genuine "
        "certificate's QR points to {trusted}",
        shown=shown,
        trusted=trust.host,
    )


def _url_host_line(presented: Presented, trust: Trust) -> str | None:
    shown = presented.url_host
    if shown is None:
        return None
    if trust.host is None:
        return gettext("{shown} not checked: a key set file names no host", shown=shown)
    if shown != trust.host:
        return gettext("{shown} — NOT the trusted {trusted}!", shown=shown, trusted=trust.host)
    return shown


def result_lines(
    result: VerificationResult, presented: Presented, trust: Trust | None = None
) -> list[str]:
    """The result as aligned ``label value`` lines, the fields the page shows, and (given
    ``trust``) what the check relied on and the host of the URL it came in."""
    c = result.certificate or {}
    issuer = c.get("issuer") or {}
    route = c.get("route") or "—"
    if route == "direct":
        route = gettext(
            "direct: {ground}",
            ground=_both(c.get("direct_ground_name"), c.get("direct_ground_name_en")),
        )
        if c.get("direct_evidence"):
            route += f" — {c['direct_evidence']}"
    rows: list[tuple[str, Any]] = [(N_("status"), result.status.upper())]
    if result.reason:
        rows.append((N_("reason"), result.reason))
    rows.append((N_("message"), result.message))
    if c:
        rows += [
            (N_("number"), c.get("number")),
            (N_("holder name"), c.get("holder_name")),
            (N_("id"), f"{c.get('id_type_name') or '—'} {c.get('id_number_masked') or '—'}"),
            (
                N_("occupation"),
                f"{_both(c.get('occupation_name'), c.get('occupation_name_en'))} "
                f"{c.get('occupation_code')}",
            ),
            (N_("work type"), c.get("work_type")),
            (N_("level"), _both(c.get("level_name"), c.get("level_name_en"))),
            (N_("issue date"), c.get("issue_date")),
            (N_("route"), route),
            (
                N_("issuer"),
                f"{_both(issuer.get('name'), issuer.get('name_en'))} {issuer.get('code')}",
            ),
        ]
        if result.status == "revoked":
            rows += [
                (N_("revoked because"), c.get("status_reason")),
                (N_("revoked at"), c.get("status_changed_at")),
            ]
    if result.superseded_by:
        rows.append((N_("superseded by"), result.superseded_by))
    if result.kid:
        status = result.key_status or gettext("status unknown")
        rows.append((N_("key"), f"{result.kid} ({status})"))
    logged = result.transparency
    if logged is not None:
        rows.append(
            (
                N_("issuance log"),
                gettext(
                    "logged, checkpoint size {size} (event {seq})",
                    size=logged["tree_size"],
                    seq=logged["seq"],
                )
                if logged.get("verified")
                else gettext("NOT confirmed: the record differs from what was logged"),
            )
        )
    rows += [
        (N_("checked at"), result.to_dict()["checked_at"]),
        (
            N_("checked"),
            gettext("{mode}, from {source}", mode=result.mode, source=presented.source),
        ),
    ]
    if trust is not None:
        rows.append((N_("trusted"), str(trust.text)))
        host_line = _url_host_line(presented, trust)
        if host_line is not None:
            rows.append((N_("URL host"), host_line))
    if result.not_checked:
        rows.append((N_("NOT checked"), ", ".join(result.not_checked).replace("_", " ")))
    return [f"{pad(gettext(label), 16)} {_shown(value)}" for label, value in rows]


def _shown(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def check_log_bundle(
    result: VerificationResult, token: str, bundle_file: Path, log_key: str
) -> VerificationResult:
    """``result`` with its inclusion bundle checked offline (CertsvcError if it fails)."""
    if result.signed is None:  # the token itself did not verify: nothing to prove
        return result
    try:
        document = json.loads(bundle_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            N_("{bundle_file} is not a JSON inclusion bundle"), bundle_file=bundle_file
        ) from exc
    if isinstance(document, dict) and isinstance(document.get("transparency"), dict):
        document = document["transparency"]  # a whole verification result works too
    if not isinstance(document, dict):
        raise InvalidInput(
            N_("{bundle_file} is not a JSON inclusion bundle"), bundle_file=bundle_file
        )
    origin = NoteVerifier.parse(log_key).name  # a log key is named after its origin
    try:
        verify_bundle(
            document,
            trusted_keys=[log_key],
            origin=origin,
            token=token,
            certificate_number=str(result.signed["number"]),
        )
    except CheckpointError as exc:  # exit 65, as for a proof that fails
        raise LogIntegrityError(
            N_("the log bundle does not check out: {reason}"), reason=exc.text
        ) from exc
    return dataclasses.replace(result, transparency={**document, "verified": True})


@click.command("verify", cls=HelpCommand)
@click.argument("target")
@click.option(
    "--jwks",
    "jwks_source",
    metavar="FILE_OR_URL",
    help="Verify against this key set only (no database): fully offline with a file.",
)
@click.option(
    "--log-bundle",
    "log_bundle",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --jwks: the certificate's transparency-log inclusion bundle to check offline.",
)
@click.option(
    "--log-key",
    "log_key",
    metavar="KEY",
    help="The log's verifier key (origin+id+base64, from /.well-known/transparency.json).",
)
@click.option(
    "--status-list",
    "status_list",
    is_flag=True,
    help="With --jwks and a certificate PDF: fetch the issuer's signed revocation status list "
    "its record names and check the certificate's bit (needs the network).",
)
@click.option(
    "--photo",
    "photo_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A holder photo file to check against the digest the certificate's record signs "
    "(offline: give the certificate PDF, which carries the record).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verification result as JSON.")
@pass_ctx
def verify(
    ctx: Context,
    target: str,
    jwks_source: str | None,
    log_bundle: Path | None,
    log_key: str | None,
    status_list: bool,
    photo_file: Path | None,
    as_json: bool,
) -> None:
    """Verify a certificate: TOKEN, its QR URL, a certificate PDF or a QR image (PNG/JPEG).

    Exit status 0 only when the certificate is valid; 3 revoked, 4 superseded, 5 invalid
    signature, 6 unknown key, 7 malformed, 8 not found.
    """
    if (log_bundle is None) != (log_key is None) or (log_bundle and jwks_source is None):
        raise click.UsageError(gettext("--log-bundle and --log-key go together, and with --jwks"))
    if status_list and jwks_source is None:
        raise click.UsageError(
            gettext(
                "--status-list goes with --jwks (online, the database already knows the status)"
            )
        )
    presented = read_target(target)
    if photo_file is not None and jwks_source is not None and presented.record is None:
        raise click.UsageError(
            "--photo offline needs the certificate PDF: its embedded record signs the photo"
        )
    photo = None
    if jwks_source is not None:
        keys = load_key_set(jwks_source)
        result = verify_offline(presented.token, keys, record=presented.record)
        if status_list:
            result = check_status_list(result, presented.record, keys)
        if log_bundle is not None and log_key is not None:
            result = check_log_bundle(result, presented.token, log_bundle, log_key)
        if photo_file is not None and presented.record is not None and result.signed:
            signed = signed_photo_digest(presented.record, keys, str(result.signed["number"]))
            photo = photo_check(photo_file.read_bytes(), signed)
    else:
        with ctx.runtime.db.session() as session:
            result = verify_token(session, presented.token, caches=ctx.runtime.caches)
            if photo_file is not None and result.signed:
                signed = stored_photo_digest(session, str(result.signed["number"]))
                photo = photo_check(photo_file.read_bytes(), signed)
    trust = trust_of(ctx.runtime.settings.public_url if jwks_source is None else "", jwks_source)
    if as_json:
        answer = result.to_dict()
        if photo is not None:
            answer["photo"] = {"matches": photo.matches, "sha256": photo.sha256}
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        for line in result_lines(result, presented, trust):
            click.echo(line)
        if photo is not None:
            label = gettext("photo")
            click.echo(f"{pad(label, 16)} {photo.line}")
    warning = host_warning(presented, trust)
    if warning is not None:
        click.echo(warning, err=True)
    if not result.is_valid:
        click.echo(
            gettext("not valid: {status}: {message}", status=result.status, message=result.message),
            err=True,
        )
        raise click.exceptions.Exit(EXIT_CODES[result.status])
    if photo is not None and not photo.matches:
        click.echo(gettext("photo mismatch: {check}", check=photo.line), err=True)
        raise click.exceptions.Exit(PHOTO_MISMATCH)
    if result.not_checked:
        click.echo(
            gettext(
                "valid as signed; not checked offline: {gaps} — verify online for the current "
                "status",
                gaps=", ".join(result.not_checked).replace("_", " "),
            ),
            err=True,
        )
