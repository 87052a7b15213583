"""The reference registry client: pull the change feed, verify every record, keep a mirror.

``certsvc registry pull --url URL --token TOKEN --db MIRROR`` plays the national registry
(全国联网查询系统). It trusts nothing it cannot check:

* the keys come from the service's JWKS (``/.well-known/jwks.json``), cached in the mirror
  with its ETag and fetched again when a record names a kid the cache does not know, or when
  a key event announces a key or a compromise the cache does not show — so the client follows
  key rotation by itself;
* every certificate record (vc+jwt) is verified with those keys, must be signed by a key of
  the body it names, and its signed ID commitment must match the clear ID number and salt
  the feed delivers; every revocation and supersession must come with a status statement
  signed by the body (:mod:`certsvc.registry.statements`);
* anything that fails is **rejected**: recorded with its reason in ``mirror_events``,
  reported, and not applied;
* every page carries the transparency log's latest signed checkpoint. The client checks its
  signature with the log keys of ``/.well-known/transparency.json`` (cached in the mirror,
  fetched again when a checkpoint names a key the cache does not know) and, with a
  consistency proof from ``/api/v1/transparency/consistency``, that it extends the last
  checkpoint it accepted (kept in the mirror with the page it came with). A history that was
  rewritten — a checkpoint not consistent with the accepted one — stops the pull with
  :class:`~certsvc.errors.HistoryRewritten` before anything of that page is applied.

Faults: network errors, 5xx, 429 and pages cut short are retried with exponential back-off
and jitter (a server restarted mid-pull is just a few refused connections); each page is
applied in one mirror transaction with the cursor (:mod:`certsvc.registry.mirror`), so a
client killed at any moment resumes cleanly, and a re-delivered event changes nothing.
The next page is fetched on a helper thread while the current one is verified and applied.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import http.client
import ipaddress
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certsvc.domain.ids import IdType, mask_id_number
from certsvc.domain.numbers import issuing_body_of
from certsvc.errors import (
    CertsvcError,
    CheckpointError,
    FeedIntegrityError,
    HistoryRewritten,
    InvalidCertificateNumber,
    InvalidInput,
    PermissionDenied,
    RedirectRefused,
    RegistryUnavailable,
    Unauthenticated,
    UnknownKey,
)
from certsvc.holders.identity import id_commitment
from certsvc.issuance.credential import CREDENTIAL_TYPE
from certsvc.registry.mirror import (
    Mirror,
    MirrorCertificate,
    MirrorEvent,
    MirrorKey,
    MirrorLog,
    MirrorState,
    insert_rows,
)
from certsvc.registry.statements import verify_status_statement
from certsvc.signing.b64 import b64url_decode
from certsvc.signing.jwks import KeySet, PublishedKey, parse_rfc3339
from certsvc.signing.keys import jwk_thumbprint
from certsvc.signing.vc import verify_credential
from certsvc.transparency.merkle import verify_consistency
from certsvc.transparency.note import Checkpoint, NoteVerifier, open_checkpoint

__all__ = [
    "FeedClient",
    "HttpResponse",
    "PullSummary",
    "Rejection",
    "RetryPolicy",
    "Transport",
    "UrllibTransport",
    "pull",
]

FEED_PATH = "/api/v1/registry/changes"
JWKS_PATH = "/.well-known/jwks.json"
TRANSPARENCY_PATH = "/.well-known/transparency.json"
CONSISTENCY_PATH = "/api/v1/transparency/consistency"


# --- HTTP with retries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class Transport(Protocol):
    """Something that performs a GET; raises OSError or http.client.HTTPException on failure."""

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse: ...


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url``, with the scheme's default port filled in."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: no origin matches it
        port = -1
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port if port is not None else default


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme, host and port.

    urllib's own handler copies every header of the request, the bearer token included, to
    wherever a redirect points — another host, or from https to plain http. The service never
    needs to send the client elsewhere, so such a redirect is refused, not followed.
    """

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            fp.close()
            raise RedirectRefused(
                f"{req.full_url} answered HTTP {code} with a redirect to {newurl}, another "
                "scheme, host or port; it was not followed, so no token went there. If that is "
                "the service's real address, pass it as --url"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class UrllibTransport:
    """The standard library's HTTP client (honours the usual proxy variables).

    Redirects are followed only within the same origin (:class:`_SameOriginRedirects`).
    """

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_SameOriginRedirects)

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> HttpResponse:
        request = urllib.request.Request(url, headers=dict(headers), method="GET")  # noqa: S310
        try:
            with self._opener.open(request, timeout=timeout) as response:
                body = response.read()
                names = {k.lower(): v for k, v in response.headers.items()}
                return HttpResponse(response.status, names, body)
        except urllib.error.HTTPError as exc:  # any status but 2xx, including 304
            body = exc.read()
            names = {k.lower(): v for k, v in exc.headers.items()}
            return HttpResponse(exc.code, names, body)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter: 0.25 s, 0.5 s, 1 s … capped, ``attempts`` tries."""

    attempts: int = 10
    base: float = 0.25
    cap: float = 8.0
    timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto


class _Retry(Exception):
    """A response worth asking for again (5xx, 429, a page cut short)."""

    def __init__(self, problem: str, wait: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.wait = wait


def _error_message(response: HttpResponse) -> str:
    try:
        error = json.loads(response.body)["error"]
        return f"{error['message']} ({error['code']})"
    except (ValueError, KeyError, TypeError):
        return response.body[:200].decode(errors="replace")


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FeedClient:
    """The HTTP side: pages of the feed and the JWKS, with retries.

    ``base_url`` must be https, or plain http to this machine only.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: Transport | None = None,
        policy: RetryPolicy | None = None,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(f"--url must be the service's http(s) base URL, not {base_url!r}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            raise InvalidInput(
                f"--url {base_url} is plain http: the token and the feed's ID numbers would "
                "cross the network in clear. Use the service's https:// URL (plain http is "
                "accepted only for localhost, 127.0.0.1 and ::1)"
            )
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._transport = transport or UrllibTransport()
        self._policy = policy or RetryPolicy()
        self._on_retry = on_retry
        self.retries = 0

    def _get(
        self, path: str, headers: Mapping[str, str], parse: Callable[[HttpResponse], Any]
    ) -> Any:
        url = self.base_url + path
        for attempt in range(1, self._policy.attempts + 1):
            wait = None
            try:
                response = self._transport.get(url, headers, self._policy.timeout)
                if response.status >= 500 or response.status == 429:
                    retry_after = response.headers.get("retry-after", "")
                    wait = float(retry_after) if retry_after.isdigit() else None
                    raise _Retry(f"HTTP {response.status} {_error_message(response)}", wait)
                self._raise_for_client_error(response)
                return parse(response)
            except _Retry as exc:
                problem, wait = exc.problem, exc.wait
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt == self._policy.attempts:
                raise RegistryUnavailable(
                    f"{url} failed {attempt} times, last: {problem}; the mirror keeps everything "
                    "applied so far — run the pull again later"
                )
            delay = wait if wait is not None else self._policy.delay(attempt)
            self.retries += 1
            if self._on_retry is not None:
                self._on_retry(problem, delay)
            self._policy.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _raise_for_client_error(response: HttpResponse) -> None:
        if response.status in (200, 304):
            return
        message = _error_message(response)
        if response.status == 401:
            raise Unauthenticated(f"the service refused the token: {message}")
        if response.status == 403:
            raise PermissionDenied(f"the token may not read the feed: {message}")
        raise InvalidInput(f"the service answered HTTP {response.status}: {message}")

    def page(self, after: int, limit: int) -> dict[str, Any]:
        """One page of the feed (a page cut short is retried, never returned)."""
        query = urllib.parse.urlencode({"after": after, "limit": limit})
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

        def parse(response: HttpResponse) -> dict[str, Any]:
            try:
                page = json.loads(response.body)
            except ValueError as exc:
                raise _Retry(f"the page was cut short or garbled ({exc})") from exc
            if not (
                isinstance(page, dict)
                and isinstance(page.get("events"), list)
                and isinstance(page.get("next"), int)
                and page.get("count") == len(page["events"])
            ):
                raise _Retry("the page is incomplete (no events/count/next)")
            return page

        result: dict[str, Any] = self._get(f"{FEED_PATH}?{query}", headers, parse)
        return result

    def jwks(self, etag: str = "") -> tuple[dict[str, Any] | None, str]:
        """The JWKS document and its ETag; ``(None, etag)`` when unchanged since ``etag``."""
        headers = {"Accept": "application/jwk-set+json, application/json"}
        if etag:
            headers["If-None-Match"] = etag

        def parse(response: HttpResponse) -> tuple[dict[str, Any] | None, str]:
            if response.status == 304:
                return None, etag
            try:
                document = json.loads(response.body)
            except ValueError as exc:
                raise _Retry(f"the JWKS was cut short or garbled ({exc})") from exc
            return document, response.headers.get("etag", "")

        result: tuple[dict[str, Any] | None, str] = self._get(JWKS_PATH, headers, parse)
        return result

    def _json(self, path: str, what: str) -> Any:
        def parse(response: HttpResponse) -> Any:
            try:
                return json.loads(response.body)
            except ValueError as exc:
                raise _Retry(f"{what} was cut short or garbled ({exc})") from exc

        return self._get(path, {"Accept": "application/json"}, parse)

    def transparency(self) -> dict[str, Any]:
        """The transparency log's public document: origin and log keys."""
        document = self._json(TRANSPARENCY_PATH, "the transparency document")
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise FeedIntegrityError(f"{self.base_url}{TRANSPARENCY_PATH} lists no log keys")
        return document

    def consistency(self, old: int, new: int) -> list[bytes]:
        """The proof that the log's tree of ``new`` events extends its tree of ``old``."""
        query = urllib.parse.urlencode({"old": old, "new": new})
        answer = self._json(f"{CONSISTENCY_PATH}?{query}", "the consistency proof")
        proof = answer.get("proof") if isinstance(answer, dict) else None
        if not isinstance(proof, list) or not all(isinstance(p, str) for p in proof):
            raise FeedIntegrityError(f"the consistency proof from {old} to {new} is malformed")
        try:
            return [base64.b64decode(p, validate=True) for p in proof]
        except (binascii.Error, ValueError):
            raise FeedIntegrityError(
                f"the consistency proof from {old} to {new} is not base64"
            ) from None


# --- verification ------------------------------------------------------------------------------


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Keys:
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


def _field(mapping: Any, *path: str) -> Any:
    value = mapping
    for name in path:
        # JSON objects parse to dicts; checking for dict, not the Mapping ABC, halves the cost
        # of the eleven look-ups every issued record takes.
        if not isinstance(value, dict) or name not in value:
            raise _Rejected(f"the signed record has no {'.'.join(path)}")
        value = value[name]
    return value


def _text(mapping: Any, *path: str) -> str:
    value = _field(mapping, *path)
    if not isinstance(value, str):
        raise _Rejected(f"{'.'.join(path)} in the signed record is not text")
    return value


class _Log:
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
                f"REFUSED: the service's transparency log is now {document.get('origin')!r}, "
                f"not {self._document.get('origin')!r} as before; the mirror is unchanged"
            )
        self._document = document
        self.unsaved = True

    def _verifiers(self) -> tuple[list[NoteVerifier], str]:
        assert self._document is not None
        origin = self._document.get("origin")
        if not isinstance(origin, str):
            raise FeedIntegrityError("the service's transparency document names no log origin")
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
                    f"REFUSED: the feed's checkpoint does not verify with the service's log "
                    f"keys ({first.message}); the mirror is unchanged"
                ) from first
        self._fetch_document()  # a new log key: fetch the document once per run
        try:
            return open_checkpoint(note, *self._verifiers())
        except CheckpointError as exc:
            raise HistoryRewritten(
                f"REFUSED: the feed's checkpoint does not verify with the service's log keys "
                f"({exc.message}); the mirror is unchanged"
            ) from exc

    def check(self, note: object, cursor: int) -> None:
        """Check the checkpoint a page carries; HistoryRewritten if the history was rewritten."""
        if note is None:
            if self.note is not None:
                raise HistoryRewritten(
                    "REFUSED: the feed no longer carries transparency-log checkpoints though it "
                    f"did before; nothing was applied, the mirror is unchanged at seq {cursor}"
                )
            return
        if not isinstance(note, str):
            raise FeedIntegrityError("the page's checkpoint is not a signed note")
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
                    f"REFUSED: the service's transparency log was rewritten — its checkpoint of "
                    f"{new.size} events is not consistent with the checkpoint of {old_size} "
                    f"events this mirror accepted; nothing was applied, the mirror is unchanged "
                    f"at seq {cursor} — report it to the issuer and keep this mirror as evidence"
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


# --- pulling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    seq: int
    kind: str
    certificate: str | None
    reason: str

    def __str__(self) -> str:
        what = f" {self.certificate}" if self.certificate else ""
        return f"seq {self.seq} {self.kind}{what}: {self.reason}"


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
    #: The size of the transparency-log checkpoint the mirror holds (None: none seen).
    checkpoint: int | None = None
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.kinds.items())) or "nothing new"
        return [
            f"pulled {self.events} events in {self.pages} pages "
            f"(seq {self.first_cursor + 1}..{self.cursor}) in {self.seconds:.1f} s, "
            f"{self.rate:,.0f} events/s: {kinds}",
            f"applied {self.applied}, recorded {self.recorded}, rejected "
            f"{len(self.rejections)}, duplicates skipped {self.duplicates}; "
            f"retries {self.retries}, JWKS fetches {self.jwks_fetches}; "
            f"cursor {self.cursor} of {self.head}",
            *(
                [f"transparency log: checkpoint of {self.checkpoint} events verified consistent"]
                if self.checkpoint is not None
                else []
            ),
            *(
                [
                    f"{self.untrusted} certificate(s) in the mirror were signed after their key's "
                    "compromise cut-off: kept, marked untrusted"
                ]
                if self.untrusted
                else []
            ),
        ]


class _Applier:
    """Verifies and applies the events of one page inside one mirror transaction."""

    def __init__(self, keys: _Keys, summary: PullSummary, log: _Log | None = None) -> None:
        self._keys = keys
        self._summary = summary
        self._log = log
        self._session: Session | None = None
        #: Certificates issued in this page, inserted together when the page ends.
        self._pending: dict[str, dict[str, Any]] = {}
        #: Per page: exact compromise cut-offs by kid, and issued numbers already mirrored.
        self._cutoffs: dict[str, dt.datetime] = {}
        self._existing: set[str] = set()

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
                        f"the feed skipped from seq {cursor} to {seq}; the event log has no gaps, "
                        "so events were lost on the way — nothing of this page was applied"
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
        outcome, detail = "applied", ""
        try:
            if kind == "issued":
                self._issued(event)
            elif kind in ("revoked", "superseded"):
                self._status(event, kind)
            elif kind in ("key_created", "key_rotated"):
                self._key_added(event, rotated=kind == "key_rotated")
            elif kind == "key_compromised":
                self._key_compromised(event)
            else:
                outcome = "recorded"
        except _Rejected as exc:
            outcome, detail = "rejected", exc.reason
        except CertsvcError as exc:  # MalformedToken, InvalidSignature, UnknownKey, SigningKeyError
            outcome, detail = "rejected", exc.message
        except (KeyError, TypeError, ValueError) as exc:
            outcome, detail = "rejected", f"the event is malformed ({type(exc).__name__}: {exc})"
        self._summary.events += 1
        self._summary.kinds[kind] = self._summary.kinds.get(kind, 0) + 1
        if outcome == "rejected":
            self._summary.rejections.append(
                Rejection(
                    int(event["seq"]), kind, number if isinstance(number, str) else None, detail
                )
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
            "detail": detail,
        }

    # -- issued

    def _issued(self, event: Mapping[str, Any]) -> None:
        record = event.get("record")
        if not isinstance(record, str):
            raise _Rejected("the event has no signed record")
        credential, verified = verify_credential(record, self._keys.public_key)
        key = self._keys.entry(verified.kid)
        types = credential.get("type")
        if not isinstance(types, list) or CREDENTIAL_TYPE not in types:
            raise _Rejected(f"the signed record is not a {CREDENTIAL_TYPE}")
        number = _text(credential, "certificateNumber")
        body = _text(credential, "issuer", "bodyCode")
        if number != event.get("certificate"):
            raise _Rejected(f"the record is signed for {number}, the event names another")
        if key.body_code != body or event.get("body") != body:
            raise _Rejected(f"the record names body {body} but key {key.kid} is not that body's")
        try:
            numbered_by = str(issuing_body_of(number))
        except InvalidCertificateNumber as exc:
            raise _Rejected(f"the record's certificate number is not one: {exc.message}") from exc
        if numbered_by != body:
            raise _Rejected(
                f"certificate {number} is numbered for body {numbered_by}; "
                f"the key of body {body} cannot certify for it"
            )
        subject = _field(credential, "credentialSubject")
        holder = event.get("holder")
        if not isinstance(holder, Mapping):
            raise _Rejected("the event has no holder ID number")
        id_type = IdType(str(holder["id_type"]))
        id_number = str(holder["id_number"])
        salt = b64url_decode(str(holder["id_salt"]))
        if _text(subject, "idType") != id_type.value:
            raise _Rejected("the ID type delivered differs from the signed one")
        expected = id_commitment(id_type, id_number, salt)
        if not hmac.compare_digest(expected, _text(subject, "idNumberCommitment")):
            raise _Rejected("the ID number delivered does not match the signed commitment")
        if mask_id_number(id_number) != _text(subject, "idNumberMasked"):
            raise _Rejected("the ID number delivered does not match the signed masked form")
        if number in self._pending or number in self._existing:
            raise _Rejected(f"certificate {number} was issued before under another seq")
        signed_at = parse_rfc3339(event.get("occurred_at"), what="occurred_at")
        trusted = self._trusted(key.kid, key, signed_at)
        supersedes = credential.get("supersedes")
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
            raise _Rejected(
                "the status change is not signed (written before status statements existed); "
                "ask the issuer to confirm it"
            )
        claim = verify_status_statement(record, self._keys.public_key)
        key = self._keys.entry(claim.kid)
        if claim.status != kind or claim.number != event.get("certificate"):
            raise _Rejected("the signed statement is about another certificate or status")
        if key.body_code != claim.body_code:
            raise _Rejected(f"key {key.kid} is not a key of body {claim.body_code}")
        if kind == "superseded" and claim.superseded_by != event.get("superseded_by"):
            raise _Rejected("the signed successor differs from the event's")
        if not self._trusted(key.kid, key, claim.changed_at):
            raise _Rejected(f"the statement was signed after key {key.kid} was compromised")
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
            raise _Rejected(f"certificate {claim.number} is not in the mirror (was it rejected?)")
        if current_body != claim.body_code:
            raise _Rejected(f"certificate {claim.number} was issued by {current_body}")
        if pending is not None:
            pending.update(values)
        else:
            self._db.execute(
                update(MirrorCertificate)
                .where(MirrorCertificate.number == claim.number)
                .values(**values)
            )

    # -- keys

    def _announced_key(self, event: Mapping[str, Any], *, compromised: bool) -> PublishedKey:
        key = event.get("key")
        if not isinstance(key, Mapping) or not isinstance(key.get("kid"), str):
            raise _Rejected("the key event carries no key")
        kid = str(key["kid"])
        if jwk_thumbprint({"kty": key["kty"], "crv": key["crv"], "x": key["x"]}) != kid:
            raise _Rejected(f"the announced key's kid {kid} is not its thumbprint")
        try:
            published = self._keys.entry(kid, need_compromise=compromised)
        except UnknownKey as exc:
            raise _Rejected(f"key {kid} is announced but not in the service's JWKS") from exc
        if published.jwk["x"] != key["x"] or published.body_code != key.get("body"):
            raise _Rejected(f"key {kid} in the feed differs from the JWKS")
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
            raise _Rejected(f"the JWKS does not confirm that key {published.kid} is compromised")
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


def pull(
    client: FeedClient,
    mirror: Mirror,
    *,
    limit: int = 1_000,
    progress: Callable[[int, int], None] | None = None,
) -> PullSummary:
    """Pull every event after the mirror's cursor; returns what was done.

    ``progress(done, total)`` is called after each page with events applied so far and the
    number there were to apply when the pull started (the total grows if the head moves).
    Raises RegistryUnavailable when the service stays unreachable, FeedIntegrityError on a
    gap in the sequence, HistoryRewritten when the transparency log is not consistent with
    the checkpoint accepted before, Unauthenticated / PermissionDenied for a bad token.
    """
    started = time.perf_counter()
    state = mirror.state()
    if state.source and state.source != client.base_url:
        raise InvalidInput(
            f"this mirror follows {state.source}, not {client.base_url}; use another --db"
        )
    if not state.source:
        with mirror.transaction() as session:
            session.execute(
                update(MirrorState).where(MirrorState.id == 1).values(source=client.base_url)
            )
    summary = PullSummary(first_cursor=state.cursor, cursor=state.cursor)
    keys = _Keys(client, mirror)
    log = _Log(client, mirror)
    applier = _Applier(keys, summary, log)
    cursor = state.cursor
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-fetch")
    try:
        pending: Future[dict[str, Any]] = pool.submit(client.page, cursor, limit)
        while True:
            page = pending.result()
            summary.pages += 1
            summary.head = max(summary.head, int(page.get("head", 0)))
            log.check(page.get("checkpoint"), cursor)  # before anything of the page is applied
            events = page["events"]
            if not events:
                if log.unsaved:
                    with mirror.transaction() as session:
                        log.save(session)
                break
            following = int(page["next"])
            if following < int(events[-1]["seq"]):
                raise FeedIntegrityError("the feed's next cursor is behind its last event")
            # Fetch the next page while this one is verified and applied.
            pending = pool.submit(client.page, following, limit)
            cursor = applier.apply_page(mirror, page)
            summary.cursor = cursor
            if progress is not None:
                progress(cursor - summary.first_cursor, summary.head - summary.first_cursor)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    summary.untrusted = mirror.untrusted()
    summary.retries = client.retries
    summary.jwks_fetches = keys.fetches
    summary.checkpoint = log.size if log.note is not None else None
    summary.seconds = time.perf_counter() - started
    return summary
