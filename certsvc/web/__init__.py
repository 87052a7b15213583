"""Blueprints: thin handlers that parse the request, call a service and render the result."""

from __future__ import annotations

from flask import Flask

from certsvc.runtime import Services

#: The key of the app's :class:`~certsvc.runtime.Services` in ``app.extensions``.
EXTENSION = "certsvc"


def services_of(app: Flask) -> Services:
    """The long-lived objects :func:`certsvc.create_app` attached to ``app``."""
    services = app.extensions[EXTENSION]
    assert isinstance(services, Services)
    return services
