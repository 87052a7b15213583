"""The append-only event log, numbered in commit order.

Every event gets its ``seq`` from one counter row (``event_log_head``) updated inside the
writing transaction. The ``UPDATE … RETURNING`` locks that row until commit, so a
transaction that takes seqs 101–200 commits before any other can take 201: sequence numbers
become visible in order and without holes. A reader that has seen everything up to seq N can
therefore ask for ``seq > N`` and never miss an event that commits later — the property the
registry feed and the transparency log rely on. (An auto-increment column cannot promise
this: a transaction holding seq 101 may commit after one holding seq 102.)

Lock order: issuance takes its number counters first and the log head last, just before
commit; everything else takes only the head. No cycle, so no deadlock.

Events added with ``session.add(Event(...))`` are numbered automatically at flush;
bulk inserts call :func:`reserve` themselves. A transaction that added events this way (a key
created, rotated or compromised; a body, its scope or members changed; a revocation) has the
transparency log checkpointed as soon as it commits (:attr:`certsvc.db.Database.publish_events`),
not at the next batch; a batch, which bulk-inserts its events, checkpoints itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session, UOWTransaction

from certsvc.db import PUBLISH_EVENTS, after_commit
from certsvc.errors import ConfigError
from certsvc.i18n import N_
from certsvc.models import Event, EventLogHead


def reserve(session: Session, count: int) -> int:
    """Reserve ``count`` consecutive seqs; returns the first. Locks the head until commit."""
    last = session.execute(
        update(EventLogHead)
        .where(EventLogHead.id == 1)
        .values(last_seq=EventLogHead.last_seq + count)
        .returning(EventLogHead.last_seq)
    ).scalar_one_or_none()
    if last is None:
        raise ConfigError(
            N_("the event log has no head row: the schema is incomplete, run `certsvc init`")
        )
    return int(last) - count + 1


@event.listens_for(Session, "before_flush")
def _number_new_events(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, Event) and obj.seq is None]
    if not new:
        return
    first = reserve(session, len(new))
    for offset, obj in enumerate(new):  # session.new keeps the order of session.add
        obj.seq = first + offset
    publish = session.info.get(PUBLISH_EVENTS)
    if publish is not None:
        after_commit(session, publish)
