"""Verifying and applying the feed's events to the mirror, one page per transaction.

:class:`Applier` checks each event (signature, issuing body, ID commitment, status statement,
key announcements) and writes what passes; what fails becomes a :class:`Rejection`.
:class:`PullSummary` counts what a pull did.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certsvc.domain.ids import IdType, mask_id_number
from certsvc.domain.numbers import issuing_body_of
from certsvc.errors import CertsvcError, FeedIntegrityError, InvalidCertificateNumber, UnknownKey
from certsvc.holders.identity import id_commitment
from certsvc.i18n import N_, Message, gettext, ngettext, plural
from certsvc.issuance.credential import CREDENTIAL_TYPE, photo_resource
from certsvc.registry.mirror import (
    Mirror,
    MirrorCertificate,
    MirrorEvent,
    MirrorKey,
    MirrorState,
    insert_rows,
)
from certsvc.registry.statements import verify_status_statement
from certsvc.registry.trust import CheckpointLog, KeyCache
from certsvc.signing.b64 import b64url_decode
from certsvc.signing.jwks import PublishedKey, parse_rfc3339
from certsvc.signing.keys import jwk_thumbprint
from certsvc.signing.statuslist import StatusEntry, status_entry
from certsvc.signing.vc import verify_credential

__all__ = ["Applier", "PullSummary", "Rejected", "Rejection"]


class Rejected(Exception):
    """An event that fails a check: recorded with its reason, reported, not applied.

    ``text`` is the reason as a :class:`~certsvc.i18n.Message` (``N_`` id and parameters).
    """

    def __init__(self, reason: str | Message, /, **params: Any) -> None:
        self.text = reason if isinstance(reason, Message) else Message(reason, **params)
        super().__init__(self.text.english)

    @property
    def reason(self) -> str:
        return str(self.text)


def _field(mapping: Any, *path: str) -> Any:
    value = mapping
    for name in path:
        # JSON objects parse to dicts; checking for dict, not the Mapping ABC, halves the cost
        # of the eleven look-ups every issued record takes.
        if not isinstance(value, dict) or name not in value:
            raise Rejected(N_("the signed record has no {path}"), path=".".join(path))
        value = value[name]
    return value


def _text(mapping: Any, *path: str) -> str:
    value = _field(mapping, *path)
    if not isinstance(value, str):
        raise Rejected(N_("{path} in the signed record is not text"), path=".".join(path))
    return value


def _payload(record: str) -> dict[str, Any]:
    """The credential of a record the mirror verified before it kept it."""
    payload: dict[str, Any] = json.loads(b64url_decode(record.split(".")[1]))
    return payload


def _without_photo(credential: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in credential.items() if k != "relatedResource"}


@dataclass(frozen=True)
class Rejection:
    seq: int
    kind: str
    certificate: str | None
    text: Message

    @property
    def reason(self) -> str:
        """Why the event was rejected, in the current language."""
        return str(self.text)

    def __str__(self) -> str:
        if self.certificate:
            return gettext(
                "seq {seq} {kind} {certificate}: {reason}",
                seq=self.seq,
                kind=self.kind,
                certificate=self.certificate,
                reason=self.text,
            )
        return gettext("seq {seq} {kind}: {reason}", seq=self.seq, kind=self.kind, reason=self.text)


@dataclass
class PullSummary:
    """What one pull did."""

    first_cursor: int = 0
    cursor: int = 0
    head: int = 0
    pages: int = 0
    events: int = 0
    applied: int = 0
    recorded: int = 0
    duplicates: int = 0
    #: Certificates in the whole mirror signed after their key's compromise cut-off.
    untrusted: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    retries: int = 0
    jwks_fetches: int = 0
    #: Holder photos fetched and found to have the digest their record signs.
    photos: int = 0
    #: The size of the transparency-log checkpoint the mirror holds (None: none seen).
    checkpoint: int | None = None
    #: Revocation status lists fetched and verified, certificates compared with them, and
    #: what disagreed (see :class:`~certsvc.registry.trust.StatusListCheck`).
    status_lists: int = 0
    status_checked: int = 0
    status_conflicts: list[Message] = field(default_factory=list)
    status_pending: list[Message] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary a person reads after a pull, in the current language."""
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.kinds.items()))
        if not self.events:
            first = gettext("up to date: no new events after seq {cursor}", cursor=self.cursor)
        else:
            first = ngettext(
                "pulled {n} event in {pages} (seq {span}) in {seconds:.1f} s, "
                "{rate:,.0f} events/s: {kinds}",
                "pulled {n} events in {pages} (seq {span}) in {seconds:.1f} s, "
                "{rate:,.0f} events/s: {kinds}",
                self.events,
                pages=plural("{n} page", "{n} pages", self.pages),
                span=(
                    f"{self.cursor}"
                    if self.cursor == self.first_cursor + 1
                    else f"{self.first_cursor + 1}..{self.cursor}"
                ),
                seconds=self.seconds,
                rate=self.rate,
                kinds=kinds,
            )
        quiet = not (
            self.events
            or self.rejections
            or self.duplicates
            or self.retries
            or self.jwks_fetches
            or self.photos
        )
        lines = [first]
        if not quiet:
            lines.append(
                gettext(
                    "applied {applied}, recorded {recorded}, rejected {rejected}, duplicates "
                    "skipped {duplicates}; retries {retries}, JWKS fetches {fetches}, photos "
                    "checked {photos}; cursor {cursor} of {head}",
                    photos=self.photos,
                    applied=self.applied,
                    recorded=self.recorded,
                    rejected=len(self.rejections),
                    duplicates=self.duplicates,
                    retries=self.retries,
                    fetches=self.jwks_fetches,
                    cursor=self.cursor,
                    head=self.head,
                )
            )
        if self.checkpoint is not None:
            lines.append(
                ngettext(
                    "transparency log: checkpoint of {n} event verified consistent",
                    "transparency log: checkpoint of {n} events verified consistent",
                    self.checkpoint,
                )
            )
        if self.status_checked or self.status_conflicts:
            lines.append(
                gettext(
                    "status lists: {lists} verified, {certificates} compared, {conflicts}, "
                    "{changes} not yet in the feed",
                    lists=self.status_lists,
                    certificates=plural("{n} certificate", "{n} certificates", self.status_checked),
                    conflicts=plural("{n} conflict", "{n} conflicts", len(self.status_conflicts)),
                    changes=plural("{n} change", "{n} changes", len(self.status_pending)),
                )
            )
        if self.untrusted:
            lines.append(
                ngettext(
                    "{n} certificate in the mirror was signed after its key's compromise "
                    "cut-off: kept, marked untrusted",
                    "{n} certificates in the mirror were signed after their key's compromise "
                    "cut-off: kept, marked untrusted",
                    self.untrusted,
                )
            )
        return lines


class Applier:
    """Verifies and applies the events of one page inside one mirror transaction."""

    def __init__(
        self, keys: KeyCache, summary: PullSummary, log: CheckpointLog | None = None
    ) -> None:
        self._keys = keys
        self._summary = summary
        self._log = log
        self._session: Session | None = None
        #: Certificates issued in this page, inserted together when the page ends.
        self._pending: dict[str, dict[str, Any]] = {}
        #: Per page: exact compromise cut-offs by kid, and issued numbers already mirrored.
        self._cutoffs: dict[str, dt.datetime] = {}
        self._existing: set[str] = set()
        #: Over the whole pull: the revocation entry of every certificate issued in it, and
        #: the certificates whose status changed — what :class:`StatusListCheck` compares.
        self.entries: dict[str, StatusEntry] = {}
        self.status_changed: set[str] = set()
        #: (seq, certificate, hex digest) of every photo a record applied since the caller
        #: last took them: the pull fetches and checks them (:func:`certsvc.registry.pull`).
        self.photos: list[tuple[int, str, str]] = []

    @property
    def _db(self) -> Session:
        assert self._session is not None, "only while a page is applied"
        return self._session

    def apply_page(self, mirror: Mirror, page: Mapping[str, Any]) -> int:
        """Apply ``page``; returns the new cursor. FeedIntegrityError on a gap."""
        with mirror.transaction() as session:
            state = session.execute(
                select(MirrorState).where(MirrorState.id == 1).with_for_update()
            ).scalar_one()
            cursor = state.cursor
            self._session, self._pending = session, {}
            # Two look-ups per event would cost more than verifying it: load what the page needs.
            self._cutoffs = {
                kid: cutoff
                for kid, cutoff in session.execute(
                    select(MirrorKey.kid, MirrorKey.compromised_after)
                )
                if cutoff is not None
            }
            numbers = [e.get("certificate") for e in page["events"] if e.get("kind") == "issued"]
            self._existing = set(
                session.scalars(
                    select(MirrorCertificate.number).where(
                        MirrorCertificate.number.in_([n for n in numbers if isinstance(n, str)])
                    )
                )
            )
            outcomes: list[dict[str, Any]] = []
            for event in page["events"]:
                seq = int(event["seq"])
                if seq <= cursor:
                    self._summary.duplicates += 1
                    continue
                if page.get("scope") is None and seq != cursor + 1:
                    raise FeedIntegrityError(
                        N_(
                            "the feed skipped from seq {cursor} to {seq}; the event log has no "
                            "gaps, so "
                            "events were lost on the way — nothing of this page was applied"
                        ),
                        cursor=cursor,
                        seq=seq,
                    )
                outcomes.append(self._apply(event))
                cursor = seq
            insert_rows(session, MirrorCertificate, list(self._pending.values()))
            insert_rows(session, MirrorEvent, outcomes)
            state.cursor = cursor
            state.updated_at = dt.datetime.now(dt.UTC)
            if self._keys.unsaved:
                state.jwks, state.jwks_etag = self._keys.document()
                self._keys.unsaved = False
            if self._log is not None:
                self._log.save(session)
        return cursor

    def _apply(self, event: Mapping[str, Any]) -> dict[str, Any]:
        kind = str(event.get("kind"))
        number = event.get("certificate")
        outcome, why = "applied", None
        try:
            if kind == "issued":
                self._issued(event)
            elif kind in ("revoked", "superseded"):
                self._status(event, kind)
            elif kind == "photo_replaced":
                self._photo_replaced(event)
            elif kind in ("key_created", "key_rotated"):
                self._key_added(event, rotated=kind == "key_rotated")
            elif kind == "key_compromised":
                self._key_compromised(event)
            else:
                outcome = "recorded"
        except Rejected as exc:
            outcome, why = "rejected", exc.text
        except CertsvcError as exc:  # MalformedToken, InvalidSignature, UnknownKey, SigningKeyError
            outcome, why = "rejected", exc.text
        except (KeyError, TypeError, ValueError) as exc:
            outcome, why = (
                "rejected",
                Message(
                    N_("the event is malformed ({problem})"),
                    problem=f"{type(exc).__name__}: {exc}",
                ),
            )
        self._summary.events += 1
        self._summary.kinds[kind] = self._summary.kinds.get(kind, 0) + 1
        if why is not None:
            self._summary.rejections.append(
                Rejection(int(event["seq"]), kind, number if isinstance(number, str) else None, why)
            )
        elif outcome == "applied":
            self._summary.applied += 1
        else:
            self._summary.recorded += 1
        return {
            "seq": int(event["seq"]),
            "kind": kind[:32],
            "outcome": outcome,
            "certificate": number[:22] if isinstance(number, str) else None,
            # The mirror's table keeps the reason in English, as logs do.
            "detail": why.english if why is not None else "",
        }

    # -- issued

    def _issued(self, event: Mapping[str, Any]) -> None:
        record = event.get("record")
        if not isinstance(record, str):
            raise Rejected(N_("the event has no signed record"))
        credential, verified = verify_credential(record, self._keys.public_key)
        key = self._keys.entry(verified.kid)
        types = credential.get("type")
        if not isinstance(types, list) or CREDENTIAL_TYPE not in types:
            raise Rejected(
                N_("the signed record is not a {credential_type}"), credential_type=CREDENTIAL_TYPE
            )
        number = _text(credential, "certificateNumber")
        body = _text(credential, "issuer", "bodyCode")
        if number != event.get("certificate"):
            raise Rejected(
                N_("the record is signed for {number}, the event names another"), number=number
            )
        if key.body_code != body or event.get("body") != body:
            raise Rejected(
                N_("the record names body {body} but key {kid} is not that body's"),
                body=body,
                kid=key.kid,
            )
        try:
            numbered_by = str(issuing_body_of(number))
        except InvalidCertificateNumber as exc:
            raise Rejected(
                N_("the record's certificate number is not one: {reason}"), reason=exc.text
            ) from exc
        if numbered_by != body:
            raise Rejected(
                N_(
                    "certificate {number} is numbered for body {numbered_by}; the key of body "
                    "{body} cannot certify for it"
                ),
                number=number,
                numbered_by=numbered_by,
                body=body,
            )
        subject = _field(credential, "credentialSubject")
        holder = event.get("holder")
        if not isinstance(holder, Mapping):
            raise Rejected(N_("the event has no holder ID number"))
        id_type = IdType(str(holder["id_type"]))
        id_number = str(holder["id_number"])
        salt = b64url_decode(str(holder["id_salt"]))
        if _text(subject, "idType") != id_type.value:
            raise Rejected(N_("the ID type delivered differs from the signed one"))
        expected = id_commitment(id_type, id_number, salt)
        if not hmac.compare_digest(expected, _text(subject, "idNumberCommitment")):
            raise Rejected(N_("the ID number delivered does not match the signed commitment"))
        if mask_id_number(id_number) != _text(subject, "idNumberMasked"):
            raise Rejected(N_("the ID number delivered does not match the signed masked form"))
        if number in self._pending or number in self._existing:
            raise Rejected(
                N_("certificate {number} was issued before under another seq"), number=number
            )
        signed_at = parse_rfc3339(event.get("occurred_at"), what="occurred_at")
        trusted = self._trusted(key.kid, key, signed_at)
        supersedes = credential.get("supersedes")
        entry = status_entry(credential)
        if entry is not None:
            self.entries[number] = entry
        photo = photo_resource(credential)
        if photo is not None:
            self.photos.append((int(event["seq"]), number, photo))
        self._pending[number] = {
            "number": number,
            "body_code": body,
            "kid": key.kid,
            "signed_at": signed_at,
            "holder_name": _text(subject, "name"),
            "id_type": id_type.value,
            "id_number": id_number,
            "occupation_code": _text(subject, "occupation", "code"),
            "level": _text(subject, "level", "code"),
            "issue_date": _text(credential, "validFrom")[:10],
            "route": _text(subject, "route"),
            "employer_uscc": _text(subject, "employer", "uscc"),
            "supersedes": supersedes if isinstance(supersedes, str) else None,
            "status": "valid",
            "status_reason": "",
            "status_changed_at": None,
            "superseded_by": None,
            "trusted": trusted,
            "issued_seq": int(event["seq"]),
            "status_seq": None,
            "record": record,
            "status_record": None,
        }

    def _cutoff(self, kid: str, key: PublishedKey) -> dt.datetime | None:
        """The earliest compromise cut-off known for ``kid``, exact where possible.

        Key events carry the exact cut-off; the JWKS only whole seconds (rounded down). A JWKS
        cut-off counts up to the end of its second, so it decides only until the key event
        with the exact time arrives — and the result after all events is the exact one.
        """
        known = self._cutoffs.get(kid)
        cutoffs = [known] if known is not None else []
        if key.compromised_after is not None:
            cutoffs.append(key.compromised_after + dt.timedelta(microseconds=999_999))
        return min(cutoffs) if cutoffs else None

    def _trusted(self, kid: str, key: PublishedKey, signed_at: dt.datetime) -> bool:
        cutoff = self._cutoff(kid, key)
        return cutoff is None or signed_at <= cutoff

    # -- revoked / superseded

    def _status(self, event: Mapping[str, Any], kind: str) -> None:
        record = event.get("record")
        if not isinstance(record, str):
            raise Rejected(
                N_(
                    "the status change is not signed (written before status statements existed); "
                    "ask the issuer to confirm it"
                )
            )
        claim = verify_status_statement(record, self._keys.public_key)
        key = self._keys.entry(claim.kid)
        if claim.status != kind or claim.number != event.get("certificate"):
            raise Rejected(N_("the signed statement is about another certificate or status"))
        if key.body_code != claim.body_code:
            raise Rejected(
                N_("key {kid} is not a key of body {body_code}"),
                kid=key.kid,
                body_code=claim.body_code,
            )
        if kind == "superseded" and claim.superseded_by != event.get("superseded_by"):
            raise Rejected(N_("the signed successor differs from the event's"))
        if not self._trusted(key.kid, key, claim.changed_at):
            raise Rejected(
                N_("the statement was signed after key {kid} was compromised"), kid=key.kid
            )
        values = {
            "status": kind,
            "status_reason": claim.reason,
            "status_changed_at": claim.changed_at,
            "superseded_by": claim.superseded_by,
            "status_seq": int(event["seq"]),
            "status_record": record,
        }
        pending = self._pending.get(claim.number)
        if pending is not None:
            current_body = pending["body_code"]
        else:
            current_body = self._db.scalar(
                select(MirrorCertificate.body_code).where(MirrorCertificate.number == claim.number)
            )
        if current_body is None:
            raise Rejected(
                N_("certificate {number} is not in the mirror (was it rejected?)"),
                number=claim.number,
            )
        if current_body != claim.body_code:
            raise Rejected(
                N_("certificate {number} was issued by {current_body}"),
                number=claim.number,
                current_body=current_body,
            )
        self.status_changed.add(claim.number)
        if pending is not None:
            pending.update(values)
        else:
            self._db.execute(
                update(MirrorCertificate)
                .where(MirrorCertificate.number == claim.number)
                .values(**values)
            )

    # -- photo replaced

    def _photo_replaced(self, event: Mapping[str, Any]) -> None:
        """A certificate's record re-signed for a new holder photo: every field but the
        photo's digest must be the mirrored record's, signed by a trusted key of its body."""
        record = event.get("record")
        if not isinstance(record, str):
            raise Rejected("the event has no signed record")
        credential, verified = verify_credential(record, self._keys.public_key)
        key = self._keys.entry(verified.kid)
        number = _text(credential, "certificateNumber")
        if number != event.get("certificate"):
            raise Rejected(f"the record is signed for {number}, the event names another")
        if key.body_code != _text(credential, "issuer", "bodyCode"):
            raise Rejected(f"key {key.kid} is not a key of the body the record names")
        signed_at = parse_rfc3339(event.get("occurred_at"), what="occurred_at")
        if not self._trusted(key.kid, key, signed_at):
            raise Rejected(f"the record was signed after key {key.kid} was compromised")
        photo = photo_resource(credential)
        if photo is None or photo != event.get("photo_sha256"):
            raise Rejected("the re-signed record does not name the event's photo")
        pending = self._pending.get(number)
        before = (
            pending["record"]
            if pending is not None
            else self._db.scalar(
                select(MirrorCertificate.record).where(MirrorCertificate.number == number)
            )
        )
        if before is None:
            raise Rejected(f"certificate {number} is not in the mirror (was it rejected?)")
        if _without_photo(credential) != _without_photo(_payload(before)):
            raise Rejected("the re-signed record changes more than the photo's digest")
        if pending is not None:
            pending["record"] = record
        else:
            self._db.execute(
                update(MirrorCertificate)
                .where(MirrorCertificate.number == number)
                .values(record=record)
            )
        self.photos.append((int(event["seq"]), number, photo))

    # -- keys

    def _announced_key(self, event: Mapping[str, Any], *, compromised: bool) -> PublishedKey:
        key = event.get("key")
        if not isinstance(key, Mapping) or not isinstance(key.get("kid"), str):
            raise Rejected(N_("the key event carries no key"))
        kid = str(key["kid"])
        if jwk_thumbprint({"kty": key["kty"], "crv": key["crv"], "x": key["x"]}) != kid:
            raise Rejected(N_("the announced key's kid {kid} is not its thumbprint"), kid=kid)
        try:
            published = self._keys.entry(kid, need_compromise=compromised)
        except UnknownKey as exc:
            raise Rejected(
                N_("key {kid} is announced but not in the service's JWKS"), kid=kid
            ) from exc
        if published.jwk["x"] != key["x"] or published.body_code != key.get("body"):
            raise Rejected(N_("key {kid} in the feed differs from the JWKS"), kid=kid)
        return published

    def _key_added(self, event: Mapping[str, Any], *, rotated: bool) -> None:
        published = self._announced_key(event, compromised=False)
        if rotated:
            self._db.execute(
                update(MirrorKey)
                .where(
                    MirrorKey.body_code == published.body_code,
                    MirrorKey.status == "active",
                    MirrorKey.kid != published.kid,
                )
                .values(status="retired")
            )
        if self._db.get(MirrorKey, published.kid) is None:
            self._db.add(
                MirrorKey(
                    kid=published.kid,
                    body_code=published.body_code or "",
                    jwk=dict(published.jwk),
                    status="active",
                    seq=int(event["seq"]),
                )
            )
            self._db.flush()

    def _key_compromised(self, event: Mapping[str, Any]) -> None:
        published = self._announced_key(event, compromised=True)
        if published.compromised_after is None:
            raise Rejected(
                N_("the JWKS does not confirm that key {kid} is compromised"), kid=published.kid
            )
        announced = parse_rfc3339(event.get("compromised_after"), what="compromised_after")
        known = self._db.get(MirrorKey, published.kid)
        cutoff = announced  # exact; a cut-off only ever moves earlier
        if known is not None and known.compromised_after is not None:
            cutoff = min(cutoff, known.compromised_after)
        if known is None:
            known = MirrorKey(
                kid=published.kid,
                body_code=published.body_code or "",
                jwk=dict(published.jwk),
                seq=int(event["seq"]),
            )
            self._db.add(known)
        known.status = "compromised"
        known.compromised_after = cutoff
        self._cutoffs[published.kid] = cutoff
        self._db.flush()
        self._db.execute(
            update(MirrorCertificate)
            .where(MirrorCertificate.kid == published.kid, MirrorCertificate.signed_at > cutoff)
            .values(trusted=False)
        )
        for row in self._pending.values():
            if row["kid"] == published.kid and row["signed_at"] > cutoff:
                row["trusted"] = False
