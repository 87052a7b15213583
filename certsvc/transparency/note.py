"""Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), Ed25519.

A checkpoint is the text ::

    <origin>\\n
    <tree size, decimal>\\n
    <base64 of the 32-byte root hash>\\n

followed by a blank line and one signature line per signer::

    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature over the text)>\\n

(``—`` is U+2014). The key name is the origin; the key id is the first four bytes of
``SHA-256(name || 0x0A || 0x01 || public key)``. A verifier key is written
``<name>+<key id, 8 hex digits>+<base64(0x01 || public key)>`` — the form Go's
``golang.org/x/mod/sumdb/note`` and the transparency-dev tools read, so any witness or monitor
for Go's checksum database can check our checkpoints. Base64 here is the standard alphabet with
padding (RFC 4648 §4), not JOSE's base64url.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certsvc.errors import CheckpointError
from certsvc.i18n import N_
from certsvc.transparency.merkle import HASH_SIZE

__all__ = [
    "Checkpoint",
    "NoteVerifier",
    "format_checkpoint",
    "key_id",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "sign_note",
    "verifier_key",
]

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100
_NAME = re.compile(r"[^\s+]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CheckpointError(N_("{what} is not standard base64"), what=what) from None
    if _b64(data) != text:  # one spelling only, as everywhere in certsvc
        raise CheckpointError(N_("{what} is not canonical base64"), what=what)
    return data


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise CheckpointError(
            N_("{name!r} cannot name a note key: it must be non-empty, without spaces or '+'"),
            name=name,
        )


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte signed-note key id of an Ed25519 key under ``name``."""
    blob = name.encode() + b"\n" + bytes([ALG_ED25519]) + _raw_public(public_key)
    return hashlib.sha256(blob).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The ``name+keyid+base64`` verifier key string that publishes ``public_key``."""
    _check_name(name)
    encoded = _b64(bytes([ALG_ED25519]) + _raw_public(public_key))
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted note key: its name, 4-byte id and Ed25519 public key."""

    name: str
    id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Read a ``name+keyid+base64`` verifier key; CheckpointError says what is wrong."""
        parts = vkey.strip().split("+", 2)  # base64 may hold '+' too
        if len(parts) != 3:
            raise CheckpointError(N_("a log key is written name+keyid+base64 (three parts)"))
        name, hex_id, encoded = parts
        _check_name(name)
        raw = _unb64(encoded, "the log key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise CheckpointError(N_("the log key is not an Ed25519 signed-note key"))
        public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id) or key_id(name, public_key).hex() != hex_id:
            raise CheckpointError(
                N_("the key id {hex_id!r} does not match the log key"), hex_id=hex_id
            )
        return cls(name, bytes.fromhex(hex_id), public_key)

    @classmethod
    def of(cls, name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
        """The verifier of ``public_key`` under ``name``."""
        _check_name(name)
        return cls(name, key_id(name, public_key), public_key)


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """Sign ``text`` (non-empty, ending in a newline) as a one-signature note."""
    _check_text(text)
    _check_name(name)
    signature = key.sign(text.encode())
    line = f"{SIGNATURE_PREFIX}{name} {_b64(key_id(name, key.public_key()) + signature)}\n"
    return f"{text}\n{line}"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text:
        raise CheckpointError(N_("note text must end with a newline and have no blank line"))
    if any(c < " " and c != "\n" for c in text):
        raise CheckpointError(N_("note text must not contain control characters"))


def open_note(note: str, verifiers: Iterable[NoteVerifier]) -> tuple[str, list[str]]:
    """Check a signed note; return its text and the names of the trusted keys that signed it.

    Signatures by keys not in ``verifiers`` are ignored, as the spec requires. Raises
    :class:`~certsvc.errors.CheckpointError` if the note is malformed, a signature by a trusted
    key does not verify, or no trusted key signed it.
    """
    if not isinstance(note, str) or not note.endswith("\n"):
        raise CheckpointError(N_("a signed note ends with a newline"))
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError(N_("a signed note has a blank line before its signatures"))
    text, signatures = note[: split + 1], note[split + 2 :]
    _check_text(text)
    lines = signatures.splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise CheckpointError(
            N_("a signed note has 1 to {max_signatures} signature lines"),
            max_signatures=MAX_SIGNATURES,
        )
    trusted = {(v.name, v.id): v for v in verifiers}
    signed_by: list[str] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(N_("a signature line starts with an em dash and a space"))
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        _check_name(name)
        blob = _unb64(encoded, f"the signature of {name}")
        if len(blob) < 5:
            raise CheckpointError(N_("the signature of {name} is too short"), name=name)
        verifier = trusted.get((name, blob[:4]))
        if verifier is None:
            continue
        try:
            verifier.public_key.verify(blob[4:], text.encode())
        except _CryptoInvalidSignature:
            raise CheckpointError(
                N_("the signature of {name} does not verify: the checkpoint was altered"), name=name
            ) from None
        signed_by.append(name)
    if not signed_by:
        raise CheckpointError(N_("no trusted log key signed this checkpoint"))
    return text, signed_by


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint asserts: the log ``origin`` had ``size`` leaves with ``root_hash``."""

    origin: str
    size: int
    root_hash: bytes


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint body (the text that is signed), without extension lines."""
    if "\n" in checkpoint.origin or not checkpoint.origin:
        raise CheckpointError(N_("a checkpoint origin is one non-empty line"))
    if len(checkpoint.root_hash) != HASH_SIZE or checkpoint.size < 0:
        raise CheckpointError(N_("a checkpoint has a 32-byte root hash and a size of 0 or more"))
    return f"{checkpoint.origin}\n{checkpoint.size}\n{_b64(checkpoint.root_hash)}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint body; extension lines after the root are allowed and ignored."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError(N_("a checkpoint is origin, size and root hash, one per line"))
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin:
        raise CheckpointError(N_("the checkpoint has no origin"))
    if not _DECIMAL.fullmatch(size):
        raise CheckpointError(N_("the checkpoint size is not a decimal number"))
    root_hash = _unb64(root, "the checkpoint root hash")
    if len(root_hash) != HASH_SIZE:
        raise CheckpointError(
            N_("the checkpoint root hash is {length} bytes, not 32"), length=len(root_hash)
        )
    return Checkpoint(origin, int(size), root_hash)


def open_checkpoint(note: str, verifiers: Iterable[NoteVerifier], origin: str) -> Checkpoint:
    """Verify a signed checkpoint of the log ``origin`` and return what it asserts."""
    text, _ = open_note(note, verifiers)
    checkpoint = parse_checkpoint(text)
    if checkpoint.origin != origin:
        raise CheckpointError(
            N_("the checkpoint is of log {origin!r}, not of {expected!r}"),
            origin=checkpoint.origin,
            expected=origin,
        )
    return checkpoint
