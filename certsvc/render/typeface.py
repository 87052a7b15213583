"""The certificate's CJK TrueType face: finding it, registering it with reportlab, and
refusing text it cannot print.

The face is **LXGW WenKai** (霞鹜文楷, SIL Open Font License 1.1, which allows embedding),
from the Debian package ``fonts-lxgw-wenkai``. No OFL FangSong (仿宋) is in a registry this
project installs from (docs/certificate-pdf.md says why); WenKai is a 楷 (kai) face, the
nearest relative of FangSong, with TrueType (glyf) outlines that reportlab embeds as subsets.
Its character map is read with fontTools, so a character the face lacks is refused at issuance
with its code point named, never printed as a blank box.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from certsvc.errors import FontMissing, UnrenderableText
from certsvc.i18n import N_, Message

FONT_PACKAGE = "fonts-lxgw-wenkai"
FONT_FAMILY = "LXGW WenKai"
FONT_PATH = Path("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf")
#: The name the face is registered under with reportlab's pdfmetrics.
FONT_NAME = "LXGWWenKai"


def _missing_font(path: Path, why: str | Message) -> FontMissing:
    return FontMissing(
        N_(
            "the certificate font {family} cannot be used ({path}: {why}); install the Debian "
            "package {package} (apt-get install {package})"
        ),
        family=FONT_FAMILY,
        path=path,
        why=why,
        package=FONT_PACKAGE,
    )


@cache
def covered_code_points(path: Path = FONT_PATH) -> frozenset[int]:
    """Every code point the face maps to a glyph (read once per process with fontTools).

    FontMissing, naming the Debian package, if the file is absent or not a TrueType font.
    """
    from fontTools.ttLib import TTFont, TTLibError

    try:
        font = TTFont(path, lazy=True, fontNumber=0)
    except FileNotFoundError as exc:
        raise _missing_font(path, exc.strerror or Message(N_("not found"))) from exc
    except (OSError, TTLibError, AssertionError) as exc:
        raise _missing_font(
            path, Message(N_("not a TrueType font: {problem}"), problem=exc)
        ) from exc
    with font:
        if "glyf" not in font:
            raise _missing_font(
                path, Message(N_("not a TrueType (glyf) font; CFF cannot be embedded"))
            )
        cmap = font.getBestCmap()
        if not cmap:
            raise _missing_font(path, Message(N_("the font has no Unicode character map")))
        return frozenset(cmap)


@cache
def certificate_font(path: Path = FONT_PATH) -> str:
    """Register the face with reportlab once per process; returns its registered name."""
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    # reportlab's documented setting: binary streams, not ASCII85 (a quarter smaller).
    rl_config.useA85 = 0
    covered_code_points(path)  # FontMissing names the package before reportlab's own error
    try:
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
    except TTFError as exc:
        raise _missing_font(path, str(exc)) from exc
    return FONT_NAME


def missing_characters(text: str, path: Path = FONT_PATH) -> list[str]:
    """The characters of ``text`` the face cannot draw, each once, in order of appearance.

    Control characters (a line break in evidence text) are not drawn and never missing.
    """
    covered = covered_code_points(path)
    missing = dict.fromkeys(
        ch for ch in text if ord(ch) not in covered and unicodedata.category(ch) != "Cc"
    )
    return list(missing)


def check_renderable(text: str) -> None:
    """Raise UnrenderableText naming every character of ``text`` the certificate font lacks.

    Issuance calls this on every printed field, so a name with a character the face cannot
    draw (a 生僻字 beyond its coverage) is refused before it is signed — never printed as a box.
    """
    missing = missing_characters(text)
    if missing:
        raise UnrenderableText(missing, FONT_FAMILY)
