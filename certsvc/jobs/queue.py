"""The job queue: Huey, with SQLite storage on one machine and Redis on several.

Why Huey: one small, long-kept library (since 2011) with both back-ends behind the same
API — ``SqliteHuey`` needs no server, so ``make run`` works out of the box, and ``RedisHuey``
is what a cluster of app servers and workers share. RQ needs Redis even on a laptop.
Huey does not promise that a message outlives a worker killed with it in hand; certsvc
does not ask it to: the job's state is in the database and the sweeper
(:func:`certsvc.jobs.service.sweep`) queues a job again when its worker's lease runs out.

The queue carries one kind of message, ``certsvc.jobs.run(job_id)``. The web app only puts
messages on it; ``certsvc worker`` (:mod:`certsvc.jobs.worker`) runs them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huey import RedisHuey, SqliteHuey

if TYPE_CHECKING:
    from certsvc.config import Settings
    from certsvc.runtime import Runtime

__all__ = ["TASK_NAME", "JobQueue", "worker_name"]

TASK_NAME = "certsvc.jobs.run"


def worker_name() -> str:
    """Who runs a job, as stored in ``jobs.worker``: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def make_huey(settings: Settings) -> Any:
    """The Huey instance for CERTSVC_JOB_QUEUE_URL (SQLite file or Redis)."""
    url = settings.job_queue_url
    name = settings.job_queue_name
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name=name, filename=str(path), results=False, utc=True)
    return RedisHuey(name=name, url=url, results=False, utc=True)


class JobQueue:
    """Puts job ids on the queue and, in a worker, runs them with :func:`run_job`."""

    def __init__(self, runtime: Runtime, runner: Callable[[Runtime, str], None]) -> None:
        self.huey = make_huey(runtime.settings)
        self._runtime = runtime
        self._runner = runner
        self._task = self.huey.task(name=TASK_NAME)(self._run)

    def _run(self, job_id: str) -> None:
        self._runner(self._runtime, job_id)

    def enqueue(self, job_id: str) -> None:
        """Say "job ``job_id`` may be run now" to whichever worker is free."""
        self._task(job_id)

    def pending(self) -> int:
        """Messages waiting on the queue (a readiness and metrics figure)."""
        return int(self.huey.pending_count())

    def ping(self) -> None:
        """Raise if the queue's storage does not answer."""
        self.huey.pending_count()
