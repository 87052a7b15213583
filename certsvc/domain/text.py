"""Free text that people type and others read: one check for every field, at every entry.

Much of what a body's staff or an operator types is published: a work type or a direct-
certification evidence is signed into the certificate and shown on the verification page, a
revocation reason goes into the public status statement, a body's name is printed on every
certificate, an occupation's name into statistics. :func:`check_text` is the rule each of
those fields passes before it is signed or stored, whichever way it came in (file, console,
issuing API, command line):

* **invalid Unicode** — a lone surrogate (``"\\ud800"``, which JSON can spell and a command
  line can carry from bytes that are not UTF-8) cannot be stored or printed at all;
* **control characters** other than tab (and line breaks where a field is multi-line) and the
  **bidirectional controls** that make text display other than it is: U+202E turns
  "王小明" or a work type around on the certificate; an ESC breaks a spreadsheet export;
* **ID numbers** (:func:`~certsvc.domain.ids.contains_id_number`): a 居民身份证 number typed
  into a reason or an evidence text would be published in clear.

Examples::

    check_text("work type", "数控车工")                  -> None
    check_text("work type", "数控\\u202e车工")             -> InvalidInput (U+202E, retype)
    check_text("reason", "核实\\n结论", multiline=True)    -> None
    check_text("reason", "冒用 11010519491231002X 的证件") -> IdNumberInText
"""

from __future__ import annotations

import re

from certsvc.domain.ids import contains_id_number
from certsvc.errors import IdNumberInText, InvalidInput, InvalidUnicode
from certsvc.i18n import N_, Message

#: What names the field in a message: a :class:`~certsvc.i18n.Message` (a column's label,
#: rendered in the reader's language) or a plain name.
Field = str | Message

__all__ = ["check_text", "check_unicode", "check_visible", "has_invalid_unicode"]

# Control characters (Unicode category Cc) other than tab, the line and paragraph separators,
# and the bidirectional controls (Unicode's Bidi_Control set).
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL_RE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029{_BIDI_CONTROLS}]")
_CONTROL_RE_MULTILINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def has_invalid_unicode(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate: a string no UTF-8 encoder accepts."""
    return _SURROGATE_RE.search(text) is not None


def check_unicode(field: Field, text: str) -> None:
    """Raise :class:`InvalidUnicode` naming ``field`` if ``text`` is not valid Unicode."""
    if has_invalid_unicode(text):
        raise InvalidUnicode(
            N_(
                "the {field} is not valid Unicode text (it holds a lone surrogate such as "
                "U+D800, e.g. from bytes that are not UTF-8): send it as UTF-8 text"
            ),
            field=field,
        )


def check_visible(field: Field, text: str, *, multiline: bool = False) -> None:
    """Raise InvalidInput if ``text`` holds invalid Unicode, control characters or
    bidirectional controls. A tab is accepted anywhere; line breaks only if ``multiline``."""
    check_unicode(field, text)
    bad = sorted(set((_CONTROL_RE_MULTILINE if multiline else _CONTROL_RE).findall(text)))
    if bad:
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in bad)
        if multiline:
            raise InvalidInput(
                N_("the {field} contains invisible control characters ({codes}): retype the value"),
                field=field,
                codes=codes,
            )
        raise InvalidInput(
            N_(
                "the {field} contains invisible line breaks or control characters ({codes}): "
                "retype the value"
            ),
            field=field,
            codes=codes,
        )


def check_text(field: Field, text: str, *, multiline: bool = False) -> None:
    """The rule for free text that is stored, signed or shown: :func:`check_visible`, and no
    ID number in it (raises :class:`IdNumberInText`, which says what to do)."""
    check_visible(field, text, multiline=multiline)
    if contains_id_number(text):
        raise IdNumberInText(
            N_(
                "the {field} contains what looks like an ID number (身份证号), which would be "
                "published in clear: remove it — a holder's ID number goes only in the ID "
                "number field, which is stored encrypted"
            ),
            field=field,
        )
