"""The registry change feed: events in seq order with their signed records, streamed.

One page is ``GET /api/v1/registry/changes?after=<cursor>&limit=<n>``; the cursor is the seq
of the last event the reader has (0 to start). The page is written as it is read from the
database — a few hundred rows at a time, each chunk leaving as JSON text at once — so the
server's memory does not grow with ``limit``. Its shape::

    {"head": 1200, "after": 0, "limit": 1000, "scope": null,
     "checkpoint": "cert.example.cn/log\n1200\n…\n\n— cert.example.cn/log …\n",
     "events": [ {event}, ... ],
     "count": 1000, "next": 1000}

``count`` and ``next`` come last on purpose: a page cut short on the way (a dropped
connection) is not valid JSON, so a client can never take half a page for a whole one.
``head`` is the last seq committed when the page began (for progress bars only).
``checkpoint`` is the transparency log's latest signed checkpoint at that moment (null before
the first; :mod:`certsvc.transparency`): a client keeps the last one it accepted and checks
that the next one extends it (a consistency proof), so a rewritten history is noticed.

Every event has ``seq``, ``kind``, ``occurred_at`` (RFC 3339, UTC, exact) and ``body`` (the
body code), and by kind:

* ``issued``: ``certificate`` (number), ``kid``, ``record`` (the vc+jwt as signed at
  issuance) and ``holder`` ``{"id_type", "id_number", "id_salt"}`` — the clear ID number and
  the salt of the commitment signed into the record (see :mod:`certsvc.registry`);
* ``revoked``: ``certificate``, ``reason``, ``kid`` and ``record`` — the signed status
  statement (:mod:`certsvc.registry.statements`);
* ``superseded``: ``certificate``, ``superseded_by``, ``kid``, ``record`` (statement);
* ``key_created`` / ``key_rotated``: ``key`` — the public JWK with ``kid`` and ``body``;
* ``key_compromised``: ``key`` and ``compromised_after``;
* ``body_created`` / ``body_changed``: ``data`` as logged.

Only facts fixed when the event was written go out (never a certificate's current status or
a key's current state), so replaying from any cursor returns byte-identical events.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import and_, case, null, select

from certsvc.db import Database
from certsvc.domain.ids import IdType
from certsvc.errors import InvalidInput
from certsvc.identity import IdVault
from certsvc.models import Certificate, CertificationBody, Event, EventLogHead, Holder, SigningKey
from certsvc.services import Services
from certsvc.signing.b64 import b64url_encode
from certsvc.transparency.models import LogCheckpoint

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "FeedRequest", "parse_request", "stream_changes"]


DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000
#: Rows fetched from the database per round trip while a page streams.
FETCH_ROWS = 1_000


@dataclass(frozen=True)
class FeedRequest:
    """One page request: events with ``seq > after``, at most ``limit``, of one body or all."""

    after: int = 0
    limit: int = DEFAULT_LIMIT
    body_id: int | None = None
    body_code: str | None = None


def parse_request(
    args: Mapping[str, str], body_id: int | None = None, body_code: str | None = None
) -> FeedRequest:
    """Read ``after`` and ``limit`` from query arguments; InvalidInput says what is wrong."""
    after_text = args.get("after", "0").strip() or "0"
    limit_text = args.get("limit", str(DEFAULT_LIMIT)).strip() or str(DEFAULT_LIMIT)
    if not after_text.isdigit() or len(after_text) > 18:
        raise InvalidInput(
            f"after must be the cursor of a previous page (a seq, 0 to start), not {after_text!r}"
        )
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return FeedRequest(int(after_text), int(limit_text), body_id, body_code)


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_ID_TYPES = {t.value: t for t in IdType}


class _Items:
    """Turns event rows into feed items (JSON text), caching what repeats.

    Bodies and keys are loaded once per page and again only when a row names one created
    since. ``issued`` events — nearly all of the feed — are written by a fast path that
    gives the same bytes as ``json.dumps(item, ensure_ascii=False, separators=(",", ":"))``
    (``encode_basestring`` is the function json.dumps itself uses for strings); the rest go
    through json.dumps.
    """

    def __init__(self, db: Database, vault: IdVault) -> None:
        self._db = db
        self._vault = vault
        self._bodies: dict[int, str] = {}
        self._keys: dict[str, dict[str, str]] = {}
        self._last_time: tuple[dt.datetime | None, str] = (None, "")
        self._load()

    def _load(self) -> None:
        with self._db.session() as session:
            self._bodies = dict(
                session.execute(select(CertificationBody.id, CertificationBody.code)).all()
            )
            keys = session.execute(
                select(SigningKey.kid, SigningKey.public_jwk, SigningKey.body_id)
            ).all()
            session.rollback()
        for kid, jwk, body_id in keys:
            self._keys[kid] = {
                "kty": jwk["kty"],
                "crv": jwk["crv"],
                "x": jwk["x"],
                "kid": kid,
                "body": self._bodies.get(body_id, ""),
            }

    def body(self, body_id: int | None) -> str | None:
        if body_id is None:
            return None
        if body_id not in self._bodies:  # created after the page began
            self._load()
        return self._bodies.get(body_id, "")

    def key(self, kid: str) -> dict[str, str] | None:
        if kid not in self._keys:
            self._load()
        return self._keys.get(kid)

    def time(self, moment: dt.datetime) -> str:
        # A batch's events share one timestamp: format it once.
        if moment != self._last_time[0]:
            self._last_time = (moment, _time(moment))
        return self._last_time[1]

    def text(self, row: Any) -> str:
        """The event as compact JSON text."""
        if row.kind != "issued":
            return _dumps(self.item(row))
        id_type = _ID_TYPES[row.id_type]
        # Decrypted here, written to the response, never stored or logged (see package doc).
        number = self._vault.reveal(id_type, row.id_hash, row.id_ciphertext)
        return (
            f'{{"seq":{int(row.seq)},"kind":"issued","occurred_at":"{self.time(row.occurred_at)}",'
            f'"body":{_string(self.body(row.body_id))},"certificate":{_string(row.number)},'
            f'"kid":{_string(row.kid)},"record":{_string(row.record)},'
            f'"holder":{{"id_type":{_string(id_type.value)},"id_number":{_string(number)},'
            f'"id_salt":"{b64url_encode(row.id_salt)}"}}}}'
        )

    def item(self, row: Any) -> dict[str, Any]:
        """The event as a dict (the reference form; :meth:`text` must equal its JSON)."""
        kind: str = row.kind
        data: dict[str, Any] = row.data or {}
        item: dict[str, Any] = {
            "seq": int(row.seq),
            "kind": kind,
            "occurred_at": self.time(row.occurred_at),
            "body": self.body(row.body_id),
        }
        if kind == "issued":
            id_type = _ID_TYPES[row.id_type]
            item["certificate"] = row.number
            item["kid"] = row.kid
            item["record"] = row.record
            number = self._vault.reveal(id_type, row.id_hash, row.id_ciphertext)
            item["holder"] = {
                "id_type": id_type.value,
                "id_number": number,
                "id_salt": b64url_encode(row.id_salt),
            }
        elif kind in ("revoked", "superseded"):
            item["certificate"] = data.get("number")
            if kind == "revoked":
                item["reason"] = data.get("reason", "")
            else:
                item["superseded_by"] = data.get("superseded_by")
            item["kid"] = data.get("kid")
            item["record"] = data.get("record")  # None only for events from before signing
        elif kind.startswith("key_"):
            item["key"] = self.key(str(data.get("kid")))
            if kind == "key_compromised":
                cutoff = dt.datetime.fromisoformat(data["compromised_after"])
                item["compromised_after"] = _time(cutoff)
        else:
            item["data"] = data
        return item


def _string(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _page_query(request: FeedRequest, after: int, limit: int) -> Any:
    query = (
        select(
            Event.seq,
            Event.kind,
            Event.body_id,
            # Issued events' data is only their kid, which the certificate row has too: not
            # sending it saves parsing JSON for nearly every row.
            case((Event.kind == "issued", null()), else_=Event.data).label("data"),
            Event.occurred_at,
            Certificate.number,
            Certificate.kid,
            Certificate.record,
            Holder.id_type,
            Holder.id_hash,
            Holder.id_ciphertext,
            Holder.id_salt,
        )
        .outerjoin(
            Certificate, and_(Certificate.id == Event.certificate_id, Event.kind == "issued")
        )
        .outerjoin(Holder, Holder.id == Certificate.holder_id)
        .where(Event.seq > after)
        .order_by(Event.seq)
        .limit(limit)
    )
    if request.body_id is not None:
        query = query.where(Event.body_id == request.body_id)
    return query


def _fetch(db: Database, request: FeedRequest, after: int, limit: int) -> list[Any]:
    """One chunk of rows, in its own short transaction (Core rows, no ORM loading)."""
    with db.session() as session:
        rows = list(session.connection().execute(_page_query(request, after, limit)).all())
        session.rollback()
    return rows


def stream_changes(services: Services, request: FeedRequest) -> Iterator[str]:
    """The page for ``request`` as JSON text chunks, read from the database as it is written.

    Rows are read in chunks of :data:`FETCH_ROWS`, each chunk by seq range in its own short
    transaction: memory stays flat for any ``limit``, and a slow reader holds neither a lock
    (SQLite takes the write lock for every transaction) nor an old snapshot (PostgreSQL) while
    the page drains. Splitting is safe because seqs commit in order without gaps
    (:mod:`certsvc.events`): a later chunk can only add events after the ones already sent.
    The next chunk is read on a helper thread while this one is written out.
    """
    db = services.db
    with db.session() as session:
        head = session.scalar(select(EventLogHead.last_seq).where(EventLogHead.id == 1)) or 0
        checkpoint = session.scalar(
            select(LogCheckpoint.note).order_by(LogCheckpoint.tree_size.desc()).limit(1)
        )
        session.rollback()
    items = _Items(db, services.vault)
    yield (
        f'{{"head":{int(head)},"after":{request.after},"limit":{request.limit},'
        f'"scope":{_dumps(request.body_code)},"checkpoint":{_string(checkpoint)},"events":['
    )
    count, last = 0, request.after
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-read")
    try:
        wanted = min(FETCH_ROWS, request.limit)
        pending: Future[list[Any]] | None = pool.submit(_fetch, db, request, last, wanted)
        while pending is not None:
            rows = pending.result()
            pending = None
            if rows:
                last = int(rows[-1].seq)
            more = min(FETCH_ROWS, request.limit - count - len(rows))
            if len(rows) == wanted and more > 0:
                pending = pool.submit(_fetch, db, request, last, more)
            if rows:
                yield ("," if count else "") + ",".join([items.text(row) for row in rows])
                count += len(rows)
            wanted = more
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    yield f'],"count":{count},"next":{last}}}'
