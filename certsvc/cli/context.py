"""What every ``certsvc`` command is handed: the running service's objects, built lazily."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from typing import Any, cast

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.accounts import audit
from certsvc.config import Settings
from certsvc.i18n import Message
from certsvc.models import Certificate, CertificationBody
from certsvc.runtime import Runtime


def lazy(msgid: str) -> str:
    """A prompt click keeps from import time but formats (an f-string) only when it asks: a
    :class:`~certsvc.i18n.Message`, so it is shown in the language the CLI root set by then.
    """
    return cast(str, Message(msgid))


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

    @cached_property
    def actor(self) -> audit.Actor:
        """Who runs this command, as the audit log and the event log name them."""
        return audit.command_line_actor()

    def audited(
        self,
        action: str,
        *,
        body: str | None = None,
        certificate: str | None = None,
        target: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[audit.AuditedAction]:
        """:func:`certsvc.accounts.audit.audited` for this command. The entry goes to the log of the
        body with code ``body``, or of the body that issued ``certificate`` (a number), when
        there is one; else to the platform's."""
        query = None
        if body:
            query = select(CertificationBody.id).where(
                CertificationBody.code == body.strip().upper()
            )
        elif certificate:
            query = select(Certificate.body_id).where(Certificate.number == certificate)
        body_id = None
        if query is not None:
            with self.runtime.db.session() as session:
                body_id = session.scalar(query)
        return audit.audited(
            self.runtime.db, self.actor, action, body_id=body_id, target=target, detail=detail
        )


pass_ctx = click.make_pass_decorator(Context, ensure=True)
