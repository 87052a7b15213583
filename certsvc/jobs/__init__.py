"""Background jobs: batch ZIPs and print PDFs, large imports, statistics exports.

- :mod:`certsvc.models.jobs` — the ``jobs`` table (state, progress, lease, result) and
  ``job_chunks`` (inputs and results, in pieces);
- :mod:`certsvc.jobs.service` — submit, look at, run steps of, sweep and download jobs; every
  read checks the job's body;
- :mod:`certsvc.jobs.queue` — the job library (Huey): SQLite on one machine, Redis on many;
- :mod:`certsvc.jobs.runner` — what each kind of job does, step by step;
- :mod:`certsvc.jobs.worker` — the ``certsvc worker`` process: Huey's consumer and the sweeper;
- :mod:`certsvc.cli.jobs` — ``certsvc jobs list|show|wait|zip|print`` and ``certsvc worker``.

Nothing here is imported by :mod:`certsvc` at start-up; the tables are in :mod:`certsvc.models`.
"""
