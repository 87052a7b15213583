"""The one place jobs call the batch renderer (:mod:`certsvc.render.batch`).

Kept apart so that a change of the renderer's interface touches this module only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from certsvc.models import Batch

if TYPE_CHECKING:
    from certsvc.runtime import Runtime

__all__ = ["batch_size", "render_batch_print", "render_batch_zip"]


def batch_size(runtime: Runtime, batch_id: str) -> int:
    """How many certificates the batch holds (the job's progress total)."""
    with runtime.db.session() as session:
        batch = session.get(Batch, batch_id)
        return batch.row_count if batch is not None else 0


def render_batch_zip(
    runtime: Runtime, batch_id: str, progress: Callable[[int], None]
) -> Iterator[bytes]:
    """The batch's ZIP of PDFs, streamed; ``progress(n)`` after the n-th certificate."""
    from certsvc.render.batch import batch_zip

    with runtime.db.snapshot() as session:
        yield from batch_zip(
            session, batch_id, runtime.settings.public_url, runtime.vault, progress=progress
        )


def render_batch_print(runtime: Runtime, batch_id: str, progress: Callable[[int], None]) -> bytes:
    """The batch as one print PDF; ``progress(n)`` after the n-th certificate."""
    from certsvc.render.batch import batch_merged

    with runtime.db.snapshot() as session:
        return batch_merged(
            session, batch_id, runtime.settings.public_url, runtime.vault, progress=progress
        )
