"""WSGI entry point: ``gunicorn wsgi:app``. Settings come from CERTSVC_* variables."""

from certsvc import create_app
from certsvc.config import Settings
from certsvc.logs import configure_logging

settings = Settings.from_env()
configure_logging(settings.log_level)  # JSON lines on stderr, one per request
app = create_app(settings)
