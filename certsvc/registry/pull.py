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
* the holder photo a record names (``relatedResource``, :mod:`certsvc.issuance.credential`)
  is fetched by its digest from ``/api/v1/registry/photos/<sha256>`` after each page and kept
  only if its bytes have the signed digest; one that differs is reported as a rejection;
* anything that fails is **rejected**: recorded with its reason in ``mirror_events``,
  reported, and not applied;
* after the last page, the revocation status lists (W3C Bitstring Status List) that the
  records of this pull name are fetched, verified with the same keys, and compared with the
  mirror (:class:`~certsvc.registry.trust.StatusListCheck`): a list that hides a signed
  revocation fails the pull with :class:`~certsvc.errors.StatusListConflict`;
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

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select, update

from certsvc.errors import CertsvcError, FeedIntegrityError, InvalidInput
from certsvc.i18n import N_, Message
from certsvc.registry.apply import Applier, PullSummary, Rejection
from certsvc.registry.mirror import Mirror, MirrorPhoto, MirrorState
from certsvc.registry.transport import FeedClient
from certsvc.registry.trust import CheckpointLog, KeyCache, StatusListCheck

__all__ = ["pull"]


def _fetch_photos(
    client: FeedClient, mirror: Mirror, applier: Applier, summary: PullSummary
) -> None:
    """Fetch the photos the page's records name; keep each whose bytes have the signed
    digest, reject (and report) each that has not or cannot be fetched."""
    wanted, applier.photos = applier.photos, []
    with mirror.transaction() as session:
        have = set(session.scalars(select(MirrorPhoto.sha256)))
        for seq, number, digest in wanted:
            if digest in have:
                continue
            try:
                jpeg = client.photo(digest)
            except CertsvcError as exc:
                summary.rejections.append(Rejection(seq, "photo", number, exc.text))
                continue
            served = hashlib.sha256(jpeg).hexdigest()
            if served != digest:
                reason = Message(
                    N_("the photo served has digest {served}, the signed record {digest}"),
                    served=served,
                    digest=digest,
                )
                summary.rejections.append(Rejection(seq, "photo", number, reason))
                continue
            session.add(MirrorPhoto(sha256=digest, jpeg=jpeg, fetched_at=dt.datetime.now(dt.UTC)))
            have.add(digest)
            summary.photos += 1


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
            N_("this mirror follows {source}, not {base_url}; use another --db"),
            source=state.source,
            base_url=client.base_url,
        )
    if not state.source:
        with mirror.transaction() as session:
            session.execute(
                update(MirrorState).where(MirrorState.id == 1).values(source=client.base_url)
            )
    summary = PullSummary(first_cursor=state.cursor, cursor=state.cursor)
    keys = KeyCache(client, mirror)
    log = CheckpointLog(client, mirror)
    applier = Applier(keys, summary, log)
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
                raise FeedIntegrityError(N_("the feed's next cursor is behind its last event"))
            # Fetch the next page while this one is verified and applied.
            pending = pool.submit(client.page, following, limit)
            cursor = applier.apply_page(mirror, page)
            _fetch_photos(client, mirror, applier, summary)
            summary.cursor = cursor
            if progress is not None:
                progress(cursor - summary.first_cursor, summary.head - summary.first_cursor)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    status = StatusListCheck(client, keys)
    status.check(mirror, applier.entries, applier.status_changed)
    summary.status_lists, summary.status_checked = status.lists, status.checked
    summary.status_conflicts, summary.status_pending = status.conflicts, status.pending
    summary.untrusted = mirror.untrusted()
    summary.retries = client.retries
    summary.jwks_fetches = keys.fetches
    summary.checkpoint = log.size if log.note is not None else None
    summary.seconds = time.perf_counter() - started
    return summary
