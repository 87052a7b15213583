"""Verification: one :func:`verify_token` behind the page, the API, the look-ups and the CLI.

* :func:`verify_token` — a QR token against this service's keys and records (online);
* :func:`lookup_by_number`, :func:`lookup_by_id` — find stored certificates, then verify each;
* :func:`verify_offline` — a QR token against a JWKS alone (``certsvc verify --jwks``).

All return :class:`VerificationResult`, the DESIGN.md verification-result contract.
"""

from certsvc.verify.core import verify_token
from certsvc.verify.lookup import lookup_by_id, lookup_by_number
from certsvc.verify.offline import verify_offline
from certsvc.verify.result import STATUSES, VerificationResult

__all__ = [
    "STATUSES",
    "VerificationResult",
    "lookup_by_id",
    "lookup_by_number",
    "verify_offline",
    "verify_token",
]
