"""Console language: Chinese by default, English on request; both texts sit where they are used.

Templates write ``{{ tr("证书", "Certificates") }}``: the two forms side by side are easier to
keep in step than two catalogues for a few hundred short labels.
"""

from __future__ import annotations

from flask import g, has_request_context, session

from certsvc.domain.ids import IdType
from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.verify import text as public_text

#: The console speaks the public pages' languages.
LANGUAGES = public_text.LANGUAGES
DEFAULT = public_text.DEFAULT_LANGUAGE


def language() -> str:
    """The session's language (``zh`` or ``en``)."""
    lang = session.get("lang", DEFAULT) if has_request_context() else DEFAULT
    return lang if lang in LANGUAGES else DEFAULT


def tr(zh: str, en: str) -> str:
    """The text in the request's language."""
    lang = g.get("lang") if has_request_context() else None
    return en if (lang or language()) == "en" else zh


def level_name(code: str) -> str:
    """A level as printed, e.g. 四级/中级工 or Level 4 / Intermediate Worker."""
    level = Level.from_code(code)
    return tr(level.printed_zh, level.printed_en)


def level_choices() -> list[tuple[str, str]]:
    return [(lv.code, tr(lv.printed_zh, lv.printed_en)) for lv in CERTIFIED_LEVELS]


def id_type_choices() -> list[tuple[str, str]]:
    return [(t.value, tr(t.label_zh, t.label_en)) for t in IdType]


def route_choices() -> list[tuple[str, str]]:
    return [(r.value, tr(r.label_zh, r.label_en)) for r in Route]


def ground_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(d.value, tr(d.label_zh, d.label_en)) for d in DirectGround]


def role_name(role: str) -> str:
    names = {
        "admin": ("管理员", "Admin"),
        "issuer": ("发证员", "Issuer"),
        "viewer": ("查看员", "Viewer"),
        "operator": ("平台运营", "Platform operator"),
        "registry_admin": ("联网查询令牌管理员", "Registry token admin"),
        "registry": ("联网查询系统", "Registry"),
    }
    zh, en = names.get(role, (role, role))
    return tr(zh, en)


def status_name(status: str) -> str:
    names = {
        "valid": ("有效", "Valid"),
        "revoked": ("已撤销", "Revoked"),
        "superseded": ("已更正替代", "Superseded"),
        "active": ("使用中", "Active"),
        "retired": ("已停用", "Retired"),
        "compromised": ("已泄露", "Compromised"),
        "suspended": ("已暂停", "Suspended"),
    }
    zh, en = names.get(status, (status, status))
    return tr(zh, en)
