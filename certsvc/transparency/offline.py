"""Checking an inclusion bundle without the service: what ``certsvc verify`` does offline.

A bundle is :meth:`certsvc.transparency.log.InclusionResult.to_dict` (the ``transparency``
member of a verification result, or ``certsvc log prove NUMBER``). Given the log's verifier
key — from ``/.well-known/transparency.json``, fetched once and kept, like the JWKS — and the
certificate's QR token, :func:`verify_bundle` checks, in this order:

1. the checkpoint is a C2SP signed note signed by the trusted log key, of the trusted origin;
2. the leaf data is a version-1 ``issued`` leaf of this certificate whose ``token_sha256`` is
   the SHA-256 of this very token (so the proof is about this QR code, not another);
3. ``SHA-256(0x00 || leaf data)`` with the audit path reproduces the checkpoint's root at leaf
   index ``seq − 1`` (RFC 9162 §2.1.3.2).

A verifier that keeps an older checkpoint of the same log should also ask for a consistency
proof from it to the bundle's checkpoint (``/api/v1/transparency/consistency``) and check it
with :func:`certsvc.transparency.merkle.verify_consistency`: that is what shows the log was
not forked to show it a different history.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from certsvc.errors import CheckpointError, LogIntegrityError
from certsvc.i18n import N_
from certsvc.transparency.leaf import LEAF_VERSION
from certsvc.transparency.merkle import leaf_hash, verify_inclusion
from certsvc.transparency.note import Checkpoint, NoteVerifier, open_checkpoint

__all__ = ["verify_bundle"]


def _hash(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise CheckpointError(N_("the bundle's {what} is missing"), what=what)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CheckpointError(N_("the bundle's {what} is not base64"), what=what) from None


def verify_bundle(
    bundle: Mapping[str, Any],
    *,
    trusted_keys: Iterable[str],
    origin: str,
    token: str,
    certificate_number: str,
) -> Checkpoint:
    """Check an inclusion bundle for ``token`` offline; return the checkpoint it is proven in.

    Raises :class:`~certsvc.errors.CheckpointError` when the checkpoint is not signed by a
    trusted log key (or the bundle cannot be read) and
    :class:`~certsvc.errors.LogIntegrityError` when the leaf is not this token's or the proof
    does not lead to the signed root.
    """
    verifiers = [NoteVerifier.parse(key) for key in trusted_keys]
    checkpoint = open_checkpoint(str(bundle.get("checkpoint", "")), verifiers, origin)
    leaf_text = bundle.get("leaf_data")
    seq = bundle.get("seq")
    if not isinstance(leaf_text, str) or not isinstance(seq, int):
        raise CheckpointError(N_("the bundle has no leaf_data or seq"))
    try:
        leaf = json.loads(leaf_text)
    except ValueError:
        raise CheckpointError(N_("the bundle's leaf_data is not JSON")) from None
    expected = {
        "v": LEAF_VERSION,
        "kind": "issued",
        "seq": seq,
        "certificate": certificate_number,
        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
    }
    wrong = [k for k, v in expected.items() if not isinstance(leaf, dict) or leaf.get(k) != v]
    if wrong:
        raise LogIntegrityError(
            N_(
                "the logged leaf is not the issuance of this certificate's token (differs in "
                "{wrong})"
            ),
            wrong=", ".join(wrong),
        )
    proof_items = bundle.get("proof")
    if not isinstance(proof_items, list):
        raise CheckpointError(N_("the bundle has no proof"))
    proof = [_hash(item, "proof") for item in proof_items]
    if not verify_inclusion(
        leaf_hash(leaf_text.encode()), seq - 1, checkpoint.size, proof, checkpoint.root_hash
    ):
        raise LogIntegrityError(
            N_(
                "the inclusion proof does not lead to the signed root of checkpoint {size}: "
                "the certificate is not proven to be in the log"
            ),
            size=checkpoint.size,
        )
    return checkpoint
