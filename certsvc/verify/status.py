"""Checking a certificate's revocation bit in its issuer's W3C Bitstring Status List.

Offline verification (``certsvc verify --jwks``) proves a certificate genuine but cannot tell
whether it is still current. With ``--status-list`` and the signed record (a certificate PDF
embeds it), the record's ``credentialStatus`` names the list and the index; the list is
fetched, verified with the same key set — signed by a key of the certificate's own body, for
the URL the record names — and the bit read:

* set: ``revoked`` — the issuer marks the certificate no longer current (revoked, or
  superseded by a correction; the list does not say which, the verify page does);
* clear: still ``valid``, and revocation and supersession leave ``not_checked``.

A record signed before status lists existed names no list: the result stays as it was, with
both gaps reported. The service's verify page remains the authority for "current".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from urllib.error import URLError
from urllib.request import Request, urlopen

from certsvc.errors import CertsvcError, InvalidInput, StatusListError
from certsvc.i18n import N_, Message
from certsvc.signing.jwks import KeySet
from certsvc.signing.statuslist import status_entry, verify_list
from certsvc.signing.vc import verify_credential
from certsvc.verify.result import VerificationResult

__all__ = ["check_status_list", "fetch_status_list"]

_MAX_LIST = 1024 * 1024
#: What a status list check covers.
_COVERED = ("revocation", "supersession")


def fetch_status_list(url: str) -> str:
    """GET a status list credential (a vc+jwt); StatusListError if it cannot be had."""
    if not url.lower().startswith(("https://", "http://")):
        raise StatusListError(
            N_("the record names a status list that is not an http(s) URL: {url}"), url=url
        )
    request = Request(url, headers={"Accept": "application/vc+jwt"})  # noqa: S310 - checked
    try:
        with urlopen(request, timeout=15) as response:  # noqa: S310 - scheme checked above
            data: bytes = response.read(_MAX_LIST + 1)
    except (URLError, OSError, ValueError) as exc:
        raise StatusListError(
            N_("cannot fetch the status list {url}: {exc}"), url=url, exc=exc
        ) from exc
    if len(data) > _MAX_LIST:
        raise StatusListError(
            N_("the status list at {url} is larger than 1 MB; refusing it"), url=url
        )
    return data.decode("ascii", errors="replace").strip()


def check_status_list(
    result: VerificationResult,
    record: str | None,
    keys: KeySet,
    fetch: Callable[[str], str] = fetch_status_list,
) -> VerificationResult:
    """``result`` with the certificate's revocation bit checked (see the module docstring)."""
    if not result.is_valid:
        return result  # already not valid: the list cannot make it better
    if record is None:
        raise InvalidInput(
            N_(
                "--status-list needs the certificate's signed record, which names its list: "
                "give the certificate PDF (it embeds the record), not the QR alone"
            )
        )
    credential, _ = verify_credential(record, keys.public_key)  # checked against the QR before
    entry = status_entry(credential)
    if entry is None:
        return dataclasses.replace(
            result,
            text=Message(
                N_("{message}; its record predates status lists — verify online"),
                message=result.text,
            ),
        )
    issuer = credential.get("issuer")
    body = issuer.get("bodyCode") if isinstance(issuer, Mapping) else None
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    try:
        listed = verify_list(fetch(entry.list_url), keys.public_key, url=entry.list_url)
        if keys.entry(listed.kid).body_code != body or listed.issuer_id != issuer_id:
            raise StatusListError(
                N_("the list is not signed by the certificate's issuer {body}"), body=body
            )
        marked = listed.is_set(entry.index)
    except StatusListError:
        raise
    except CertsvcError as exc:
        raise StatusListError(
            N_("the status list {list_url} does not verify: {reason}"),
            list_url=entry.list_url,
            reason=exc.text,
        ) from exc
    if marked:
        return dataclasses.replace(
            result,
            status="revoked",
            text=Message(
                N_(
                    "the issuer's signed status list marks this certificate no longer current "
                    "(revoked, or superseded by a correction); its verify page says which"
                )
            ),
            not_checked=tuple(g for g in result.not_checked if g not in _COVERED),
        )
    return dataclasses.replace(
        result, not_checked=tuple(g for g in result.not_checked if g not in _COVERED)
    )
