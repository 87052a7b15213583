"""Names the console shows for codes: roles, statuses, levels, ID types, routes.

Two kinds, two ways. A code of ours (a role, a status) has an English message id in an
``N_`` table and is translated with the gettext catalogue. A value of the domain that carries
its own Chinese and English (a level as printed, an ID type, a route, a body's name) is shown
in the current language with :func:`certsvc.i18n.bilingual`: the domain stays the one place
those names are written.
"""

from __future__ import annotations

from certsvc.domain.ids import IdType
from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.i18n import N_, bilingual, gettext

#: Each role's name (certsvc.accounts.permissions.ROLES).
ROLE_NAMES = {
    "admin": N_("Admin"),
    "issuer": N_("Issuer"),
    "viewer": N_("Viewer"),
    "operator": N_("Platform operator"),
    "registry_admin": N_("Registry token admin"),
    "registry": N_("Registry"),
}

#: Each status's name: of a certificate, a key, a body or a membership.
STATUS_NAMES = {
    "valid": N_("Valid"),
    "revoked": N_("Revoked"),
    "superseded": N_("Superseded"),
    "active": N_("Active"),
    "retired": N_("Retired"),
    "compromised": N_("Compromised"),
    "suspended": N_("Suspended"),
}


def _named(names: dict[str, str], code: str) -> str:
    """The translated name of *code*, or the code itself when it has none."""
    return gettext(names[code]) if code in names else code


def role_name(role: str) -> str:
    return _named(ROLE_NAMES, role)


def status_name(status: str) -> str:
    return _named(STATUS_NAMES, status)


def level_name(code: str) -> str:
    """A level as printed, e.g. 四级/中级工 or Level 4 / Intermediate Worker."""
    level = Level.from_code(code)
    return bilingual(level.printed_zh, level.printed_en)


def level_choices() -> list[tuple[str, str]]:
    return [(lv.code, bilingual(lv.printed_zh, lv.printed_en)) for lv in CERTIFIED_LEVELS]


def id_type_choices() -> list[tuple[str, str]]:
    return [(t.value, bilingual(t.label_zh, t.label_en)) for t in IdType]


def route_choices() -> list[tuple[str, str]]:
    return [(r.value, bilingual(r.label_zh, r.label_en)) for r in Route]


def ground_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(d.value, bilingual(d.label_zh, d.label_en)) for d in DirectGround]
