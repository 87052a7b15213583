"""Issuing batches through the service: rules, all-or-nothing, idempotency, corrections."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import pytest
from joserfc import jws as jose_jws
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet as JoseKeySet
from sqlalchemy import func, select

from certsvc.bodies import bodies
from certsvc.bodies.keyring import published_keys
from certsvc.db import one_of
from certsvc.domain.levels import Level
from certsvc.domain.numbers import parse_certificate_number
from certsvc.errors import (
    BatchRejected,
    BodySuspended,
    Conflict,
    InvalidInput,
    NotFound,
    RowError,
)
from certsvc.issuance import certificates, service
from certsvc.issuance.rows import read_results_file
from certsvc.issuance.service import content_hash, issue_batch, revoke
from certsvc.models import Batch, Certificate, Event, Holder
from certsvc.runtime import Runtime
from certsvc.signing.jwks import jwks_document
from certsvc.transparency import log as transparency_log
from certsvc.transparency.checkpoints import event_facts
from certsvc.transparency.leaf import leaf_hash_of
from tests.conftest import (
    BODY_CODE,
    MEMBER_USCC,
    OTHER_BODY_USCC,
    OTHER_USCC,
    issue,
    other_body,
    row,
)


def rejected(runtime: Runtime, rows: list[dict[str, str]]) -> list[RowError]:
    with pytest.raises(BatchRejected) as info:
        issue(runtime, rows)
    return info.value.errors


def count(runtime: Runtime, model: type) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_issues_numbered_certificates_in_row_order(runtime: Runtime, body: str) -> None:
    result = issue(runtime, [row(1), row(2), row(3, level="三级/高级工")])
    numbers = [c.number for c in result.certificates]
    assert numbers == [
        "Y000132010001264000001",
        "Y000132010001264000002",
        "Y000132010001263000001",
    ]
    parsed = parse_certificate_number(numbers[2])
    assert parsed.level is Level.SENIOR and parsed.year == 26 and str(parsed.body) == BODY_CODE
    assert count(runtime, Certificate) == 3
    with runtime.db.session() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.seq)).all()
    assert kinds.count("issued") == 3


def test_special_grade_numbers_use_their_own_form(runtime: Runtime, body: str) -> None:
    result = issue(runtime, [row(1, level="特级技师"), row(2, level="首席技师")])
    assert [c.number for c in result.certificates] == [
        "YT00013201000126000001",
        "YC00013201000126000001",
    ]


def test_both_signed_forms_verify_with_an_independent_jose_library(
    runtime: Runtime, body: str
) -> None:
    result = issue(runtime, [row(1, name="李堃")])
    with runtime.db.session() as session:
        document = jwks_document(published_keys(session))
        cert = session.scalar(select(Certificate))
        assert cert is not None
        record = cert.record
    keyset = JoseKeySet.import_key_set(json.loads(json.dumps(document)))
    token = result.certificates[0].token
    obj = jose_jws.deserialize_compact(token, keyset, algorithms=["EdDSA"])
    assert obj.payload == f"2|{cert.number}|李堃|6310103|20261120".encode()
    vc = jose_jwt.decode(record, keyset, algorithms=["EdDSA"])
    assert vc.header["typ"] == "vc+jwt"
    subject = vc.claims["credentialSubject"]
    assert subject["name"] == "李堃"
    assert subject["level"]["name"] == "四级/中级工"
    assert subject["idNumberMasked"].startswith("3201") and "*" in subject["idNumberMasked"]
    assert vc.claims["certificateNumber"] == cert.number


def test_a_bad_row_rejects_the_whole_batch_with_every_error(runtime: Runtime, body: str) -> None:
    errors = rejected(
        runtime,
        [
            row(1),
            row(2, id_number="110105194912310021"),  # wrong check digit
            row(3, level="九级", occupation_code="9-99-99-99"),
            row(4, employer_uscc=OTHER_USCC),
        ],
    )
    where = {(e.row, e.column) for e in errors}
    assert (3, "id_number") in where
    assert (4, "level") in where and (4, "occupation_code") in where
    assert (5, "employer_uscc") in where
    assert 2 not in {e.row for e in errors}
    assert count(runtime, Certificate) == 0 and count(runtime, Batch) == 0


def test_may_certify_covers_the_filed_occupations_their_work_types_and_levels(
    runtime: Runtime, body: str
) -> None:
    with runtime.db.session() as session:
        seeded = bodies.get_body(session, body)
        assert bodies.may_certify(seeded, "6-31-01-03", Level.INTERMEDIATE)
        assert bodies.may_certify(seeded, "6-31-01-03-01", Level.INTERMEDIATE)  # a 工种 of it
        assert not bodies.may_certify(seeded, "6-18-01-01", Level.INTERMEDIATE)  # not filed
        assert not bodies.may_certify(seeded, "6-31-01-03", Level.APPRENTICE)


def test_scope_membership_and_direct_certification_rules(runtime: Runtime, body: str) -> None:
    errors = rejected(
        runtime,
        [
            row(1, occupation_code="4-04-05-05"),  # in catalogue, not in scope
            row(2, route="直接认定", direct_ground="师带徒绩效突出", direct_evidence="x" * 20),
            row(3, level="技师", route="直接认定", direct_evidence="带徒十人，成效突出。" * 2),
            row(4, employer_uscc=MEMBER_USCC, issue_date="2024-12-31"),  # before membership
        ],
    )
    messages = {e.row: e.message for e in errors}
    assert "scope" in messages[2]
    assert "高级工" in messages[3] or "senior" in messages[3].lower()
    assert 4 in messages and 5 in messages
    ok = issue(
        runtime,
        [
            row(5, employer_uscc=MEMBER_USCC),
            row(
                6,
                level="技师",
                route="直接认定",
                direct_ground="师带徒绩效突出",
                direct_evidence="近五年带徒32人，其中12人取得技师以上等级。",
            ),
        ],
    )
    assert len(ok.certificates) == 2


def test_suspended_body_cannot_issue(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        bodies.set_status(session, bodies.get_body(session, body), "suspended")
    with pytest.raises(BodySuspended, match="suspended"):
        issue(runtime, [row(1)])


def test_resubmitting_the_same_batch_issues_nothing_new(runtime: Runtime, body: str) -> None:
    first = issue(runtime, [row(1), row(2)], key="hr-2026-11-20")
    again = issue(runtime, [row(1), row(2)], key="hr-2026-11-20")
    assert again.replayed and again.batch_id == first.batch_id
    assert [c.number for c in again.certificates] == [c.number for c in first.certificates]
    same_content_no_key = issue(runtime, [row(1), row(2)])
    assert same_content_no_key.replayed
    with pytest.raises(Conflict, match="idempotency key"):
        issue(runtime, [row(3)], key="hr-2026-11-20")
    assert count(runtime, Certificate) == 2


def test_the_same_person_is_not_certified_twice(runtime: Runtime, body: str) -> None:
    errors = rejected(runtime, [row(1), row(1, name="张三")])
    assert any("same person" in e.message and e.row == 3 for e in errors)
    issue(runtime, [row(1)])
    errors = rejected(runtime, [row(1, issue_date="2026-11-21")])
    assert "already holds certificate Y000132010001264000001" in errors[0].message


def test_one_id_number_under_two_names_is_a_conflict_on_both_rows(
    runtime: Runtime, body: str
) -> None:
    """Not "same person": one of the two rows has a wrong name or a wrong ID number."""
    errors = rejected(runtime, [row(1, name="王建国"), row(2), row(1, name="王建军")])
    conflicts = {e.row: e for e in errors if "conflict" in e.message}
    assert set(conflicts) == {2, 4}, errors
    assert "row 4" in conflicts[2].message and "王建军" in conflicts[2].message
    assert "row 2" in conflicts[4].message and "王建国" in conflicts[4].message
    assert all(e.column == "id_number" for e in conflicts.values())
    assert not any("same person" in e.message for e in errors)
    # In another occupation too: the name is wrong whatever is certified.
    errors = rejected(
        runtime,
        [row(1, name="王建国"), row(1, name="王建军", occupation_code="6-18-01-01", level="三级")],
    )
    assert {e.row for e in errors if "conflict" in e.message} == {2, 3}
    # The same name written in another case is the same person, not a conflict.
    errors = rejected(runtime, [row(1, name="Li Lei"), row(1, name="LI LEI")])
    assert [e.row for e in errors] == [3] and "same person" in errors[0].message


def test_a_correction_supersedes_the_old_certificate(runtime: Runtime, body: str) -> None:
    first = issue(runtime, [row(1, name="张山")])
    old = first.certificates[0].number
    fixed = issue(runtime, [row(1, name="张三", corrects=old)])
    assert fixed.superseded == [old]
    with runtime.db.session() as session:
        certs = {c.number: c for c in session.scalars(select(Certificate))}
        new = certs[fixed.certificates[0].number]
        assert certs[old].status == "superseded"
        assert new.status == "valid" and new.supersedes_id == certs[old].id
        kinds = session.scalars(select(Event.kind).order_by(Event.seq)).all()
    assert kinds[-2:] == ["superseded", "issued"]
    errors = rejected(runtime, [row(1, name="张三", corrects=old, issue_date="2026-11-21")])
    assert errors[0].column == "corrects"


def test_numbers_are_gap_free_per_body_year_and_level(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(i) for i in range(1, 6)])
    with pytest.raises(BatchRejected):
        issue(runtime, [row(10), row(11, id_number="bad")])
    result = issue(runtime, [row(20), row(21, issue_date="2025-06-01")])
    numbers = [c.number for c in result.certificates]
    assert numbers == ["Y000132010001264000006", "Y000132010001254000001"]


def test_revocation_is_recorded(runtime: Runtime, body: str) -> None:
    number = issue(runtime, [row(1)]).certificates[0].number
    revoke(runtime, number, "考核记录造假 falsified assessment")
    with pytest.raises(Conflict):
        revoke(runtime, number, "again and again")
    with runtime.db.session() as session:
        cert = session.scalar(select(Certificate))
        assert cert is not None and cert.status == "revoked"
        assert session.scalar(select(Event.kind).order_by(Event.seq.desc())) == "revoked"


def test_a_body_revokes_only_its_own_certificates(runtime: Runtime, body: str) -> None:
    """The service checks the acting body, as for a correction: not each view on its own."""
    other = other_body(runtime)
    theirs = issue(runtime, [row(1, employer_uscc=OTHER_BODY_USCC)], body=other)
    theirs = theirs.certificates[0].number
    with runtime.db.session() as session:
        ours_id, theirs_id = (
            session.scalar(select(Certificate.body_id).where(Certificate.number == n))
            for n in (issue(runtime, [row(2)]).certificates[0].number, theirs)
        )
    assert ours_id is not None and theirs_id is not None and ours_id != theirs_id
    with pytest.raises(NotFound):
        certificates.revoke(runtime, ours_id, theirs, "考核记录不实", actor="test")
    with runtime.db.session() as session:
        status = session.scalar(select(Certificate.status).where(Certificate.number == theirs))
        assert status == "valid"
    revoked = certificates.revoke(runtime, theirs_id, theirs.lower(), "考核记录不实", actor="t")
    assert revoked.number == theirs and revoked.status == "revoked"


@pytest.mark.parametrize("hidden", ["\u202e", "\x07", "\u200f"])
def test_a_revocation_reason_with_invisible_characters_is_refused(
    runtime: Runtime, body: str, hidden: str
) -> None:
    """The reason is signed and shown on the public page: U+202E could turn it around."""
    number = issue(runtime, [row(1)]).certificates[0].number
    with pytest.raises(InvalidInput, match="retype"):
        revoke(runtime, number, f"考核{hidden}记录不实")
    revoke(runtime, number, "考核记录不实\n（复核结论）")  # a line break is text here
    with runtime.db.session() as session:
        assert session.scalar(select(Certificate.status_reason)) == "考核记录不实\n（复核结论）"


def test_holder_is_shared_across_certificates(runtime: Runtime, body: str) -> None:
    issue(runtime, [row(1), row(1, occupation_code="6-18-02-04")])
    assert count(runtime, Holder) == 1


def test_issue_date_defaults_to_today_in_china(runtime: Runtime, body: str) -> None:
    from certsvc.domain.china_time import china_today

    result = issue(runtime, [row(1, issue_date="")])
    with runtime.db.session() as session:
        cert = session.scalar(select(Certificate))
        assert cert is not None and cert.issue_date == china_today()
    assert result.certificates[0].number[13:15] == f"{china_today():%y}"


def test_future_issue_date_is_refused(runtime: Runtime, body: str) -> None:
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    errors = rejected(runtime, [row(1, issue_date=tomorrow)])
    assert errors[0].column == "issue_date" and "future" in errors[0].message


def test_a_name_the_certificate_font_cannot_print_is_refused(runtime: Runtime, body: str) -> None:
    missing = "\U00030000"  # a CJK Extension G character the embedded font does not have
    errors = rejected(runtime, [row(1, name=f"王{missing}"), row(2, work_type="数控\ue000")])
    assert errors[0].column == "name" and "U+30000" in errors[0].message
    assert errors[1].column == "work_type" and "U+E000" in errors[1].message
    assert count(runtime, Certificate) == 0


@pytest.mark.parametrize("bad", ["\x07", "\x1b", "\x7f", "\x85", "\n", "\u2028", "\u200f"])
@pytest.mark.parametrize("column", ["name", "employer_name", "work_type"])
def test_control_and_bidi_characters_are_refused_on_every_route(
    runtime: Runtime, body: str, column: str, bad: str
) -> None:
    value = {"name": "王小明", "employer_name": "示范公司", "work_type": "数控车工"}[column]
    errors = rejected(runtime, [row(1, **{column: value[:2] + bad + value[2:]})])
    [error] = [e for e in errors if e.column == column]
    assert f"U+{ord(bad):04X}" in error.message and "retype" in error.message
    assert count(runtime, Certificate) == 0


def test_a_right_to_left_override_in_the_evidence_is_refused_but_line_breaks_are_text(
    runtime: Runtime, body: str
) -> None:
    direct = {"level": "技师", "route": "直接认定", "direct_ground": "师带徒绩效突出"}
    evidence = "近五年带徒32人，\n其中12人取得技师以上等级。"
    errors = rejected(runtime, [row(1, **direct, direct_evidence="\u202e" + evidence)])
    [error] = [e for e in errors if e.column == "direct_evidence"]
    assert "U+202E" in error.message
    issue(runtime, [row(1, **direct, direct_evidence=evidence)])
    with runtime.db.session() as session:
        assert session.scalars(select(Certificate.direct_evidence)).one() == evidence


def test_a_tab_inside_a_value_is_accepted(runtime: Runtime, body: str) -> None:
    assert len(issue(runtime, [row(1, employer_name="示范\t公司")]).certificates) == 1


def test_a_results_file_with_a_bidi_override_is_refused(runtime: Runtime, body: str) -> None:
    from tests.conftest import as_row, csv_bytes

    data = csv_bytes([as_row(row(1, work_type="数控\u202e车工"))])
    parsed = read_results_file(data, "results.csv")
    with pytest.raises(BatchRejected) as info:
        issue_batch(
            runtime,
            BODY_CODE,
            [(r.row, r.values) for r in parsed.rows],
            source="csv",
            content_sha256=parsed.sha256,
            read_errors=parsed.errors,
        )
    [error] = info.value.errors
    assert (error.row, error.column) == (2, "work_type") and "U+202E" in error.message


def test_the_leaves_made_while_issuing_are_the_leaves_of_the_stored_events(
    runtime: Runtime, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """issue_batch hands publish the leaf hashes of its events instead of reading them back:
    they must be exactly what the log computes from the committed rows (the audit's view)."""
    given: list[Mapping[int, bytes]] = []
    real_publish = service.publish

    def spy(runtime: Runtime, leaves: Mapping[int, bytes] | None = None) -> None:
        given.append(dict(leaves or {}))
        real_publish(runtime, leaves)

    monkeypatch.setattr(service, "publish", spy)
    first = issue(runtime, [row(1, name="张山"), row(2, name="李四·阿依")])
    old = first.certificates[0].number
    # Rows out of order (events follow batch_row), a correction (a superseded event), a
    # direct certification.
    rows = [
        (9, row(4, level="三级/高级工")),
        (3, row(1, name="张三", corrects=old)),
        (
            5,
            row(
                3,
                level="技师",
                route="直接认定",
                direct_ground="师带徒绩效突出",
                direct_evidence="近五年带徒32人，其中12人取得技师以上等级。",
            ),
        ),
    ]
    issue_batch(runtime, BODY_CODE, rows, source="api", content_sha256=content_hash(rows))
    with runtime.db.session() as session:
        head = count(runtime, Event)
        stored = {f.seq: leaf_hash_of(f) for f in event_facts(session, 1, head)}
        kinds = {seq: kind for seq, kind in session.execute(select(Event.seq, Event.kind))}
        assert transparency_log.audit(session) == head
    batch_events = [seq for seq, kind in kinds.items() if kind in ("issued", "superseded")]
    assert sorted(seq for leaves in given for seq in leaves) == sorted(batch_events)
    for leaves in given:
        for seq, leaf in leaves.items():
            assert leaf == stored[seq], seq


def test_one_of_finds_what_in_finds(runtime: Runtime, body: str) -> None:
    """db.one_of (one bound array on PostgreSQL) selects the same rows as IN."""
    issue(runtime, [row(n) for n in range(1, 6)])
    with runtime.db.session() as session:
        hashes = sorted(session.scalars(select(Holder.id_hash)))
        for wanted in ([], hashes[:1], [*hashes[1:4], "0" * 64, hashes[1]], hashes):
            found = session.scalars(
                select(Holder.id_hash).where(one_of(session, Holder.id_hash, wanted))
            )
            assert sorted(found) == sorted(set(wanted) & set(hashes))
