"""Logs as JSON lines: one object per line on stderr, with the request id when there is one.

A line never carries an ID number or a photo: requests are logged by their route pattern
(``/v/<path:token>``), never by path, query or body, and every line passes through
:func:`~certsvc.domain.ids.redact_id_numbers` as a last guard against a message that quotes
one. :func:`configure_logging` installs the handler once per process; the entry points
(``wsgi.py``, ``certsvc serve``, ``certsvc worker``) call it.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from typing import Any

from certsvc.domain.ids import redact_id_numbers

__all__ = ["JsonFormatter", "configure_logging", "request_id"]

#: The id of the request being served in this context ("" outside requests).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("certsvc_request_id", default="")

#: Attributes every LogRecord has; anything else was passed in ``extra=`` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", …extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = redact_id_numbers(json.dumps(entry, ensure_ascii=False, default=str))
        rid = request_id.get()
        if not rid:
            return line
        # The id is ours (or checked to hold no ID number): kept whole, never redacted.
        return line[:-1] + ", " + json.dumps({"request_id": rid})[1:]


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when the line is written."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for ``certsvc`` and the libraries it runs (once per process)."""
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    logging.getLogger("certsvc").setLevel(level)
    # werkzeug's own access line would repeat ours, with the full path (and its query).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
