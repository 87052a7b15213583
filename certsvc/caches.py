"""What one running service reuses between requests, kept on its ``Runtime``.

Nothing here is module state: each :class:`Caches` belongs to one ``Runtime`` (one app, one
database), so two apps in one process — tests, the benchmark, a CLI beside a server — never
see each other's entries, and dropping the runtime drops the caches. Every entry is derived
from data that cannot change under the same key (see each field), so none needs invalidating.

Example::

    >>> cache = Lru[str, int](2)
    >>> cache.put("a", 1); cache.put("b", 2); cache.put("c", 3)
    >>> cache.get("a") is None, cache.get("c")
    (True, 3)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from certsvc.issuance.credential import CredentialTemplate
    from certsvc.transparency.log import OpenedCheckpoint

__all__ = ["Caches", "Lru"]

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small thread-safe least-recently-used map (gunicorn's gthread workers share one)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value under ``key`` (now the most recently used), or None when absent."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@dataclass(frozen=True)
class Caches:
    """The caches of one service; ``Runtime.caches`` makes one on first use."""

    #: Public keys by kid. A kid is the RFC 7638 thumbprint of its key, so an entry can never
    #: go stale; whether the key belongs to this service, and its status, is read per request.
    public_keys: Lru[str, Ed25519PublicKey] = field(default_factory=lambda: Lru(4096))
    #: Checkpoints by (tree size, note), their signatures checked once: every verification of
    #: a certificate opens the latest checkpoint, which changes only once per batch. Keyed by
    #: the note as stored, so a note changed in the database is opened (and fails) afresh.
    checkpoints: Lru[tuple[int, str], OpenedCheckpoint] = field(default_factory=lambda: Lru(64))
    #: Inclusion proofs by (root hash, tree size, seq). A root hash names one tree, and the
    #: audit path of a leaf in it never changes, so a proof read once is reused until a newer
    #: checkpoint becomes the latest. The leaf itself is recomputed from today's records on
    #: every verification.
    proofs: Lru[tuple[bytes, int, int], tuple[bytes, ...]] = field(
        default_factory=lambda: Lru(16_384)
    )
    #: Serialised vc+jwt credentials cut where the values go, by the set of value names (a
    #: handful of shapes: with or without employer, direct ground, ...).
    credential_templates: Lru[frozenset[str], CredentialTemplate] = field(
        default_factory=lambda: Lru(64)
    )
