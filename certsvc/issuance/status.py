"""Revocation status lists: each body's W3C Bitstring Status Lists, kept with the certificates.

**One list per body, numbered** (``{public URL}/status/{body code}/{n}``), not per body and
year: a list must be signed by the issuer of the credentials it covers, hence per body; a
year split would add lists without hiding anything (the issue year is in every credential).
A list has 131,072 entries, the spec's privacy minimum, and is filled to three quarters at
most — then list ``n + 1`` is opened — so a free index is found in a few random draws.

**Random indexes.** Each certificate's index is drawn uniformly at random among the free
ones of the list (``allocated`` marks the taken ones), so neither a list nor an index tells
in which order certificates were issued, or how many a batch held.

**In the same transaction.** Entries are assigned in the issuing transaction; a revocation or
a supersession sets the bit, bumps the list's ``version`` and signs the list again in the
transaction that changes the certificate, so the published list never disagrees with the
verify page once committed. A set bit means "no longer current": revoked, or superseded by a
correction (the verify page says which, and stays the authority for the current state).

**Signing.** The list is a vc+jwt signed by the body's active key, like its certificates.
When a list has never been signed (made by the migration, which holds no key) or the body's
active key has changed since (rotation, compromise), it is signed when next served; otherwise
serving it only reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.bodies.keyring import Keyring
from certsvc.errors import NotFound
from certsvc.i18n import N_
from certsvc.models import Certificate, CertificationBody, StatusList, utcnow
from certsvc.runtime import Runtime
from certsvc.signing.jwks import format_rfc3339
from certsvc.signing.jws import JwsSigner
from certsvc.signing.statuslist import (
    MIN_ENTRIES,
    StatusEntry,
    bit_is_set,
    list_credential,
    set_bit,
)
from certsvc.signing.vc import sign_credential_with

__all__ = [
    "FILL",
    "LIST_SIZE",
    "STATUS_PATH",
    "ServedList",
    "assign_entries",
    "list_url",
    "mark_not_current",
    "served_list",
]

LIST_SIZE = MIN_ENTRIES
#: Entries handed out per list before the next one is opened.
FILL = LIST_SIZE * 3 // 4
STATUS_PATH = "/status"
_RANDOM = secrets.SystemRandom()


def list_url(public_url: str, body_code: str, number: int) -> str:
    """The URL of a body's list ``number``, as credentials name it."""
    return f"{public_url}{STATUS_PATH}/{body_code}/{number}"


def _issuer_id(public_url: str, body_code: str) -> str:
    return f"{public_url}/bodies/{body_code}"  # as the certificates' issuer.id


def _new_list(session: Session, body: CertificationBody, number: int) -> StatusList:
    empty = bytes(LIST_SIZE // 8)
    row = StatusList(
        body_id=body.id,
        number=number,
        size=LIST_SIZE,
        assigned=0,
        bits=empty,
        allocated=empty,
        version=1,
        changed_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _open_list(session: Session, body: CertificationBody) -> StatusList | None:
    """The body's newest list, locked until the transaction ends (None before the first)."""
    return session.scalar(
        select(StatusList)
        .where(StatusList.body_id == body.id)
        .order_by(StatusList.number.desc())
        .limit(1)
        .with_for_update()
    )


def assign_entries(
    session: Session, body: CertificationBody, count: int, public_url: str
) -> list[tuple[int, int, StatusEntry]]:
    """Draw ``count`` free random entries in the body's open list, opening lists as they fill.

    Returns ``(status_list_id, index, entry)`` per certificate. The open list's row stays
    locked until the transaction ends, so concurrent batches of one body take turns here.
    """
    current = _open_list(session, body)
    if current is None:
        # The body's first list: lock the body so that two first batches do not both make
        # one, then look again (the other may have committed it meanwhile). FOR NO KEY
        # UPDATE: the batch row just inserted holds a KEY SHARE lock on the body, which a
        # plain FOR UPDATE would wait on — two first batches would deadlock.
        session.execute(
            select(CertificationBody.id)
            .where(CertificationBody.id == body.id)
            .with_for_update(key_share=True)
        )
        current = _open_list(session, body) or _new_list(session, body, 1)
    out: list[tuple[int, int, StatusEntry]] = []
    allocated = bytearray(current.allocated)
    while len(out) < count:
        if current.assigned >= FILL:
            current.allocated = bytes(allocated)
            current = _new_list(session, body, current.number + 1)
            allocated = bytearray(current.allocated)
        index = _RANDOM.randrange(current.size)
        if bit_is_set(allocated, index):
            continue  # taken: draw again (at most three quarters are)
        set_bit(allocated, index)
        current.assigned += 1
        out.append(
            (current.id, index, StatusEntry(list_url(public_url, body.code, current.number), index))
        )
    current.allocated = bytes(allocated)
    return out


def _sign(row: StatusList, body_code: str, signer: JwsSigner, public_url: str) -> None:
    credential = list_credential(
        url=list_url(public_url, body_code, row.number),
        issuer_id=_issuer_id(public_url, body_code),
        bits=row.bits,
        valid_from=format_rfc3339(row.changed_at),
    )
    row.credential = sign_credential_with(signer, credential)
    row.kid = signer.kid


def mark_not_current(
    session: Session,
    certificates: Iterable[Certificate],
    signer: JwsSigner,
    public_url: str,
    at: dt.datetime,
) -> None:
    """Set the bits of certificates just revoked or superseded and sign their lists again.

    Call inside the transaction that changes their status. Each list is locked, changed and
    signed once however many of its certificates changed.
    """
    by_list: dict[int, list[Certificate]] = {}
    for cert in certificates:
        if cert.status_list_id is not None and cert.status_index is not None:
            by_list.setdefault(cert.status_list_id, []).append(cert)
    for list_id in sorted(by_list):  # one lock order for every transaction
        row = session.scalar(select(StatusList).where(StatusList.id == list_id).with_for_update())
        assert row is not None  # a foreign key
        bits = bytearray(row.bits)
        for cert in by_list[list_id]:
            assert cert.status_index is not None
            set_bit(bits, cert.status_index)
        row.bits, row.version, row.changed_at = bytes(bits), row.version + 1, at
        _sign(row, by_list[list_id][0].body.code, signer, public_url)


@dataclass(frozen=True)
class ServedList:
    """A status list credential as served: the vc+jwt and its ETag."""

    token: str
    etag: str


def _find(session: Session, body_code: str, number: int) -> StatusList:
    row = session.scalar(
        select(StatusList)
        .join(CertificationBody, CertificationBody.id == StatusList.body_id)
        .where(CertificationBody.code == body_code, StatusList.number == number)
    )
    if row is None:
        raise NotFound(N_("body {body} has no status list {number}"), body=body_code, number=number)
    return row


def _stale(session: Session, keyring: Keyring, row: StatusList) -> bool:
    """Whether the list was never signed, or was signed by a key no longer the active one."""
    if row.credential is None:
        return True
    active = keyring.active_key(session, row.body, required=False)
    return active is not None and active.kid != row.kid


def served_list(runtime: Runtime, body_code: str, number: int) -> ServedList:
    """The signed list ``number`` of body ``body_code``; NotFound if there is none.

    Read without a transaction (a replica can answer); only a stale list (:func:`_stale`) is
    signed, in a transaction of its own that locks the row, so concurrent readers sign once.
    """

    def read(session: Session) -> tuple[str | None, bool]:
        row = _find(session, body_code, number)
        return row.credential, _stale(session, runtime.keyring, row)

    token, stale = runtime.db.read(read)
    if stale:
        with runtime.db.transaction() as session:
            row = _find(session, body_code, number)
            session.refresh(row, with_for_update=True)
            if _stale(session, runtime.keyring, row):
                signer = runtime.keyring.signer_for(session, row.body)
                _sign(row, body_code, signer, runtime.settings.public_url)
            token = row.credential
    assert token is not None  # signed above when it was missing
    return ServedList(token, hashlib.sha256(token.encode()).hexdigest()[:32])
