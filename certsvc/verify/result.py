"""The verification result: what the page, the API and the CLI all report (DESIGN.md contract).

``status`` is one of :data:`STATUSES`. ``reason`` refines a non-valid status for people and
programs (a stable code, see :data:`REASONS`), ``message`` says the same in one line, in the
language of whoever reads it (``text`` keeps it as a :class:`~certsvc.i18n.Message`).
``certificate`` carries every certified field as the service holds them — or, offline, as far
as the signed data shows them — so a doctored printout is caught by comparison. ``not_checked``
names what this verifier could not check (offline: revocation, supersession, the stored record),
so that "valid" is never claimed beyond what was checked. ``transparency`` (online) proves the
certificate's issuance is in the public issuance log's latest signed checkpoint.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from certsvc.domain.statuses import VERIFICATION_STATUSES, KeyStatus, VerificationStatus
from certsvc.i18n import Message

#: Every status a verification can answer (DESIGN.md "verification result").
STATUSES = VERIFICATION_STATUSES

#: Why a token is not valid, finer than the status (``None`` when the status says it all).
REASONS = (
    "tampered",  # the signature does not match the signed bytes
    "unsupported_header",  # alg other than EdDSA (none, HS256, ...), crit, b64=false
    "key_compromised",  # signed after the key's compromise cutoff
    "key_compromised_undecided",  # offline: the signing time cannot be established
    # the signed fields differ from the stored (or embedded) record, or (offline) the key's
    # body is not the body the certificate number names
    "record_mismatch",
)

#: Things a verifier may be unable to check; listed in ``not_checked``.
OFFLINE_GAPS = ("revocation", "supersession", "stored_record")

Mode = Literal["online", "offline"]


def format_time(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with ``Z``, to the second (as in the JWKS)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class VerificationResult:
    """What page, API and CLI report about one token (or one looked-up certificate)."""

    status: VerificationStatus
    #: The one-line explanation; a plain string is a message id without parameters.
    text: str | Message
    checked_at: dt.datetime
    mode: Mode = "online"
    reason: str | None = None
    kid: str | None = None
    key_status: KeyStatus | None = None
    #: Every certified field (see :func:`certsvc.verify.core.certificate_fields`).
    certificate: dict[str, Any] | None = None
    #: The fields the token itself signs, as it signs them (number, name, occupation, date).
    signed: dict[str, Any] | None = None
    superseded_by: str | None = None
    #: The QR token of the newer certificate, so a page can link to its verification.
    superseded_by_token: str | None = None
    not_checked: tuple[str, ...] = field(default_factory=tuple)
    #: Online: the inclusion proof of the certificate's ``issued`` event in the latest signed
    #: checkpoint of the transparency log
    #: (:meth:`certsvc.transparency.log.InclusionResult.to_dict`); None when the certificate
    #: is not in a checkpoint yet, or offline.
    transparency: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, Message):
            object.__setattr__(self, "text", Message(self.text))
        if self.status not in STATUSES:
            raise ValueError(f"unknown verification status {self.status!r}")
        if self.reason is not None and self.reason not in REASONS:
            raise ValueError(f"unknown verification reason {self.reason!r}")

    @property
    def message(self) -> str:
        """The explanation in the current language."""
        return str(self.text)

    @property
    def is_valid(self) -> bool:
        """True only for ``valid``: genuine, trusted key, matching record, current."""
        return self.status == "valid"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shared by the API and ``certsvc verify --json``."""
        return {
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "mode": self.mode,
            "checked_at": format_time(self.checked_at),
            "kid": self.kid,
            "key_status": self.key_status,
            "certificate": self.certificate,
            "signed": self.signed,
            "superseded_by": self.superseded_by,
            "superseded_by_token": self.superseded_by_token,
            "not_checked": list(self.not_checked),
            "transparency": self.transparency,
        }
