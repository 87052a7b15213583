"""How a level was awarded: regular assessment or 直接认定 (direct certification).

Under the 技能强企 (skills-strong enterprise) guidance, an enterprise may directly certify
高级工 and above — breaking the usual limits of education, seniority, age and quota — for a
worker who solved a major process/technical problem or a major quality problem, whose
innovation won a provincial/ministerial-level award or above, or whose 师带徒 (mentoring of
apprentices) is outstanding. The ground and the evidence are stored and shown on verification.
"""

from __future__ import annotations

from enum import StrEnum

from certsvc.domain._text import lookup_key
from certsvc.domain.levels import Level
from certsvc.errors import DirectCertificationNotAllowed, InvalidInput, InvalidLevel
from certsvc.i18n import N_

MIN_EVIDENCE_CHARS = 10
"""Shortest evidence text accepted for direct certification (after trimming spaces)."""


class Route(StrEnum):
    """Route by which the level was awarded."""

    REGULAR = "regular"
    DIRECT = "direct"

    @property
    def label_zh(self) -> str:
        """Chinese label: 正常认定 or 直接认定."""
        return _ROUTE_LABELS[self][0]

    @property
    def label_en(self) -> str:
        """English label."""
        return _ROUTE_LABELS[self][1]


_ROUTE_LABELS: dict[Route, tuple[str, str]] = {
    Route.REGULAR: ("正常认定", "Regular assessment"),
    Route.DIRECT: ("直接认定", "Direct certification"),
}


class DirectGround(StrEnum):
    """Ground for direct certification (one per certificate)."""

    MAJOR_TECHNICAL_PROBLEM = "major_technical_problem"
    MAJOR_QUALITY_PROBLEM = "major_quality_problem"
    AWARD = "award"
    MENTORING = "mentoring"

    @property
    def label_zh(self) -> str:
        """Chinese label, e.g. 解决重大工艺技术难题."""
        return _GROUND_LABELS[self][0]

    @property
    def label_en(self) -> str:
        """English label."""
        return _GROUND_LABELS[self][1]


_GROUND_LABELS: dict[DirectGround, tuple[str, str]] = {
    DirectGround.MAJOR_TECHNICAL_PROBLEM: (
        "解决重大工艺技术难题",
        "Solved a major process or technical problem",
    ),
    DirectGround.MAJOR_QUALITY_PROBLEM: ("解决重大质量问题", "Solved a major quality problem"),
    DirectGround.AWARD: (
        "技术创新成果获省部级以上奖项",
        "Technical innovation won a provincial/ministerial-level award or above",
    ),
    DirectGround.MENTORING: ("师带徒绩效突出", "Outstanding results in mentoring apprentices"),
}

_ROUTE_LOOKUP: dict[str, Route] = {
    lookup_key(form): r for r in Route for form in (r.value, r.name, r.label_zh, r.label_en)
} | {lookup_key(k): v for k, v in {"正常": Route.REGULAR, "直认": Route.DIRECT}.items()}

_GROUND_LOOKUP: dict[str, DirectGround] = {
    lookup_key(form): g for g in DirectGround for form in (g.value, g.name, g.label_zh, g.label_en)
} | {
    lookup_key(k): v
    for k, v in {
        "重大工艺技术难题": DirectGround.MAJOR_TECHNICAL_PROBLEM,
        "重大质量问题": DirectGround.MAJOR_QUALITY_PROBLEM,
        "省部级以上奖项": DirectGround.AWARD,
        "师带徒": DirectGround.MENTORING,
    }.items()
}


def parse_route(text: str) -> Route:
    """Read a route: value, Chinese or English label; an empty cell means REGULAR."""
    if not text.strip():
        return Route.REGULAR
    found = _ROUTE_LOOKUP.get(lookup_key(text))
    if found is None:
        accepted = "; ".join(f"{r.value} ({r.label_zh} / {r.label_en})" for r in Route)
        raise InvalidInput(
            N_("unknown route {route}; use {accepted}, or leave it empty for regular"),
            route=repr(text.strip()),
            accepted=accepted,
        )
    return found


def parse_direct_ground(text: str) -> DirectGround:
    """Read a direct-certification ground: value, Chinese or English label, or short form."""
    found = _GROUND_LOOKUP.get(lookup_key(text))
    if found is None:
        accepted = "; ".join(f"{g.value} ({g.label_zh})" for g in DirectGround)
        raise InvalidInput(
            N_("unknown direct-certification ground {ground}; use {accepted}"),
            ground=repr(text.strip()),
            accepted=accepted,
        )
    return found


def check_certifiable(level: Level) -> None:
    """Raise InvalidLevel if no certificate is issued at ``level`` (学徒工, apprentice)."""
    if not level.carries_certificate:
        raise InvalidLevel(
            N_("学徒工 (apprentice) receives no level certificate; certify 五级/初级工 or above")
        )


def check_route(level: Level, route: Route, ground: DirectGround | None, evidence: str) -> None:
    """Check that ``route`` (with its ground and evidence) may award ``level``.

    Direct certification is allowed only for 高级工 (三级) and above, needs a ground and
    evidence text of at least :data:`MIN_EVIDENCE_CHARS` characters (a verifier must be able
    to see what the worker achieved). A regular assessment must not carry a ground. Raises
    DirectCertificationNotAllowed; InvalidLevel for 学徒工.
    """
    check_certifiable(level)
    if route is Route.REGULAR:
        if ground is not None:
            raise DirectCertificationNotAllowed(
                N_(
                    "a regular assessment has no direct-certification ground, but "
                    "{ground} was given; set the route to direct (直接认定) or clear the ground"
                ),
                ground=ground.label_zh,
            )
        return
    if not level.allows_direct_certification:
        raise DirectCertificationNotAllowed(
            N_(
                "直接认定 (direct certification) is allowed only for 三级/高级工 and above, not "
                "{level}; use a regular assessment (正常认定) for this level"
            ),
            level=level.printed_zh,
        )
    if ground is None:
        choices = ", ".join(f"{g.value} ({g.label_zh})" for g in DirectGround)
        raise DirectCertificationNotAllowed(
            N_("直接认定 (direct certification) needs a ground; choose one of: {choices}"),
            choices=choices,
        )
    if len(evidence.strip()) < MIN_EVIDENCE_CHARS:
        raise DirectCertificationNotAllowed(
            N_(
                "直接认定 (direct certification) needs evidence of at least {minimum} "
                "characters describing what the worker achieved (the problem solved, the award "
                "and its year, or the apprentices trained); it is shown to everyone who "
                "verifies the certificate"
            ),
            minimum=MIN_EVIDENCE_CHARS,
        )
