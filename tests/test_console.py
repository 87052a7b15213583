"""The enterprise console through its HTTP interface: log-in, import, certificates, set-up.

Helpers here (``Console``, ``make_account``, ``other_body``, ``csv_file``) are shared by the
other console, authorization and API tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from certsvc.bodies.bodies import get_body, set_seal, set_status
from certsvc.cli.demo import uscc
from certsvc.issuance.columns import COLUMNS
from certsvc.issuance.service import issue_batch
from certsvc.models import AuditEntry, Batch, Certificate, Event, SigningKey
from certsvc.render import render_certificate
from certsvc.render.batch import certificate_face, stored_seal
from certsvc.runtime import Runtime
from tests.conftest import (
    BODY_USCC,
    MEMBER_USCC,
    PASSWORD,
    Console,
    count,
    csv_file,
    logged_in,
    make_account,
    row,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def audit_actions(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.db.session() as session:
        return [
            (a, o)
            for a, o in session.execute(
                select(AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.id)
            )
        ]


@pytest.fixture
def issuer(runtime: Runtime, body: str, console: Console) -> Console:
    make_account(runtime, "issuer1", "issuer", body)
    assert console.login("issuer1").status_code == 302
    return console


@pytest.fixture
def admin(runtime: Runtime, body: str, app: Flask) -> Console:
    make_account(runtime, "admin1", "admin", body)
    client = Console(app.test_client())
    assert client.login("admin1").status_code == 302
    return client


# --- log-in and sessions --------------------------------------------------------------------


def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(
    runtime: Runtime, body: str, console: Console
) -> None:
    make_account(runtime, "alice", "viewer", body)
    response = console.login("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    page = console.get("/console/dashboard")
    assert page.status_code == 200 and "南京测试装备集团" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert console.post("/console/logout").status_code == 302
    assert console.get("/console/dashboard").status_code == 302


def _cookie_expiry(response: TestResponse) -> dt.datetime:
    from email.utils import parsedate_to_datetime

    cookie = response.headers["Set-Cookie"]
    match = re.search(r"Expires=([^;]+)", cookie)
    assert match, cookie
    return parsedate_to_datetime(match.group(1))


def test_session_cookie_expires_when_the_server_ends_the_session(
    runtime: Runtime, body: str, app: Flask
) -> None:
    """Issue #13: the cookie lived 31 days (Flask's default) though sessions end after
    hours; it now expires when the session started plus the server's one limit."""
    from certsvc.web.authz import MAX_SESSION_AGE

    assert app.permanent_session_lifetime == MAX_SESSION_AGE
    make_account(runtime, "alice", "viewer", body)
    console = Console(app.test_client())
    login = console.login("alice")
    expires = _cookie_expiry(login)
    now = dt.datetime.now(dt.UTC)
    assert now + MAX_SESSION_AGE - dt.timedelta(minutes=2) <= expires <= now + MAX_SESSION_AGE
    # Five hours into the session, a request that refreshes the idle clock re-sends the
    # cookie: it still expires at the session's end, not ten hours from now.
    with console.client.session_transaction() as flask_session:
        stamp = int(now.timestamp()) - 5 * 3600
        flask_session["console"] = {
            **flask_session["console"],
            "t": stamp,
            "seen": stamp + 4 * 3600,
        }
    page = console.get("/console/dashboard")
    assert page.status_code == 200
    refreshed = _cookie_expiry(page)
    assert abs(refreshed - (now + MAX_SESSION_AGE - dt.timedelta(hours=5))) < dt.timedelta(
        minutes=2
    )
    # One setting: a shorter lifetime shortens both the cookie and the server's limit.
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=4)
    assert console.get("/console/dashboard").status_code == 302


def test_logout_ends_copies_of_the_session_cookie_too(
    runtime: Runtime, body: str, app: Flask
) -> None:
    """A signed cookie cannot be deleted from other hands: log-out changes the account's
    session stamp, so a copy taken before (another tab, a stolen cookie) stops working."""
    make_account(runtime, "alice", "viewer", body)
    console = Console(app.test_client())
    assert console.login("alice").status_code == 302
    name = app.config["SESSION_COOKIE_NAME"]
    stolen = console.client.get_cookie(name)
    assert stolen is not None
    thief = app.test_client()
    thief.set_cookie(name, stolen.value, domain=stolen.domain)
    assert thief.get("/console/dashboard").status_code == 200  # the copy works while logged in
    assert console.post("/console/logout").status_code == 302
    assert thief.get("/console/dashboard").status_code == 302
    # Logging in again starts a session that works.
    assert console.login("alice").status_code == 302
    assert console.get("/console/dashboard").status_code == 200
    assert thief.get("/console/dashboard").status_code == 302


def test_a_flood_of_log_in_requests_is_turned_away_before_the_database(
    runtime: Runtime, body: str, app: Flask
) -> None:
    app.config["CERTSVC_RATELIMIT_LOGIN"] = "4 per minute"  # the form, and three posts
    console = Console(app.test_client())
    form = {"username": "nobody", "password": "guess guess"}
    answers = [console.post("/console/login", form) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 401]
    refused = console.post("/console/login", form)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    with runtime.db.session() as session:  # the refused one never reached the log-in check
        assert session.scalar(select(func.count()).where(AuditEntry.action == "login")) == 3


def test_a_form_without_its_csrf_token_is_refused(
    runtime: Runtime, body: str, console: Console
) -> None:
    make_account(runtime, "alice", "viewer", body)
    response = console.post(
        "/console/login", {"username": "alice", "password": PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    forged = {"username": "alice", "password": PASSWORD, "csrf_token": "forged"}
    assert console.post("/console/login", forged, csrf=False).status_code == 400
    assert [a for a, _ in audit_actions(runtime) if a == "login"] == []  # never reached


def test_wrong_passwords_lock_the_account_and_are_audited(
    runtime: Runtime, body: str, console: Console
) -> None:
    make_account(runtime, "alice", "issuer", body)
    for _ in range(4):
        response = console.login("alice", "wrong password!")
        assert response.status_code == 401
        assert "用户名或密码错误" in response.get_data(as_text=True)
    locked = console.login("alice", "wrong password!")
    assert locked.status_code == 429
    assert console.login("alice").status_code == 429  # even the right password now
    unknown = console.login("mallory", "whatever123")
    assert unknown.status_code == 401  # the same answer as a wrong password
    outcomes = [o for a, o in audit_actions(runtime) if a == "login"]
    assert outcomes == ["failed"] * 5 + ["locked", "failed"]


def test_a_disabled_account_loses_its_session_at_once(
    runtime: Runtime, body: str, issuer: Console, admin: Console
) -> None:
    assert issuer.get("/console/dashboard").status_code == 200
    with runtime.db.session() as session:
        from certsvc.models import Account

        issuer_id = session.scalar(select(Account.id).where(Account.username == "issuer1"))
    assert admin.post(f"/console/accounts/{issuer_id}/disable").status_code == 303
    assert issuer.get("/console/dashboard").status_code == 302
    assert issuer.login("issuer1").status_code == 401


def test_login_redirects_only_inside_the_console(
    runtime: Runtime, body: str, console: Console
) -> None:
    make_account(runtime, "alice", "viewer", body)
    page = console.get("/console/login?next=https://evil.example/x")
    assert "evil.example" not in page.get_data(as_text=True)
    response = console.post(
        "/console/login",
        {"username": "alice", "password": PASSWORD, "next": "//evil.example/"},
    )
    assert response.headers["Location"] == "/console/"


def test_password_change_ends_other_sessions(
    runtime: Runtime, body: str, app: Flask, issuer: Console
) -> None:
    second = Console(app.test_client())
    assert second.login("issuer1").status_code == 302
    response = issuer.post(
        "/console/password",
        {"current": PASSWORD, "new": "a better passphrase", "repeat": "a better passphrase"},
    )
    assert response.status_code == 302
    assert issuer.get("/console/dashboard").status_code == 200
    assert second.get("/console/dashboard").status_code == 302


def test_english_for_one_page(runtime: Runtime, body: str, issuer: Console) -> None:
    assert "概览" in issuer.get("/console/dashboard").get_data(as_text=True)
    english = issuer.get("/console/dashboard?lang=en").get_data(as_text=True)
    assert "Valid certificates" in english and "Recent batches" in english
    # ?lang= is that page's; the account's language is changed by the switch (a POST).
    assert "有效证书" in issuer.get("/console/dashboard").get_data(as_text=True)


# --- import ---------------------------------------------------------------------------------


def test_import_preview_marks_every_bad_row_then_a_fixed_file_issues(
    runtime: Runtime, body: str, issuer: Console
) -> None:
    bad = [row(1), row(2, id_number="110105194912310021"), row(3, level="九级")]
    preview = issuer.upload(csv_file(bad))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 422
    assert 'id="preview-errors"' in html and "confirm-issue" not in html
    assert re.search(r'<tr class="bad" id="row-3">', html)
    assert re.search(r'<tr class="bad" id="row-4">', html)
    assert re.search(r'<tr class="" id="row-2">', html)
    assert html.count('<td class="bad" ') == 2  # exactly the two faulty cells
    assert count(runtime, Certificate) == 0 and count(runtime, Batch) == 0

    good = [row(1), row(2), row(3, level="三级")]
    preview = issuer.upload(csv_file(good))
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    assert person_id_hidden(preview.get_data(as_text=True), good)
    assert count(runtime, Certificate) == 0  # a preview issues nothing
    issued = issuer.confirm(preview)
    assert issued.status_code == 303
    batch_page = issuer.get(issued.headers["Location"]).get_data(as_text=True)
    assert count(runtime, Certificate) == 3
    assert "Y000132010001264000001" in batch_page and "download-csv" in batch_page
    # Confirming the same preview again issues nothing new.
    again = issuer.confirm(preview)
    assert again.status_code == 303 and count(runtime, Certificate) == 3
    assert issuer.upload(csv_file(good)).get_data(as_text=True).count("confirm-issue") == 0


def person_id_hidden(html: str, rows: list[dict[str, str]]) -> bool:
    """Valid ID numbers are masked in the preview."""
    return all(r["id_number"] not in html for r in rows)


def test_a_tampered_or_foreign_confirmation_issues_nothing(
    runtime: Runtime, body: str, app: Flask, issuer: Console
) -> None:
    preview = issuer.upload(csv_file([row(1)]))
    html = preview.get_data(as_text=True)
    ticket = re.search(r'name="ticket" type="hidden" value="([^"]+)"', html)
    assert ticket is not None
    import base64
    import zlib

    forged = base64.b64encode(zlib.compress(csv_file([row(2)]))).decode()
    response = issuer.post(
        "/console/import/confirm",
        {"ticket": ticket.group(1), "content": forged},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    make_account(runtime, "issuer2", "issuer", body)
    other = Console(app.test_client())
    other.login("issuer2")
    content = re.search(r'name="content" type="hidden" value="([^"]+)"', html)
    assert content is not None
    stolen = other.post(
        "/console/import/confirm",
        {"ticket": ticket.group(1), "content": content.group(1)},
        content_type="multipart/form-data",
    )
    assert stolen.status_code == 422
    assert count(runtime, Certificate) == 0


def test_a_file_that_cannot_be_read_says_why(runtime: Runtime, body: str, issuer: Console) -> None:
    response = issuer.upload(b"%PDF-1.7 not a spreadsheet", "results.pdf")
    assert response.status_code == 422
    assert "不是结果文件" in response.get_data(as_text=True)


def test_the_dashboard_lists_levels_by_rank(runtime: Runtime, body: str, issuer: Console) -> None:
    """Both level tables: 五级 first, 特级技师 and 首席技师 after 一级 (not by code as text)."""
    levels = ["首席技师", "特级技师", "五级", "一级"]
    issue_via_console(issuer, [row(n, level=lv) for n, lv in enumerate(levels, start=1)])
    html = issuer.get("/console/dashboard").get_data(as_text=True)
    talent = html[html.index('data-dimension="level"') :]
    talent = talent[: talent.index("</table>")]
    by_level = html[html.index("按等级") : html.index("按发证月份")]
    for table in (talent, by_level):
        found = [(table.index(name), name) for name in ("五级", "一级", "特级技师", "首席技师")]
        assert [name for _, name in sorted(found)] == ["五级", "一级", "特级技师", "首席技师"]


def test_xlsx_template_has_drop_down_lists(runtime: Runtime, body: str, issuer: Console) -> None:
    from openpyxl import load_workbook

    response = issuer.get("/console/import/template.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    assert len(sheet.data_validations.dataValidation) >= 4
    assert sheet["A2"].value == "张三"  # the example row, as in the CSV template


# --- certificates ---------------------------------------------------------------------------


def issue_via_console(issuer: Console, rows: list[dict[str, str]]) -> str:
    response = issuer.confirm(issuer.upload(csv_file(rows)))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return str(response.headers["Location"]).rsplit("/", 1)[-1]


def test_search_detail_and_dashboard(runtime: Runtime, body: str, issuer: Console) -> None:
    batch_id = issue_via_console(
        issuer, [row(1, name="欧阳晓明"), row(2), row(3, occupation_code="6-18-02-04")]
    )
    found = issuer.get("/console/certificates?name=欧阳").get_data(as_text=True)
    assert "Y000132010001264000001" in found and "Y000132010001264000002" not in found
    by_batch = issuer.get(f"/console/certificates?batch={batch_id}").get_data(as_text=True)
    assert by_batch.count("/console/certificates/Y0001") == 3
    by_level = issuer.get("/console/certificates?level=3").get_data(as_text=True)
    assert "/console/certificates/Y0001" not in by_level
    detail = issuer.get("/console/certificates/Y000132010001264000001").get_data(as_text=True)
    assert "欧阳晓明" in detail and "**" in detail  # the ID number masked
    board = issuer.get("/console/dashboard").get_data(as_text=True)
    assert "2026-11" in board and "四级/中级工" in board


def test_dashboard_charts_the_talent_statistics(
    runtime: Runtime, body: str, issuer: Console
) -> None:
    # One person certified in two occupations counts once among the holders.
    issue_via_console(issuer, [row(1), row(1, occupation_code="6-18-02-04"), row(2)])
    board = issuer.get("/console/dashboard").get_data(as_text=True)
    assert "有效证书 3 · 持证人数（去重） 2" in board
    for dimension in ("level", "route", "year"):
        assert f'data-dimension="{dimension}"' in board
    assert "正常认定" in board and "2026" in board
    english = issuer.get("/console/dashboard?lang=en").get_data(as_text=True)
    assert "Regular assessment" in english and "正常认定" not in english
    assert "Level 4" in english


def test_revoke_needs_a_reason(runtime: Runtime, body: str, issuer: Console) -> None:
    issue_via_console(issuer, [row(1)])
    number = "Y000132010001264000001"
    assert issuer.get(f"/console/certificates/{number}/revoke").status_code == 200
    empty = issuer.post(f"/console/certificates/{number}/revoke", {"reason": ""})
    assert empty.status_code == 422
    done = issuer.post(f"/console/certificates/{number}/revoke", {"reason": "考核材料造假"})
    assert done.status_code == 302
    page = issuer.get(f"/console/certificates/{number}").get_data(as_text=True)
    assert "考核材料造假" in page and "badge revoked" in page
    assert ("certificate.revoke", "ok") in audit_actions(runtime)


def test_correcting_a_name_supersedes_and_keeps_both_in_history(
    runtime: Runtime, body: str, issuer: Console
) -> None:
    issue_via_console(issuer, [row(1, name="张三")])
    old = "Y000132010001264000001"
    form = issuer.get(f"/console/certificates/{old}/correct").get_data(as_text=True)
    assert 'value="张三"' in form and "110105" not in form
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', form))
    fields.update(
        {
            "name": "张三丰",
            "id_type": "resident_id",
            "level": "4",
            "route": "regular",
            "direct_ground": "",
            "direct_evidence": "",
        }
    )
    fields.pop("csrf_token", None)
    response = issuer.post(f"/console/certificates/{old}/correct", fields)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    new = str(response.headers["Location"]).rsplit("/", 1)[-1]
    assert new == "Y000132010001264000002"
    with runtime.db.session() as session:
        statuses = dict(session.execute(select(Certificate.number, Certificate.status)).all())
        kinds = session.scalars(select(Event.kind).order_by(Event.seq)).all()
    assert statuses == {old: "superseded", new: "valid"}
    assert kinds[-2:] == ["superseded", "issued"]
    for number in (old, new):
        page = issuer.get(f"/console/certificates/{number}").get_data(as_text=True)
        assert old in page and new in page
    # Sending the same correction again is answered with the same new certificate.
    again = issuer.post(f"/console/certificates/{old}/correct", fields)
    assert again.status_code == 302 and again.headers["Location"].endswith(new)
    assert count(runtime, Certificate) == 2
    # Another correction of the superseded certificate is refused; of the new one nothing
    # to change is refused too.
    fields["name"] = "张三风"
    assert issuer.post(f"/console/certificates/{old}/correct", fields).status_code == 409
    fields["name"] = "张三丰"
    unchanged = issuer.post(f"/console/certificates/{new}/correct", fields)
    assert unchanged.status_code == 422 and "没有需要更正的内容" in unchanged.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value"), [("work_type", "数控\u202e车工"), ("employer_name", "示范\x07公司")]
)
def test_a_correction_with_control_or_bidi_characters_is_refused(
    runtime: Runtime, body: str, issuer: Console, field: str, value: str
) -> None:
    issue_via_console(issuer, [row(1, name="张三")])
    old = "Y000132010001264000001"
    form = issuer.get(f"/console/certificates/{old}/correct").get_data(as_text=True)
    fields = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', form))
    fields.pop("csrf_token", None)
    fields.update({"id_type": "resident_id", "level": "4", "route": "regular", field: value})
    fields.update({"direct_ground": "", "direct_evidence": ""})
    response = issuer.post(f"/console/certificates/{old}/correct", fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"U+{ord(value[2]):04X}" in page and "请重新输入" in page
    assert count(runtime, Certificate) == 1


# --- members, scope, keys -------------------------------------------------------------------


def test_members_and_scope(runtime: Runtime, body: str, admin: Console) -> None:
    new_member = uscc("91320300MA1Y9Q3W5")
    added = admin.post(
        "/console/members", {"uscc": new_member, "name": "徐州成员", "valid_from": "2026-01-01"}
    )
    assert added.status_code == 303
    page = admin.get("/console/members").get_data(as_text=True)
    assert new_member in page and MEMBER_USCC in page
    bad = admin.post("/console/members", {"uscc": "123", "valid_from": "2026-01-01"})
    assert bad.status_code == 422
    with runtime.db.session() as session:
        from certsvc.models import EcosystemMember

        member_id = session.scalar(
            select(EcosystemMember.id).where(EcosystemMember.uscc == new_member)
        )
    ended = admin.post(f"/console/members/{member_id}/end", {"valid_to": "2026-06-30"})
    assert ended.status_code == 303
    assert "2026-06-30" in admin.get("/console/members").get_data(as_text=True)

    added = admin.post("/console/scope", {"occupations": ["4-04-05-05"], "levels": ["3", "2"]})
    assert added.status_code == 303
    scope_page = admin.get("/console/scope").get_data(as_text=True)
    assert "4-04-05-05" in scope_page
    removed = admin.post("/console/scope/remove", {"occupation_code": "4-04-05-05", "level": "3"})
    assert removed.status_code == 303
    actions = [a for a, _ in audit_actions(runtime)]
    assert {"member.add", "member.end", "scope.add", "scope.remove"} <= set(actions)
    assert BODY_USCC  # the body itself stays out of its member list
    assert BODY_USCC not in page


def test_key_rotation_and_compromise_need_confirmation(
    runtime: Runtime, body: str, admin: Console
) -> None:
    assert admin.post("/console/keys/rotate", {}).status_code == 422  # not confirmed
    assert admin.post("/console/keys/rotate", {"confirm": "y"}).status_code == 303
    with runtime.db.session() as session:
        keys = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
    assert [k.status for k in keys] == ["retired", "active"]
    active = keys[1].kid
    page = admin.get(f"/console/keys/{active}/compromise")
    assert page.status_code == 200
    assert (
        admin.post(f"/console/keys/{active}/compromise", {"cutoff": "2026-11-26T08:00"}).status_code
        == 422
    )
    done = admin.post(
        f"/console/keys/{active}/compromise", {"cutoff": "2026-11-26T08:00", "confirm": "y"}
    )
    assert done.status_code == 303
    with runtime.db.session() as session:
        key = session.get(SigningKey, active)
        assert key is not None and key.status == "compromised"
        assert key.compromised_after == dt.datetime(2026, 11, 26, 0, 0, tzinfo=dt.UTC)


# --- accounts, tokens, audit ----------------------------------------------------------------


def test_admin_creates_accounts_of_the_body_only(
    runtime: Runtime, body: str, admin: Console
) -> None:
    made = admin.post(
        "/console/accounts", {"username": "Viewer.One", "password": PASSWORD, "role": "viewer"}
    )
    assert made.status_code == 303
    assert "viewer.one" in admin.get("/console/accounts").get_data(as_text=True)
    operator = admin.post(
        "/console/accounts", {"username": "boss", "password": PASSWORD, "role": "operator"}
    )
    assert operator.status_code == 422  # not a choice for a body's admin
    weak = admin.post(
        "/console/accounts", {"username": "weak", "password": "short", "role": "viewer"}
    )
    assert weak.status_code == 422


def test_token_secret_is_shown_once_and_works_until_revoked(
    runtime: Runtime, body: str, admin: Console
) -> None:
    created = admin.post("/console/tokens", {"name": "HR 系统", "role": "issuer"})
    assert created.status_code == 201
    secret = re.search(r'id="token-secret">(cst_[^<]+)<', created.get_data(as_text=True))
    assert secret is not None
    listing = admin.get("/console/tokens").get_data(as_text=True)
    assert secret.group(1) not in listing and secret.group(1)[:12] in listing
    api = admin.client.get(
        "/api/v1/batches/nope", headers={"Authorization": f"Bearer {secret.group(1)}"}
    )
    assert api.status_code == 404
    listing = admin.get("/console/tokens").get_data(as_text=True)
    assert "从未" not in listing  # last use is shown
    from certsvc.models import ApiToken

    with runtime.db.session() as session:
        token_id = session.scalar(select(ApiToken.id))
    assert admin.post(f"/console/tokens/{token_id}/revoke").status_code == 303
    api = admin.client.get(
        "/api/v1/batches/nope", headers={"Authorization": f"Bearer {secret.group(1)}"}
    )
    assert api.status_code == 401


def test_audit_log_is_visible_to_admins_and_exports_csv(
    runtime: Runtime, body: str, admin: Console, issuer: Console
) -> None:
    issuer.upload(csv_file([row(1, name="X1")]), name="=HYPERLINK.csv")  # refused rows
    issuer.get("/console/audit")  # denied, and audited
    page = admin.get("/console/audit").get_data(as_text=True)
    # The page names actions and outcomes; the CSV keeps the codes (each name's title).
    assert "上传并检查结果文件" in page and "越权请求被拒绝" in page and "issuer1" in page
    assert 'title="import.preview"' in page and "未通过" in page
    assert ">import.preview<" not in page and ">denied<" not in page
    export = admin.get("/console/audit.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["id", "occurred_at", "actor"]
    actions = {r[5] for r in rows[1:]}
    assert {"login", "import.preview", "denied", "audit.export"} <= actions
    assert "'=HYPERLINK.csv" in {r[6] for r in rows}  # no formula for the spreadsheet
    assert {r[8] for r in rows[1:] if r[2] != "test"} == {"127.0.0.1"}


def test_a_file_without_its_header_leaves_no_id_number_in_the_audit_log(
    runtime: Runtime, body: str, admin: Console, issuer: Console
) -> None:
    first, second = row(1, name="王小明"), row(2)
    data = "\r\n".join(",".join(r[c.key] for c in COLUMNS) for r in (first, second)).encode()
    refused = issuer.upload(data)
    assert refused.status_code == 422
    assert "不是表头行" in refused.get_data(as_text=True)
    with runtime.db.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "import.preview")
        ).one()
        assert entry.outcome == "rejected" and entry.detail == {"error": "bad_file"}
    stored = admin.get("/console/audit").get_data(as_text=True)
    stored += admin.get("/console/audit.csv").get_data(as_text=True)
    for clear in (first["id_number"], second["id_number"], "王小明"):
        assert clear not in stored


def test_an_id_number_in_the_file_name_is_masked_wherever_the_name_is_kept(
    runtime: Runtime, body: str, admin: Console, issuer: Console
) -> None:
    clear = row(1)["id_number"]
    name = f"王小明_{clear}.csv"
    confirmed = issuer.confirm(issuer.upload(csv_file([row(1)]), name=name))
    assert confirmed.status_code == 303  # issued: on to the batch
    with runtime.db.session() as session:
        (stored,) = session.scalars(select(Batch.filename)).all()
        targets = session.scalars(select(AuditEntry.target)).all()
    assert stored == f"王小明_{clear[:4]}{'*' * 10}{clear[-4:]}.csv"
    kept = " ".join(filter(None, targets)) + admin.get("/console/audit.csv").get_data(as_text=True)
    assert stored in kept and clear not in kept


RENDER_ASSETS = Path(__file__).parent / "assets" / "render"


def test_certificate_pdf_carries_the_body_stored_seal(
    runtime: Runtime, body: str, issuer: Console
) -> None:
    issue_via_console(issuer, [row(1)])
    number = "Y000132010001264000001"
    generated = issuer.get(f"/console/certificates/{number}.pdf").data
    with runtime.db.transaction() as session:
        set_seal(session, get_body(session, body), (RENDER_ASSETS / "seal.png").read_bytes())
    uploaded = issuer.get(f"/console/certificates/{number}.pdf").data
    assert generated.startswith(b"%PDF") and uploaded.startswith(b"%PDF")
    assert uploaded != generated  # the stored seal replaced the generated one
    with runtime.db.session() as session:
        face = certificate_face(session, number, runtime.settings.public_url, runtime.vault)
        assert uploaded == render_certificate(face, stored_seal(session, body))


def test_revoked_certificates_download_marked_never_as_valid(
    runtime: Runtime, body: str, issuer: Console
) -> None:
    import pypdfium2
    from pypdf import PdfReader

    from certsvc.issuance.service import revoke
    from certsvc.render.batch import batch_merged, batch_zip

    batch_id = issue_via_console(issuer, [row(1), row(2)])
    revoked, valid = "Y000132010001264000001", "Y000132010001264000002"
    revoke(runtime, revoked, "重复发证")

    def texts(pdf: bytes) -> list[str]:
        doc = pypdfium2.PdfDocument(pdf)
        found = [str(page.get_textpage().get_text_bounded()) for page in doc]
        doc.close()
        return found

    (marked,) = texts(issuer.get(f"/console/certificates/{revoked}.pdf").data)
    assert "已撤销 REVOKED" in marked and "重复发证" in marked
    (clean,) = texts(issuer.get(f"/console/certificates/{valid}.pdf").data)
    assert "REVOKED" not in clean
    # Batch files are made by jobs (tests/test_jobs.py runs them): here, what a job renders.
    url = runtime.settings.public_url
    with runtime.db.session() as session:
        merged = batch_merged(session, batch_id, url, runtime.vault, workers=1)
        archive = b"".join(batch_zip(session, batch_id, url, runtime.vault, workers=1))
    printed = texts(merged)
    assert ["REVOKED" in page for page in printed] == [True, False]
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        assert "REVOKED" in texts(files.read(f"{revoked}.pdf"))[0]
        assert len(PdfReader(io.BytesIO(files.read(f"{valid}.pdf"))).pages) == 1


def test_an_admin_resets_a_forgotten_password_and_the_old_sessions_end(
    runtime: Runtime, body: str, app: Flask
) -> None:
    """Issue #13: a body admin had no way to give an account a new password."""
    admin = logged_in(app, runtime, "boss", "admin", body)
    issuer = logged_in(app, runtime, "alice", "issuer", body)
    assert issuer.get("/console/dashboard").status_code == 200
    with runtime.db.session() as session:
        alice = session.scalar(
            select(func.min(AuditEntry.account_id)).where(AuditEntry.actor == "alice")
        )
    page = admin.get("/console/accounts").get_data(as_text=True)
    assert f"/console/accounts/{alice}/password" in page
    short = admin.post(f"/console/accounts/{alice}/password", {"password": "short"})
    assert short.status_code == 422
    done = admin.post(f"/console/accounts/{alice}/password", {"password": "a fresh passphrase"})
    assert done.status_code == 303
    assert issuer.get("/console/dashboard").status_code == 302  # her session ended
    assert Console(app.test_client()).login("alice", "a fresh passphrase").status_code == 302
    assert ("account.password_reset", "ok") in audit_actions(runtime)


def test_a_suspended_body_may_revoke_in_the_console_but_not_import_or_mint_tokens(
    runtime: Runtime, body: str, app: Flask
) -> None:
    """Issue #13: what suspension means in the console (README "Security")."""
    issued = issue_batch(runtime, body, [(2, row(1))], source="api", content_sha256="s1")
    number = issued.certificates[0].number
    issuer = logged_in(app, runtime, "alice", "issuer", body)
    admin = logged_in(app, runtime, "boss", "admin", body)
    with runtime.db.transaction() as session:
        set_status(session, get_body(session, body), "suspended")
    upload = issuer.upload(csv_file([row(2)]))
    assert upload.status_code == 409
    assert "已暂停，不能" in upload.get_data(as_text=True)
    minted = admin.post("/console/tokens", {"name": "hr", "role": "issuer"})
    assert minted.status_code == 409
    revoked = issuer.post(f"/console/certificates/{number}/revoke", {"reason": "材料不实，撤销"})
    assert revoked.status_code in (302, 303)
    with runtime.db.session() as session:
        assert session.scalar(select(Certificate.status).where(Certificate.number == number)) == (
            "revoked"
        )
