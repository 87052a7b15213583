"""Blueprints: thin handlers that parse the request, call a service and render the result."""

from __future__ import annotations

from flask import Flask

from certsvc.runtime import Runtime

#: The key of the app's :class:`~certsvc.runtime.Runtime` in ``app.extensions``.
EXTENSION = "certsvc"


def runtime_of(app: Flask) -> Runtime:
    """The long-lived objects :func:`certsvc.create_app` attached to ``app``."""
    runtime = app.extensions[EXTENSION]
    assert isinstance(runtime, Runtime)
    return runtime
