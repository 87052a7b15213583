"""What every ``certsvc`` command is handed: the running service's objects, built lazily."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from certsvc.config import Settings
from certsvc.runtime import Services


class Context:
    """Builds :class:`Services` on first use, so ``certsvc secrets`` needs no configuration."""

    def __init__(self) -> None:
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = Services.from_settings(Settings.from_env())
        return self._services

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.services.db.transaction() as session:
            yield session


pass_ctx = click.make_pass_decorator(Context, ensure=True)
