"""The language of each request, for Flask-Babel, Jinja and :mod:`certsvc.i18n`.

Who reads decides:

* the console (``/console/…``): ``?lang=`` for that one page, else the logged-in account's
  language (``accounts.language``, set by the console's language switch or
  ``certsvc accounts language``), else the switch's choice kept in the session before
  log-in, else Chinese;
* the JSON APIs (``/api/…``): ``Accept-Language``, else English — an API client is a
  program first; the error ``code`` is the same in every language, only ``message`` follows;
* every other page (``/``, ``/v/<token>``, the look-ups): ``lang`` in the query or form (the
  page's language link), else ``Accept-Language``, else Chinese.

:func:`init_app` installs Flask-Babel with this selector and the gettext catalogue of
:mod:`certsvc.i18n`, makes that language current for the request (so an error rendered
anywhere during it — a row error in the import preview, an API error — speaks it) and gives
templates ``_``, ``gettext`` and ``ngettext`` with ``str.format`` ``{name}`` placeholders,
the one placeholder style of the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, g, request, session
from flask_babel import Babel  # type: ignore[import-untyped]

from certsvc.i18n import (
    DEFAULT_LANGUAGE,
    DIRECTORY,
    DOMAIN,
    LANGUAGES,
    bilingual,
    gettext,
    ngettext,
    reset_language,
    set_language,
    supported,
)

#: The language an API answers in when Accept-Language names none of ours.
API_DEFAULT_LANGUAGE = "en"
#: The session key of the console's language before log-in (the switch sets it).
SESSION_KEY = "lang"
_API = "/api/"
_CONSOLE = "/console"


def preferred_language(
    accepted: Iterable[tuple[str, float]], default: str = DEFAULT_LANGUAGE
) -> str:
    """The first language of ``Accept-Language`` we speak, read by primary subtag.

    *accepted* is (language tag, quality) in order of preference, as werkzeug's
    ``request.accept_languages`` iterates. ``zh-CN``, ``zh-Hans``, ``zh-TW`` are all ``zh``;
    none of ours, or only ``*``: *default*. (werkzeug's ``best_match`` prefers an exact tag at
    any quality, so iOS Safari's ``zh-CN,zh-Hans;q=0.9,en;q=0.8`` got the English page.)
    """
    for tag, quality in accepted:
        primary = tag.replace("_", "-").split("-", 1)[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return default


def page_language() -> str:
    """A public page's language: ``lang`` from the query or form, else Accept-Language,
    else Chinese."""
    asked = request.values.get("lang", "")
    if asked in LANGUAGES:
        return asked
    return preferred_language(request.accept_languages)


def console_language() -> str:
    """The console's language: ``?lang=`` for this page, the account's, the session's, zh."""
    from certsvc.web.authz import current_principal  # the console's session, loaded lazily

    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    who = current_principal()
    if who is not None:
        return who.language
    return supported(session.get(SESSION_KEY)) or DEFAULT_LANGUAGE


def request_language() -> str:
    """The language of this request (see the module docstring); chosen once per request."""
    if "language" not in g:
        if request.path.startswith(_API):
            g.language = preferred_language(request.accept_languages, API_DEFAULT_LANGUAGE)
        elif request.path == _CONSOLE or request.path.startswith(_CONSOLE + "/"):
            g.language = console_language()
        else:
            g.language = page_language()
    language: str = g.language
    return language


def init_app(app: Flask) -> None:
    """Flask-Babel with :func:`request_language`, and the language current per request."""
    Babel(
        app,
        locale_selector=request_language,
        default_locale=DEFAULT_LANGUAGE,
        default_domain=DOMAIN,
        default_translation_directories=str(DIRECTORY),
    )
    # Flask-Babel's i18n extension would give templates its own gettext (%-placeholders);
    # ours render {name} fields, as the Python code does.
    # bilingual: a name the data carries in both languages (a level, a body's name).
    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, bilingual=bilingual)

    @app.before_request
    def _enter() -> None:
        g.language_token = set_language(request_language())

    @app.after_request
    def _vary(response: Response) -> Response:
        # An API answer's message is in the language asked for: a cache must keep them apart.
        if request.path.startswith(_API):
            response.vary.add("Accept-Language")
        return response

    @app.teardown_request
    def _leave(_exc: BaseException | None) -> None:
        token = g.pop("language_token", None)
        if token is not None:
            reset_language(token)
