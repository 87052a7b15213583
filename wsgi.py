"""WSGI entry point: ``gunicorn wsgi:app``. Settings come from CERTSVC_* variables."""

from certsvc import create_app

app = create_app()
