"""The registry change feed: events in seq order with their signed records, streamed.

One page is ``GET /api/v1/registry/changes?after=<cursor>&limit=<n>``; the cursor is the seq
of the last event the reader has (0 to start). The page is written as it is read from the
database — up to a thousand rows at a time, each chunk leaving as JSON text at once — so the
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
* ``photo_replaced``: ``certificate``, ``kid``, ``record`` — the certificate's vc+jwt
  re-signed with the new holder photo's digest (same number, same fields) — and
  ``photo_sha256``, the new photo's hex digest (:mod:`certsvc.issuance.photos`);
* ``key_created`` / ``key_rotated``: ``key`` — the public JWK with ``kid`` and ``body``;
* ``key_compromised``: ``key`` and ``compromised_after``;
* ``body_created`` / ``body_changed``: ``data`` as logged.

Only facts fixed when the event was written go out (never a certificate's current status or
a key's current state), so replaying from any cursor returns byte-identical events.
"""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from json.encoder import encode_basestring
from typing import Any, TypeVar

from sqlalchemy import DateTime, and_, bindparam, case, null, select, type_coerce
from sqlalchemy.engine import Connection

from certsvc.db import Database
from certsvc.domain.ids import IdType
from certsvc.errors import InvalidInput
from certsvc.holders.identity import IdVault
from certsvc.i18n import N_
from certsvc.models import (
    Certificate,
    CertificationBody,
    Event,
    EventLogHead,
    Holder,
    SigningKey,
    UTCDateTime,
)
from certsvc.models.transparency import LogCheckpoint
from certsvc.runtime import Runtime
from certsvc.signing.b64 import b64url_encode

T = TypeVar("T")

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_CURSOR",
    "MAX_LIMIT",
    "FeedRequest",
    "parse_request",
    "stream_changes",
]


DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000
#: The largest cursor a request may give (18 digits: past any seq, within a 64-bit integer).
MAX_CURSOR = 10**18 - 1
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
    # Absent means the default; present must be a number (the OpenAPI document's integer).
    after_text = args.get("after", "0").strip()
    limit_text = args.get("limit", str(DEFAULT_LIMIT)).strip()
    after, limit = _whole(after_text), _whole(limit_text)
    if after is None or after > MAX_CURSOR:
        raise InvalidInput(
            N_(
                "after must be the cursor of a previous page (a seq, 0 to start), not "
                "{after_text!r}"
            ),
            after_text=after_text,
        )
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            N_("limit must be a whole number from 1 to {max_limit}"), max_limit=MAX_LIMIT
        )
    return FeedRequest(after, limit, body_id, body_code)


def _whole(text: str) -> int | None:
    """``text`` as a whole number of ASCII digits (not "²" or "٣", which int() refuses or
    reads), at most 18 of them; None otherwise."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_ID_TYPES = {t.value: t for t in IdType}
_ID_TYPE_JSON = {t.value: encode_basestring(t.value) for t in IdType}
#: occurred_at is selected without its type's per-row conversion; :meth:`_Items.time` applies
#: the same conversion once per distinct value.
_UTC = UTCDateTime()


class _Items:
    """Turns event rows into feed items (JSON text), caching what repeats.

    Bodies and keys are loaded once per page and again only when a row names one created
    since; their JSON spellings, the ID types' and each batch's shared timestamp are written
    once, not per row. ``issued`` events — nearly all of the feed — are written by a fast path
    that gives the same bytes as ``json.dumps(item, ensure_ascii=False, separators=(",", ":"))``
    (:func:`_string` gives json.dumps's spelling of a string); the rest go through json.dumps.
    """

    def __init__(
        self, db: Database, vault: IdVault, bodies: Sequence[tuple[int, str]] | None = None
    ) -> None:
        self._db = db
        self._dialect = db.engine.dialect
        self._vault = vault
        self._bodies: dict[int, str] = {}
        self._body_json: dict[int | None, str] = {}
        self._kid_json = _JsonStrings()
        self._keys: dict[str, dict[str, str]] = {}
        self._last_time: tuple[dt.datetime | None, str] = (None, "")
        if bodies is None:
            self._reload()
        else:  # keys are read when a key event first needs them
            self._use(bodies, ())

    def _use(
        self, bodies: Sequence[tuple[int, str]], keys: Sequence[tuple[str, dict[str, str], int]]
    ) -> None:
        self._bodies = dict(bodies)
        self._body_json = {None: "null"} | {k: _string(v) for k, v in self._bodies.items()}
        for kid, jwk, body_id in keys:
            self._keys[kid] = {
                "kty": jwk["kty"],
                "crv": jwk["crv"],
                "x": jwk["x"],
                "kid": kid,
                "body": self._bodies.get(body_id, ""),
            }

    def _reload(self) -> None:
        self._use(*_read(self._db, _load))

    def body(self, body_id: int | None) -> str | None:
        if body_id is None:
            return None
        if body_id not in self._bodies:  # created after the page began
            self._reload()
        return self._bodies.get(body_id, "")

    def key(self, kid: str) -> dict[str, str] | None:
        if kid not in self._keys:
            self._reload()
        return self._keys.get(kid)

    def time(self, moment: dt.datetime) -> str:
        # Rows carry occurred_at as the driver gives it (no per-row conversion, see
        # _page_query); a batch's events share one timestamp, converted and formatted once.
        if moment != self._last_time[0]:
            utc = _UTC.process_result_value(moment, self._dialect)
            assert utc is not None
            self._last_time = (moment, _time(utc))
        return self._last_time[1]

    def texts(self, rows: Sequence[Any]) -> str:
        """The events of ``rows`` (of :func:`_page_query`) as compact JSON joined by commas."""
        # Decrypted here, written to the response, never stored or logged (see package doc).
        issued = [r for r in rows if r[1] == "issued"]
        numbers = iter(self._vault.reveal_all([(_ID_TYPES[r[8]], r[9], r[10]) for r in issued]))
        salts = iter(self._vault.open_salts([(_ID_TYPES[r[8]], r[9], r[11]) for r in issued]))
        bodies, kids, time = self._body_json, self._kid_json, self.time
        texts = []
        for row in rows:
            # Unpacked by position: a Row's attributes cost more than the rest of the row.
            seq, kind, body_id, _, occurred_at, number, kid, record, id_type, _, _, _ = row
            if kind != "issued":
                texts.append(_dumps(self.item(row)))
                continue
            body = bodies.get(body_id) or _string(self.body(body_id))
            texts.append(
                f'{{"seq":{int(seq)},"kind":"issued","occurred_at":"{time(occurred_at)}",'
                f'"body":{body},"certificate":{_string(number)},'
                f'"kid":{kids[kid]},"record":{_string(record)},'
                f'"holder":{{"id_type":{_ID_TYPE_JSON[id_type]},'
                f'"id_number":{_string(next(numbers))},'
                f'"id_salt":"{b64url_encode(next(salts))}"}}}}'
            )
        return ",".join(texts)

    def text(self, row: Any) -> str:
        """One event as compact JSON text."""
        return self.texts([row])

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
                "id_salt": b64url_encode(self._vault.open_salt(id_type, row.id_hash, row.id_salt)),
            }
        elif kind in ("revoked", "superseded"):
            item["certificate"] = data.get("number")
            if kind == "revoked":
                item["reason"] = data.get("reason", "")
            else:
                item["superseded_by"] = data.get("superseded_by")
            item["kid"] = data.get("kid")
            item["record"] = data.get("record")  # None only for events from before signing
        elif kind == "photo_replaced":
            item["certificate"] = data.get("number")
            item["kid"] = data.get("kid")
            item["record"] = data.get("record")
            item["photo_sha256"] = data.get("photo_sha256")
        elif kind.startswith("key_"):
            item["key"] = self.key(str(data.get("kid")))
            if kind == "key_compromised":
                cutoff = dt.datetime.fromisoformat(data["compromised_after"])
                item["compromised_after"] = _time(cutoff)
        else:
            item["data"] = data
        return item


class _JsonStrings(dict[str | None, str]):
    """Strings (key ids) to their JSON spelling, each written once."""

    def __missing__(self, key: str | None) -> str:
        self[key] = text = _string(key)
        return text


@cache
def _bodies_query() -> Any:
    return select(CertificationBody.id, CertificationBody.code)


def _load(
    connection: Connection,
) -> tuple[Sequence[tuple[int, str]], Sequence[tuple[str, dict[str, str], int]]]:
    """Bodies (id, code) and keys (kid, public JWK, body id): what :class:`_Items` looks up."""
    bodies = connection.execute(_bodies_query()).all()
    keys = connection.execute(select(SigningKey.kid, SigningKey.public_jwk, SigningKey.body_id))
    return bodies, keys.all()


def _read(db: Database, read: Callable[[Connection], T]) -> T:
    """``read`` in a short transaction of its own, rolled back (it only reads), on a Core
    connection: the feed reads rows, not objects, and an ORM session only adds work."""
    with db.engine.connect() as connection:
        try:
            return read(connection)
        finally:
            connection.rollback()


#: Characters that json.dumps writes as themselves (no escape) in a string.
_PLAIN = (string.ascii_letters + string.digits + "-_.:/+=@ ").encode()


def _string(value: str | None) -> str:
    """``value`` as json.dumps (ensure_ascii=False) writes it.

    Records (a vc+jwt: base64url and dots) are nearly all of the bytes; checking that a
    string is made of plain characters only is several times faster than escaping it, and
    a plain string is written as itself in quotes. Anything else is escaped by json's own
    function.
    """
    if value is None:
        return "null"
    if value.isascii() and not value.encode("ascii").translate(None, _PLAIN):
        return f'"{value}"'
    return encode_basestring(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@cache
def _page_query(scoped: bool) -> Any:
    """The chunk statement (built once: building it costs more than running it), with bound
    parameters ``after``, ``limit`` and, when ``scoped``, ``body_id``."""
    # The page's events are chosen first (by the primary key, in order), then joined: written
    # as one join with LIMIT, PostgreSQL may plan a parallel or hash join over whole tables
    # for every chunk, several times slower than these index look-ups.
    events = select(
        Event.seq,
        Event.kind,
        Event.body_id,
        Event.certificate_id,
        # Issued events' data is only their kid, which the certificate row has too: not
        # sending it saves parsing JSON for nearly every row.
        case((Event.kind == "issued", null()), else_=Event.data).label("data"),
        # As the driver gives it: _Items.time converts each distinct value once.
        type_coerce(Event.occurred_at, DateTime(timezone=True)).label("occurred_at"),
    ).where(Event.seq > bindparam("after"))
    if scoped:
        events = events.where(Event.body_id == bindparam("body_id"))
    page = events.order_by(Event.seq).limit(bindparam("limit")).subquery("page")
    return (
        select(
            page.c.seq,
            page.c.kind,
            page.c.body_id,
            page.c.data,
            page.c.occurred_at,
            Certificate.number,
            Certificate.kid,
            Certificate.record,
            Holder.id_type,
            Holder.id_hash,
            Holder.id_ciphertext,
            Holder.id_salt,
        )
        .select_from(page)
        .outerjoin(
            Certificate, and_(Certificate.id == page.c.certificate_id, page.c.kind == "issued")
        )
        .outerjoin(Holder, Holder.id == Certificate.holder_id)
        .order_by(page.c.seq)
    )


def _rows(connection: Connection, request: FeedRequest, after: int, limit: int) -> list[Any]:
    """Events with seq > ``after`` (of the request's body, if any), at most ``limit``."""
    parameters = {"after": after, "limit": limit}
    if request.body_id is not None:
        parameters["body_id"] = request.body_id
    return list(connection.execute(_page_query(request.body_id is not None), parameters).all())


def _fetch(db: Database, request: FeedRequest, after: int, limit: int) -> list[Any]:
    """One chunk of rows, in its own transaction."""
    return _read(db, lambda connection: _rows(connection, request, after, limit))


@cache
def _head_query() -> Any:
    head = select(EventLogHead.last_seq).where(EventLogHead.id == 1).scalar_subquery()
    checkpoint = (
        select(LogCheckpoint.note).order_by(LogCheckpoint.tree_size.desc()).limit(1)
    ).scalar_subquery()
    return select(head, checkpoint)


@dataclass(frozen=True)
class _Start:
    """What a page reads first, in one transaction: its head, the latest checkpoint, the
    bodies and the first chunk of rows."""

    head: int
    checkpoint: str | None
    bodies: Sequence[tuple[int, str]]
    rows: list[Any]


def _start(db: Database, request: FeedRequest, limit: int) -> _Start:
    def read(connection: Connection) -> _Start:
        head, checkpoint = connection.execute(_head_query()).one()
        bodies = connection.execute(_bodies_query()).all()
        rows = _rows(connection, request, request.after, limit)
        return _Start(int(head or 0), checkpoint, bodies, rows)

    return _read(db, read)


def stream_changes(runtime: Runtime, request: FeedRequest) -> Iterator[str]:
    """The page for ``request`` as JSON text chunks, read from the database as it is written.

    Rows are read in chunks of :data:`FETCH_ROWS`, each chunk by seq range in its own short
    transaction: memory stays flat for any ``limit``, and a slow reader holds neither a lock
    (SQLite takes the write lock for every transaction) nor an old snapshot (PostgreSQL) while
    the page drains. Splitting is safe because seqs commit in order without gaps
    (:mod:`certsvc.models.events`): a later chunk can only add events after the ones already sent.
    The first chunk is read with the page's head; each next one on a helper thread while the
    one before is written out.
    """
    db = runtime.db
    wanted = min(FETCH_ROWS, request.limit)
    start = _start(db, request, wanted)
    items = _Items(db, runtime.vault, start.bodies)
    yield (
        f'{{"head":{start.head},"after":{request.after},"limit":{request.limit},'
        f'"scope":{_dumps(request.body_code)},"checkpoint":{_string(start.checkpoint)},"events":['
    )
    rows, count, last = start.rows, 0, request.after
    pool: ThreadPoolExecutor | None = None
    try:
        while True:
            if rows:
                last = int(rows[-1][0])
            more = min(FETCH_ROWS, request.limit - count - len(rows))
            pending: Future[list[Any]] | None = None
            if len(rows) == wanted and more > 0:
                pool = pool or ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-read")
                pending = pool.submit(_fetch, db, request, last, more)
            if rows:
                yield ("," if count else "") + items.texts(rows)
                count += len(rows)
            if pending is None:
                break
            rows, wanted = pending.result(), more
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    yield f'],"count":{count},"next":{last}}}'
