"""Text a person reads, in 简体中文 and English, from one gettext catalogue.

The code writes English message ids; the Chinese lives in
``certsvc/translations/zh/LC_MESSAGES/messages.po`` (compiled to ``messages.mo``), extracted
with ``pybabel`` (``scripts/i18n update``) and checked in CI (``scripts/i18n check``: every
message id has a Chinese text, none is fuzzy, and the catalogue matches the code).

Three ways to write a message:

* ``N_("…")`` marks a literal for extraction without translating it — for messages stored
  as data and rendered later (error messages, labels in tables);
* ``gettext("… {name} …", name=…)`` / ``ngettext(singular, plural, n, …)`` translate now,
  into :func:`current_language`;
* :class:`Message` keeps a message id with its parameters and renders it when shown, in the
  language of whoever reads it (an error raised in a job is shown in the console's language).

Parameters are ``str.format`` fields. A parameter that is itself a :class:`Message` is
rendered in the same language as the text around it.

The language is a context variable: the web layer sets it per request (the account's choice
or ``Accept-Language``), the CLI from ``CERTSVC_LANGUAGE`` or the locale. Code that runs
outside both speaks English, the language of logs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel.support import NullTranslations, Translations

#: Languages with a catalogue; English is the message ids themselves.
LANGUAGES: Final = ("zh", "en")
#: What a person sees when nothing says otherwise (pages, the console).
DEFAULT_LANGUAGE: Final = "zh"
DIRECTORY: Final = Path(__file__).parent / "translations"
DOMAIN: Final = "messages"

_language: ContextVar[str] = ContextVar("certsvc_language", default="en")


def N_(message: str) -> str:
    """Mark *message* for extraction; it is translated where it is shown."""
    return message


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of *language* (English: the ids themselves)."""
    if language == "en":
        return NullTranslations()
    found = Translations.load(str(DIRECTORY), [language], DOMAIN)
    if not isinstance(found, Translations):
        raise RuntimeError(
            f"the {language} catalogue is missing from {DIRECTORY}: run `scripts/i18n compile`"
        )
    return found


def supported(language: str | None) -> str | None:
    """*language* reduced to one of :data:`LANGUAGES` (``zh-CN`` → ``zh``), or None."""
    if not language:
        return None
    base = language.replace("_", "-").split("-")[0].split(".")[0].lower()
    return base if base in LANGUAGES else None


def current_language() -> str:
    return _language.get()


def set_language(language: str) -> Token[str]:
    """Make *language* current until :func:`reset_language` with the returned token."""
    return _language.set(supported(language) or DEFAULT_LANGUAGE)


def reset_language(token: Token[str]) -> None:
    _language.reset(token)


@contextlib.contextmanager
def use_language(language: str) -> Iterator[None]:
    token = set_language(language)
    try:
        yield
    finally:
        reset_language(token)


def language_from_env(env: Mapping[str, str] | None = None) -> str:
    """The CLI's language: ``CERTSVC_LANGUAGE``, else the locale (``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``); Chinese for a ``zh_*`` locale, English otherwise."""
    env = os.environ if env is None else env
    for name in ("CERTSVC_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return supported(value) or "en"
    return "en"


def bilingual(zh: str, en: str | None) -> str:
    """A text the data itself carries in both languages — a level as printed, an ID type, a
    body's name — in the current language (English falls back to the Chinese when the data
    has none). Not for messages of the code: those are gettext ids."""
    return (en or zh) if current_language() == "en" else zh


def _params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Message) else v for k, v in params.items()}


def gettext(message: str, /, **params: Any) -> str:
    """*message* in the current language, with *params* filled in."""
    text = translations(current_language()).gettext(message)
    return text.format(**_params(params)) if params else text


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The singular or plural form for *n* (available as ``{n}``) in the current language."""
    text = translations(current_language()).ngettext(singular, plural, n)
    return text.format(**_params({"n": n, **params}))


class Message:
    """A message id and its parameters, rendered when shown (``str()``) in the language
    current then."""

    __slots__ = ("msgid", "n", "params", "plural")

    def __init__(
        self, msgid: str, /, *, plural: str | None = None, n: int | None = None, **params: Any
    ) -> None:
        self.msgid = msgid
        self.plural = plural
        self.n = n
        self.params = params

    def __str__(self) -> str:
        if self.plural is not None:
            return ngettext(self.msgid, self.plural, self.n or 0, **self.params)
        return gettext(self.msgid, **self.params)

    def in_language(self, language: str) -> str:
        with use_language(language):
            return str(self)

    @property
    def english(self) -> str:
        return self.in_language("en")

    def to_record(self) -> dict[str, Any]:
        """A JSON-able form that :meth:`from_record` turns back into this message."""
        record: dict[str, Any] = {"msgid": self.msgid, "params": _record_params(self.params)}
        if self.plural is not None:
            record.update(plural=self.plural, n=self.n)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Message:
        params = {
            k: cls.from_record(v) if isinstance(v, dict) else v
            for k, v in record.get("params", {}).items()
        }
        return cls(record["msgid"], plural=record.get("plural"), n=record.get("n"), **params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.to_record() == other.to_record()

    def __hash__(self) -> int:
        return hash((self.msgid, self.plural, self.n))

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, {self.params!r})"


def _record_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v.to_record() if isinstance(v, Message) else v if isinstance(v, int) else str(v)
        for k, v in params.items()
    }


def plural(singular: str, plural_: str, n: int, /, **params: Any) -> Message:
    """A lazy :func:`ngettext`."""
    return Message(singular, plural=plural_, n=n, **params)


def joined(messages: Iterable[str | Message]) -> Message:
    """*messages* as one lazy message, separated by semicolons (``；`` in Chinese).

    A plain string among them is a message id without parameters.
    """
    parts = [m if isinstance(m, Message) else Message(m) for m in messages]
    if not parts:
        raise ValueError("joined() needs at least one message")
    text = parts[0]
    for part in parts[1:]:
        text = Message(N_("{first}; {then}"), first=text, then=part)
    return text
