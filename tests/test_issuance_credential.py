"""The two signed forms' payloads: the fast writers give exactly the generic path's bytes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certsvc.domain.ids import IdType
from certsvc.domain.levels import Level
from certsvc.domain.routes import DirectGround, Route
from certsvc.errors import MalformedToken
from certsvc.issuance.credential import (
    CertifiedFacts,
    QrClaims,
    credential,
    credential_payload,
    parse_qr_payload,
    qr_payload,
)
from certsvc.signing.statuslist import StatusEntry
from certsvc.signing.vc import check_credential, credential_bytes, credential_job

# Any text the JSON writer can meet, with the characters it escapes and the private-use
# characters the templates use as markers (also spelled as a whole marker) mixed in.
_tricky = st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "\u2028", "\ue000", "\ue001"])
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=30),
    st.lists(st.one_of(_tricky, st.text(max_size=3)), max_size=8).map("".join),
    st.just("\ue000number\ue001"),
    st.sampled_from(["王建国", "阿依古丽·买买提", "José Müller-Lüdenscheidt", ""]),
)

FACTS = st.builds(
    CertifiedFacts,
    number=TEXT,
    holder_name=TEXT,
    id_type=st.sampled_from(IdType),
    id_masked=TEXT,
    id_commitment=TEXT,
    employer_uscc=TEXT,
    employer_name=TEXT,
    occupation_code=TEXT,
    occupation_name_zh=TEXT,
    occupation_name_en=TEXT,
    work_type=TEXT,
    level=st.sampled_from(Level),
    issue_date=st.dates(),
    route=st.sampled_from(Route),
    direct_ground=st.none() | st.sampled_from(DirectGround),
    direct_evidence=TEXT,
    body_code=TEXT,
    body_name_zh=TEXT,
    body_name_en=TEXT,
    supersedes=st.none() | TEXT,
)
PUBLIC_URL = st.one_of(st.just("https://cert.example.cn"), TEXT)

EXAMPLE = CertifiedFacts(
    number="Y000132010001253000001",
    holder_name="王建国",
    id_type=IdType.RESIDENT_ID,
    id_masked="3201**********1234",
    id_commitment="c2FsdGVkLWNvbW1pdG1lbnQ",
    employer_uscc="91320100MA1X7K3P8X",
    employer_name="南京示范制造有限公司",
    occupation_code="6-31-01-03",
    occupation_name_zh="电工",
    occupation_name_en="Electrician",
    work_type="",
    level=Level.SENIOR,
    issue_date=dt.date(2026, 11, 20),
    route=Route.REGULAR,
    direct_ground=None,
    direct_evidence="",
    body_code="Y000132010001",
    body_name_zh="基准测试集团",
    body_name_en="Benchmark Group",
)


def _same_bytes_or_same_error(facts: CertifiedFacts, public_url: str) -> None:
    """credential_payload against the generic path: build, check, sort-dump (a vc+jwt job)."""
    try:
        generic, _, _ = credential_job(credential(facts, public_url))
    except Exception as exc:
        with pytest.raises(type(exc)):
            credential_payload(facts, public_url)
    else:
        assert credential_payload(facts, public_url) == generic


@given(FACTS, PUBLIC_URL)
def test_credential_payload_is_the_generic_serialisation(
    facts: CertifiedFacts, public_url: str
) -> None:
    _same_bytes_or_same_error(facts, public_url)


@given(FACTS, PUBLIC_URL, st.sampled_from([dt.date.min, dt.date(1, 1, 2), dt.date.max]))
def test_credential_payload_at_the_ends_of_the_calendar(
    facts: CertifiedFacts, public_url: str, day: dt.date
) -> None:
    _same_bytes_or_same_error(dataclasses.replace(facts, issue_date=day), public_url)


@given(FACTS, PUBLIC_URL)
def test_every_credential_passes_the_vc_check(facts: CertifiedFacts, public_url: str) -> None:
    # credential_payload checks a shape once, when its template is made: that is only the
    # same as checking every credential if no value can make the check fail. The one date
    # that does (0001-01-01 at +08:00 is before datetime.min in UTC) takes the generic path.
    if facts.issue_date == dt.date.min:
        with pytest.raises(OverflowError):
            check_credential(credential(facts, public_url))
        with pytest.raises(OverflowError):
            credential_payload(facts, public_url)
    else:
        check_credential(credential(facts, public_url))


#: Facts as validation lets them through: a name is free text but never holds "|".
QR_FACTS = st.builds(
    lambda facts, number, name, code, day: dataclasses.replace(
        facts, number=number, holder_name=name, occupation_code=code, issue_date=day
    ),
    FACTS,
    st.from_regex(r"[YS][0-9]{21}", fullmatch=True),
    st.text(
        st.characters(blacklist_characters="|", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=40,
    ),
    st.from_regex(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}(-[0-9]{2})?", fullmatch=True),
    st.dates(),
)


@given(QR_FACTS)
def test_qr_payload_reads_back_whatever_it_certifies(facts: CertifiedFacts) -> None:
    payload = qr_payload(facts)
    day = facts.issue_date
    assert (
        payload
        == (
            f"2|{facts.number}|{facts.holder_name}|{facts.occupation_code.replace('-', '')}|"
            f"{day.year:04d}{day.month:02d}{day.day:02d}"
        ).encode()
    )
    claims = parse_qr_payload(payload)
    assert claims == QrClaims(
        facts.number, facts.holder_name, facts.occupation_code, facts.issue_date
    )


def test_qr_payload_reads_back() -> None:
    assert qr_payload(EXAMPLE) == "2|Y000132010001253000001|王建国|6310103|20261120".encode()
    claims = parse_qr_payload(qr_payload(EXAMPLE))
    assert (claims.number, claims.holder_name, claims.occupation_code, claims.issue_date) == (
        EXAMPLE.number,
        EXAMPLE.holder_name,
        EXAMPLE.occupation_code,
        EXAMPLE.issue_date,
    )
    # A nine-digit code (with a 工种 part) gets all four hyphens back.
    nine = parse_qr_payload("2|Y000132010001253000001|王建国|631010301|20261120".encode())
    assert nine.occupation_code == "6-31-01-03-01"


def test_format_1_payloads_stay_readable() -> None:
    """Certificates issued before format 2 verify as they did."""
    old = '[1,"Y000132010001253000001","王建国","6-31-01-03",20261120]'.encode()
    assert parse_qr_payload(old) == QrClaims(
        "Y000132010001253000001", "王建国", "6-31-01-03", dt.date(2026, 11, 20)
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xff\xfe",
        b"3|Y000132010001253000001|A|6310103|20261120",
        b"2|Y000132010001253000001|A|6310103",
        b"2||A|6310103|20261120",
        b"2|Y000132010001253000001||6310103|20261120",
        b"2|Y000132010001253000001|A|6-31-01-03|20261120",
        b"2|Y000132010001253000001|A|63101|20261120",
        b"2|Y000132010001253000001|A|6310103|20261131",
        b"2|Y000132010001253000001|A|6310103|2026112",
        "2|Y000132010001253000001|A|٦٣١٠١٠٣|20261120".encode(),  # Arabic-Indic digits
        "2|Y000132010001253000001|A|6310103|٢٠٢٦١١٢٠".encode(),
        b'[1,"Y000132010001253000001","A","6-31-01-03",true]',
        b'[1,"Y000132010001253000001","A","6-31-01-03",20261131]',
        b'[2,"Y000132010001253000001","A","6-31-01-03",20261120]',
        b'{"n":"1"}',
    ],
)
def test_a_payload_that_is_not_ours_is_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedToken):
        parse_qr_payload(payload)


@pytest.mark.parametrize(
    "entry", [None, StatusEntry("https://cert.example.cn/status/Y000132010001/1", 70_123)]
)
def test_every_shape_of_credential(entry: StatusEntry | None) -> None:
    """Direct certification, supersedes and credentialStatus each add members; all match."""
    url = "https://cert.example.cn"
    for ground in (None, DirectGround.AWARD):
        for supersedes in (None, "", "Y000132010001253000009"):
            facts = dataclasses.replace(
                EXAMPLE,
                direct_ground=ground,
                direct_evidence="省技能大赛一等奖" if ground else "",
                route=Route.DIRECT if ground else Route.REGULAR,
                supersedes=supersedes,
                status_entry=entry,
            )
            payload = credential_payload(facts, url)
            assert payload == credential_bytes(credential(facts, url))
            parsed = json.loads(payload)
            assert parsed["@context"][1] == f"{url}/ns/skill-certificate/v1"
            if entry is None:
                assert "credentialStatus" not in parsed
            else:
                assert parsed["credentialStatus"] == entry.to_json()
            assert ("supersedes" in parsed) == bool(supersedes)
            assert ("directCertification" in parsed["credentialSubject"]) == (ground is not None)
            assert parsed["id"] == f"{url}/c/{EXAMPLE.number}"
