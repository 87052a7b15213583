"""The long-lived objects one running certsvc needs, built once from :class:`Settings`.

The Flask app keeps one in ``app.extensions["certsvc"]``; the CLI and the benchmarks build
their own. Nothing here touches the network or the disk until used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import certsvc.models.events  # noqa: F401 — numbers new events in commit order
from certsvc.bodies.keyring import Keyring
from certsvc.config import Settings
from certsvc.db import Database
from certsvc.domain.levels import Level
from certsvc.holders.identity import IdVault
from certsvc.signing.keys import KeyFiles


@dataclass
class Runtime:
    """What one running certsvc holds: settings, database, ID vault, keyring.

    Named apart from the service modules (``issuance.service``, ``accounts.accounts`` …),
    which hold the rules and receive a Runtime to act with.
    """

    settings: Settings
    db: Database

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(settings=settings, db=Database(settings.database_url, echo=settings.sql_echo))

    @cached_property
    def vault(self) -> IdVault:
        return IdVault(self.settings.id_hash_key, self.settings.id_encryption_key)

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring(KeyFiles(self.settings.key_dir), self.settings.key_passphrase)

    @cached_property
    def special_letters(self) -> Mapping[Level, str]:
        """Letters for 特级技师 / 首席技师 numbers, from CERTSVC_SPECIAL_LEVEL_LETTERS."""
        return {Level.from_code(k): v for k, v in self.settings.special_level_letters.items()}
