"""What the registry client trusts: the cached JWKS and the last accepted log checkpoint.

Both are trusted on first use and kept in the mirror; :class:`KeyCache` fetches the JWKS again
when a record names a key it does not know, :class:`CheckpointLog` accepts a new checkpoint only
when it is signed by a published log key and consistent with the one accepted before.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.errors import CertsvcError, CheckpointError, FeedIntegrityError, HistoryRewritten
from certsvc.i18n import N_, Message
from certsvc.registry.mirror import Mirror, MirrorCertificate, MirrorLog
from certsvc.registry.transport import FeedClient
from certsvc.signing.b64 import b64url_decode
from certsvc.signing.jwks import KeySet, PublishedKey
from certsvc.signing.statuslist import StatusEntry, status_entry, verify_list
from certsvc.signing.strictjson import loads_object
from certsvc.transparency.merkle import verify_consistency
from certsvc.transparency.note import Checkpoint, NoteVerifier, open_checkpoint

__all__ = ["CheckpointLog", "KeyCache", "StatusListCheck"]


class KeyCache:
    """The cached JWKS; fetched again (once per run and kid) when it lacks what is asked."""

    def __init__(self, client: FeedClient, mirror: Mirror) -> None:
        self._client = client
        state = mirror.state()
        self._etag = state.jwks_etag
        self._set = KeySet.from_document(state.jwks) if state.jwks else None
        self._refreshed_for: set[tuple[str, bool]] = set()
        self.fetches = 0
        #: A JWKS fetched while a page was applied, to be saved with that page.
        self.unsaved = False
        if self._set is None:
            self.refresh()
            mirror.save_jwks(*self.document())
            self.unsaved = False

    def refresh(self) -> None:
        document, etag = self._client.jwks(self._etag if self._set is not None else "")
        self.fetches += 1
        if document is not None:
            self._set = KeySet.from_document(document)  # refuses a set with a lying kid
            self._etag = etag
            self.unsaved = True

    def document(self) -> tuple[dict[str, Any], str]:
        """The cached JWKS and its ETag, to store in the mirror."""
        assert self._set is not None
        return self._set.to_document(), self._etag

    def entry(self, kid: str, *, need_compromise: bool = False) -> PublishedKey:
        """The key ``kid``; refetches the JWKS once if it is missing (or not yet compromised)."""
        assert self._set is not None
        stale = kid not in self._set or (
            need_compromise and self._set.entry(kid).compromised_after is None
        )
        if stale and (kid, need_compromise) not in self._refreshed_for:
            self._refreshed_for.add((kid, need_compromise))
            self.refresh()
        return self._set.entry(kid)

    def public_key(self, kid: str) -> Ed25519PublicKey:
        return self.entry(kid).public_key


class CheckpointLog:
    """The last accepted checkpoint of the service's transparency log, and the checks of new ones.

    The first checkpoint is accepted on its signature alone (as the JWKS is trusted on first
    use); every later one must be signed by a published log key of the same origin and be
    consistent with the accepted one — an extension of it, or a prefix of it (a lagging
    replica) — proven by the service's consistency proof. Only a larger one replaces it.
    """

    def __init__(self, client: FeedClient, mirror: Mirror) -> None:
        self._client = client
        self._mirror = mirror
        row = mirror.log()
        self.note = row.checkpoint
        self.size = row.tree_size
        self.root = base64.b64decode(row.root_hash) if row.root_hash else b""
        self._document = row.document
        self._refreshed = False
        self.fetches = 0
        #: Accepted but not yet stored (stored with the page it came with).
        self.unsaved = False

    def _fetch_document(self) -> None:
        document = self._client.transparency()
        self.fetches += 1
        self._refreshed = True
        if self._document is not None and document.get("origin") != self._document.get("origin"):
            raise HistoryRewritten(
                N_(
                    "REFUSED: the service's transparency log is now {origin!r}, not {before!r} as "
                    "before; the mirror is unchanged"
                ),
                origin=document.get("origin"),
                before=self._document.get("origin"),
            )
        self._document = document
        self.unsaved = True

    def _verifiers(self) -> tuple[list[NoteVerifier], str]:
        assert self._document is not None
        origin = self._document.get("origin")
        if not isinstance(origin, str):
            raise FeedIntegrityError(N_("the service's transparency document names no log origin"))
        verifiers: list[NoteVerifier] = []
        for key in self._document.get("keys", []):
            try:
                verifiers.append(NoteVerifier.parse(str(key["note_key"])))
            except (CheckpointError, KeyError, TypeError):
                continue  # an unreadable key signs nothing we accept
        return verifiers, origin

    def _open(self, note: str) -> Checkpoint:
        if self._document is None:
            self._fetch_document()
        try:
            return open_checkpoint(note, *self._verifiers())
        except CheckpointError as first:
            if self._refreshed:
                raise HistoryRewritten(
                    N_(
                        "REFUSED: the feed's checkpoint does not verify with the service's log "
                        "keys "
                        "({reason}); the mirror is unchanged"
                    ),
                    reason=first.text,
                ) from first
        self._fetch_document()  # a new log key: fetch the document once per run
        try:
            return open_checkpoint(note, *self._verifiers())
        except CheckpointError as exc:
            raise HistoryRewritten(
                N_(
                    "REFUSED: the feed's checkpoint does not verify with the service's log keys "
                    "({reason}); the mirror is unchanged"
                ),
                reason=exc.text,
            ) from exc

    def check(self, note: object, cursor: int) -> None:
        """Check the checkpoint a page carries; HistoryRewritten if the history was rewritten."""
        if note is None:
            if self.note is not None:
                raise HistoryRewritten(
                    N_(
                        "REFUSED: the feed no longer carries transparency-log checkpoints though "
                        "it "
                        "did before; nothing was applied, the mirror is unchanged at seq {cursor}"
                    ),
                    cursor=cursor,
                )
            return
        if not isinstance(note, str):
            raise FeedIntegrityError(N_("the page's checkpoint is not a signed note"))
        if note == self.note:
            return
        new = self._open(note)
        if self.note is not None:
            old_size, old_root = self.size, self.root
            if old_size == 0:  # the empty tree is a prefix of every tree
                consistent = True
            elif new.size == old_size:
                consistent = new.root_hash == old_root
            elif new.size > old_size:
                proof = self._client.consistency(old_size, new.size)
                consistent = verify_consistency(old_size, new.size, old_root, new.root_hash, proof)
            else:
                proof = self._client.consistency(new.size, old_size)
                consistent = verify_consistency(new.size, old_size, new.root_hash, old_root, proof)
            if not consistent:
                raise HistoryRewritten(
                    N_(
                        "REFUSED: the service's transparency log was rewritten — its checkpoint of "
                        "{size} events is not consistent with the checkpoint of {old_size} events "
                        "this mirror accepted; nothing was applied, the mirror is unchanged at seq "
                        "{cursor} — report it to the issuer and keep this mirror as evidence"
                    ),
                    size=new.size,
                    old_size=old_size,
                    cursor=cursor,
                )
            if new.size < old_size:
                return
        self.note, self.size, self.root = note, new.size, new.root_hash
        self.unsaved = True

    def save(self, session: Session) -> None:
        """Store the accepted checkpoint and the log keys (in the page's transaction)."""
        if not self.unsaved:
            return
        row = session.get(MirrorLog, 1)
        if row is None:
            row = MirrorLog(id=1)
            session.add(row)
        row.checkpoint, row.tree_size = self.note, self.size
        row.root_hash = base64.b64encode(self.root).decode("ascii") if self.root else ""
        row.document = self._document
        row.updated_at = dt.datetime.now(dt.UTC)
        self.unsaved = False


class StatusListCheck:
    """The mirror against the issuers' signed revocation lists (W3C Bitstring Status List).

    For the certificates a pull touched, each list their records name is fetched once and
    verified — signed by a key of the certificates' body, issued by their issuer, ``id`` the
    URL the records name — and each certificate's bit compared with the mirror's status:

    * bit clear, mirror revoked or superseded: the list hides a signed status change —
      a **conflict** (the pull fails with :class:`~certsvc.errors.StatusListConflict`);
    * bit set, mirror valid: the status change was made after the page was read and has
      not reached the mirror yet — **pending**, reported; the next pull brings it.

    The list says only "no longer current"; the signed statements in the feed (and the
    service's verify page) say which status and why.
    """

    def __init__(self, client: FeedClient, keys: KeyCache) -> None:
        self._client = client
        self._keys = keys
        self.lists = 0
        self.checked = 0
        self.conflicts: list[Message] = []
        self.pending: list[Message] = []

    def check(
        self, mirror: Mirror, entries: Mapping[str, StatusEntry], changed: Iterable[str]
    ) -> None:
        """Compare the certificates of ``entries`` and ``changed`` with their lists."""
        with mirror.transaction() as session:
            rows = _mirrored(session, {*entries, *changed})
        by_list: dict[str, list[tuple[str, str, str, int]]] = {}
        for number, (body, status, record) in rows.items():
            entry = entries.get(number) or _entry_of_record(record)
            if entry is not None:
                by_list.setdefault(entry.list_url, []).append((number, body, status, entry.index))
        for url, certificates in sorted(by_list.items()):
            self._check_list(url, certificates)

    def _check_list(self, url: str, certificates: list[tuple[str, str, str, int]]) -> None:
        try:
            listed = verify_list(self._client.status_list(url), self._keys.public_key, url=url)
            signer = self._keys.entry(listed.kid)
            bodies = {body for _, body, _, _ in certificates}
            if bodies != {signer.body_code}:
                raise FeedIntegrityError(
                    N_("the list is signed by key {kid} of another body"), kid=listed.kid
                )
            if not listed.issuer_id.endswith(f"/bodies/{signer.body_code}"):
                raise FeedIntegrityError(
                    N_("the list names another issuer, {issuer_id}"), issuer_id=listed.issuer_id
                )
            self.lists += 1
            for number, _, status, index in certificates:
                self.checked += 1
                marked = listed.is_set(index)
                if status != "valid" and not marked:
                    self.conflicts.append(
                        Message(
                            N_(
                                "certificate {number} is {status} by a signed statement, but the "
                                "issuer's "
                                "status list {url} shows it current"
                            ),
                            number=number,
                            status=status,
                            url=url,
                        )
                    )
                elif status == "valid" and marked:
                    self.pending.append(
                        Message(
                            N_(
                                "certificate {number}: the status list marks it no longer "
                                "current; the feed "
                                "has not delivered the change yet — pull again"
                            ),
                            number=number,
                        )
                    )
        except CertsvcError as exc:
            self.conflicts.append(
                Message(
                    N_("status list {url} could not be checked: {reason}"), url=url, reason=exc.text
                )
            )


def _mirrored(session: Session, numbers: set[str]) -> dict[str, tuple[str, str, str]]:
    """Body, status and record of each mirrored certificate among ``numbers``."""
    found: dict[str, tuple[str, str, str]] = {}
    wanted = sorted(numbers)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for number, body, status, record in session.execute(
            select(
                MirrorCertificate.number,
                MirrorCertificate.body_code,
                MirrorCertificate.status,
                MirrorCertificate.record,
            ).where(MirrorCertificate.number.in_(chunk))
        ):
            found[number] = (body, status, record)
    return found


def _entry_of_record(record: str) -> StatusEntry | None:
    """The entry a mirrored (already verified) record names; None for records without one."""
    try:
        credential = loads_object(b64url_decode(record.split(".")[1]), what=Message(N_("record")))
        return status_entry(credential)
    except (CertsvcError, IndexError):
        return None
