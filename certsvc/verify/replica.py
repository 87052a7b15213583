"""Verification reads from a read replica, without ever showing a revoked certificate as valid.

With ``CERTSVC_DATABASE_READ_URL`` set, look-ups (the page, the public API, the look-up
forms) run on a streaming replica, while everything that changes a status — issuance,
revocation, correction, key compromise — writes to the primary. A replica replays the
primary's changes with a lag (usually milliseconds, minutes when it falls behind), so what it
says is checked against the primary whenever the lag could matter:

* A status moves only away from ``valid`` (to revoked, superseded, or — after a key's
  compromise — invalid_signature) and never back. So a replica's ``revoked``,
  ``superseded``, ``invalid_signature`` (tampered or key compromised) or ``malformed`` is
  already the truth, and is shown as it is.
* A replica's ``valid`` is *confirmed on the primary* with one single-row read by the
  certificate number's unique index: the certificate's status and its key's compromise
  cut-off. Only if the primary still says valid and no cut-off is the replica's answer
  shown; otherwise the whole verification is done again on the primary.
* ``not_found``, ``unknown_key`` and a ``record_mismatch`` may be the replica not having
  replayed a new certificate, key or correction yet: they are done again on the primary.

Why not compare LSNs (remember the primary's WAL position after each revocation and use the
replica only once it has replayed past it)? That position must be written after the
revocation commits, to a store every app server reads on every request; a server that dies
between the commit and that write leaves a revocation the replica may show as valid. The
confirmation read has no such window, costs a fraction of the verification's own reads, and
keeps all the heavy reading (joins, the signed record, the transparency proof) on the replica.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.models import Certificate, SigningKey
from certsvc.verify.result import VerificationResult

if TYPE_CHECKING:
    from certsvc.runtime import Runtime

__all__ = ["read_verification"]

R = TypeVar("R", VerificationResult, list[VerificationResult])

#: Results a lagging replica cannot get wrong in a way that matters (see the module docstring).
_FINAL = frozenset({"revoked", "superseded", "malformed"})


def read_verification(runtime: Runtime, work: Callable[[Session], R]) -> R:
    """``work(session)`` — a verification or a look-up — on the replica when there is one,
    with the primary's word wherever the replica's could be out of date."""
    if runtime.read_db is runtime.db:
        return runtime.db.read(work)
    answer = runtime.read_db.read(work)
    results: Sequence[VerificationResult] = answer if isinstance(answer, list) else [answer]
    if all(_final(r) for r in results):
        return answer
    if all(_final(r) or r.status == "valid" for r in results):
        numbers = [
            str(r.certificate["number"]) for r in results if r.status == "valid" and r.certificate
        ]
        if runtime.db.read(lambda session: _still_valid(session, numbers)):
            return answer
    return runtime.db.read(work)


def _final(result: VerificationResult) -> bool:
    if result.status in _FINAL:
        return True
    return result.status == "invalid_signature" and result.reason != "record_mismatch"


def _still_valid(session: Session, numbers: list[str]) -> bool:
    """Whether the primary holds every one of ``numbers`` as valid, signed by a key that has
    no compromise cut-off."""
    if not numbers:
        return False
    rows = session.execute(
        select(Certificate.number, Certificate.status, SigningKey.compromised_after)
        .join(SigningKey, SigningKey.kid == Certificate.kid)
        .where(Certificate.number.in_(numbers))
    ).all()
    return len(rows) == len(set(numbers)) and all(
        status == "valid" and compromised is None for _, status, compromised in rows
    )
