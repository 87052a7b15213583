"""gunicorn settings for certsvc's app servers: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Every value can be changed from the environment without editing this file.
"""

import os

from prometheus_client import multiprocess

# Behind nginx on the same host; give a public address only without a proxy.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests are short (a verification is one SELECT); long work runs as jobs on workers.
workers = int(os.environ.get("GUNICORN_WORKERS", str((os.cpu_count() or 1) * 2 + 1)))
worker_class = "sync"
# A request that takes longer is a bug (batches and exports are jobs): end it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 10_000
max_requests_jitter = 1_000
# certsvc writes its own JSON line per request (without paths, which may hold tokens);
# gunicorn's access log would repeat the path.
accesslog = None
errorlog = "-"
# Each worker loads the app itself, so no database pool is shared across a fork.
preload_app = False


def child_exit(server, worker):  # noqa: ANN001, ANN201 — gunicorn's hook signature
    """Drop a dead worker's metric files (PROMETHEUS_MULTIPROC_DIR) so /metrics adds up."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
