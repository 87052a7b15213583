"""Verification: one :func:`verify_token` behind the page, the API and the CLI."""

from certsvc.verify.core import VerificationResult, verify_token

__all__ = ["VerificationResult", "verify_token"]
