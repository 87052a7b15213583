"""``certsvc worker``: Huey's consumer runs the queued jobs; a sweeper thread beside it
hands out again the jobs of workers that died (:func:`certsvc.jobs.service.sweep`).

Signals: SIGTERM (``systemctl stop``) lets running jobs finish first; SIGINT (Ctrl-C) stops
at once — an unfinished job's lease runs out and another worker (or this one, restarted)
runs it again from the start.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from certsvc.jobs.service import sweep

if TYPE_CHECKING:
    from certsvc.runtime import Runtime

__all__ = ["run_worker"]

log = logging.getLogger(__name__)


def run_worker(runtime: Runtime, threads: int = 2) -> None:
    """Run jobs until stopped by a signal; ``threads`` jobs at a time."""
    queue = runtime.job_queue
    stop = threading.Event()
    # A dead worker's job is found within a third of a lease after the lease ran out.
    interval = max(1.0, runtime.settings.job_lease_seconds / 3)

    def sweeper() -> None:
        while True:
            try:
                sweep(runtime)
            except Exception:  # the database may be restarting: log it and try again
                log.exception("sweeping the jobs failed; trying again in %.0f s", interval)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=sweeper, name="certsvc-sweeper", daemon=True)
    thread.start()
    consumer = queue.huey.create_consumer(
        workers=threads,
        worker_type="thread",
        periodic=False,
        initial_delay=0.1,
        max_delay=1.0,
        graceful_signal="TERM",
    )
    log.info("worker started: %d thread(s), queue %s", threads, runtime.settings.job_queue_name)
    try:
        consumer.run()
    finally:
        stop.set()
