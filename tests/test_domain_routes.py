"""Regular assessment vs. 直接认定 (direct certification)."""

from __future__ import annotations

import pytest

from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.domain.routes import (
    MIN_EVIDENCE_CHARS,
    DirectGround,
    Route,
    check_certifiable,
    check_route,
    parse_direct_ground,
    parse_route,
)
from certsvc.errors import DirectCertificationNotAllowed, InvalidInput, InvalidLevel

EVIDENCE = "主持解决某型号齿轮箱异响的重大工艺难题,获2023年度公司科技进步一等奖"
BELOW_SENIOR = [Level.JUNIOR, Level.INTERMEDIATE]
SENIOR_AND_UP = [lv for lv in CERTIFIED_LEVELS if lv >= Level.SENIOR]


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("", Route.REGULAR),
        ("  ", Route.REGULAR),
        ("regular", Route.REGULAR),
        ("正常认定", Route.REGULAR),
        ("Regular assessment", Route.REGULAR),
        ("DIRECT", Route.DIRECT),
        ("直接认定", Route.DIRECT),
        ("direct certification", Route.DIRECT),
    ],
)
def test_parse_route(text: str, route: Route) -> None:
    assert parse_route(text) is route


def test_parse_route_rejects_unknown() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_route("破格")
    assert "regular" in str(info.value) and "direct" in str(info.value)


@pytest.mark.parametrize("ground", list(DirectGround))
def test_parse_direct_ground_accepts_value_and_labels(ground: DirectGround) -> None:
    for form in (ground.value, ground.label_zh, ground.label_en, ground.name):
        assert parse_direct_ground(form) is ground


def test_parse_direct_ground_short_form_and_unknown() -> None:
    assert parse_direct_ground("师带徒") is DirectGround.MENTORING
    assert parse_direct_ground("省部级以上奖项") is DirectGround.AWARD
    with pytest.raises(InvalidInput) as info:
        parse_direct_ground("")
    assert "mentoring" in str(info.value)


@pytest.mark.parametrize("level", CERTIFIED_LEVELS)
def test_regular_route_is_allowed_for_every_certified_level(level: Level) -> None:
    check_route(level, Route.REGULAR, None, "")


@pytest.mark.parametrize("level", SENIOR_AND_UP)
@pytest.mark.parametrize("ground", list(DirectGround))
def test_direct_route_for_senior_and_up(level: Level, ground: DirectGround) -> None:
    check_route(level, Route.DIRECT, ground, EVIDENCE)


def _refused(level: Level, route: Route, ground: DirectGround | None, evidence: str) -> str:
    with pytest.raises(DirectCertificationNotAllowed) as info:
        check_route(level, route, ground, evidence)
    assert info.type is DirectCertificationNotAllowed
    return str(info.value)


@pytest.mark.parametrize("level", BELOW_SENIOR)
def test_direct_route_below_senior_is_refused(level: Level) -> None:
    message = _refused(level, Route.DIRECT, DirectGround.AWARD, EVIDENCE)
    assert "三级/高级工 and above" in message


def test_direct_route_needs_a_ground() -> None:
    assert "needs a ground" in _refused(Level.TECHNICIAN, Route.DIRECT, None, EVIDENCE)


@pytest.mark.parametrize(
    "evidence",
    ["", "   ", "x" * (MIN_EVIDENCE_CHARS - 1), " 获奖 " * 2, " " * 20 + "获奖" + "\n" * 9],
)
def test_direct_route_needs_evidence(evidence: str) -> None:
    message = _refused(Level.TECHNICIAN, Route.DIRECT, DirectGround.AWARD, evidence)
    assert f"at least {MIN_EVIDENCE_CHARS}" in message


def test_evidence_of_exactly_the_minimum_is_enough() -> None:
    check_route(Level.SENIOR, Route.DIRECT, DirectGround.MENTORING, "x" * MIN_EVIDENCE_CHARS)


def test_regular_route_must_not_carry_a_ground() -> None:
    message = _refused(Level.SENIOR, Route.REGULAR, DirectGround.AWARD, EVIDENCE)
    assert "clear the ground" in message


@pytest.mark.parametrize("route", list(Route))
def test_apprentice_is_not_certifiable(route: Route) -> None:
    with pytest.raises(InvalidLevel) as info:
        check_route(Level.APPRENTICE, route, None, EVIDENCE)
    assert info.type is InvalidLevel
    assert "学徒工" in str(info.value)
    with pytest.raises(InvalidLevel):
        check_certifiable(Level.APPRENTICE)


def test_labels() -> None:
    assert Route.DIRECT.label_zh == "直接认定"
    assert Route.REGULAR.label_zh == "正常认定"
    assert DirectGround.MAJOR_TECHNICAL_PROBLEM.label_zh == "解决重大工艺技术难题"
    assert DirectGround.MENTORING.label_zh == "师带徒绩效突出"
