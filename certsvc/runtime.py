"""The long-lived objects one running certsvc needs, built once from :class:`Settings`.

The Flask app keeps one in ``app.extensions["certsvc"]``; the CLI and the benchmarks build
their own. Nothing here touches the network or the disk until used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import certsvc.models.events  # noqa: F401 — numbers new events in commit order
from certsvc.bodies.keyring import Keyring
from certsvc.caches import Caches
from certsvc.config import Settings
from certsvc.db import Database
from certsvc.domain.levels import Level
from certsvc.holders.identity import IdVault
from certsvc.signing.keys import KeyFiles

if TYPE_CHECKING:
    from certsvc.jobs.queue import JobQueue


@dataclass
class Runtime:
    """What one running certsvc holds: settings, database, ID vault, keyring.

    Named apart from the service modules (``issuance.service``, ``accounts.accounts`` …),
    which hold the rules and receive a Runtime to act with.
    """

    settings: Settings
    db: Database

    def __post_init__(self) -> None:
        # Events written one by one (keys, bodies, scope, members, revocations) are logged
        # as soon as they commit, not at the next batch (certsvc.events).
        self.db.publish_events = self.publish_log

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(settings=settings, db=Database(settings.database_url, echo=settings.sql_echo))

    @cached_property
    def read_db(self) -> Database:
        """Where look-ups read: the replica of CERTSVC_DATABASE_READ_URL, else the primary
        (see :mod:`certsvc.verify.replica` for how a replica's lag is made harmless)."""
        url = self.settings.database_read_url
        return Database(url, echo=self.settings.sql_echo) if url else self.db

    @cached_property
    def caches(self) -> Caches:
        """What this service reuses between requests (keys, checkpoints, proofs, templates)."""
        return Caches()

    @cached_property
    def vault(self) -> IdVault:
        return IdVault(self.settings.id_hash_key, self.settings.id_encryption_key)

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring(KeyFiles(self.settings.key_dir), self.settings.key_passphrase)

    def publish_log(self) -> None:
        """Checkpoint the transparency log over every committed event (never raises)."""
        from certsvc.transparency.checkpoints import publish  # it imports this module

        publish(self)

    @cached_property
    def special_letters(self) -> Mapping[Level, str]:
        """Letters for 特级技师 / 首席技师 numbers, from CERTSVC_SPECIAL_LEVEL_LETTERS."""
        return {Level.from_code(k): v for k, v in self.settings.special_level_letters.items()}

    @cached_property
    def job_queue(self) -> JobQueue:
        """The job queue (Huey on SQLite or Redis, from CERTSVC_JOB_QUEUE_URL)."""
        from certsvc.jobs.queue import JobQueue
        from certsvc.jobs.runner import run_job

        return JobQueue(self, run_job)
