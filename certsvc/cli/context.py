"""What every ``certsvc`` command is handed: the running service's objects, built lazily."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from certsvc.config import Settings
from certsvc.runtime import Runtime


class Context:
    """Builds :class:`Runtime` on first use, so ``certsvc secrets`` needs no configuration."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime.from_settings(Settings.from_env())
        return self._runtime

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.runtime.db.transaction() as session:
            yield session


pass_ctx = click.make_pass_decorator(Context, ensure=True)
