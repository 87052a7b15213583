"""The platform operator's pages: certification bodies and their first admins.

An operator registers a body (which gets its signing key at once) and creates its admin;
from then on the body's admins run it. Operators never see a body's certificates, and an
admin an operator creates is pending until *another* operator activates it (four eyes,
:func:`certsvc.accounts.activate`), so no one operator can act as a body.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from certsvc.accounts import accounts
from certsvc.accounts.permissions import Permission
from certsvc.bodies import bodies
from certsvc.errors import CertsvcError
from certsvc.i18n import gettext
from certsvc.models import Account, Certificate, CertificationBody
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request, request_actor, requires
from certsvc.web.console import bp, i18n
from certsvc.web.console.forms import AccountForm, ActionForm, BodyForm


def _account_form(formdata: bool = True) -> AccountForm:
    form = AccountForm() if formdata else AccountForm(formdata=None)
    form.role.choices = [("admin", i18n.role_name("admin"))]  # the body's admins add the rest
    return form


def _bodies_page(
    form: BodyForm, account_form: AccountForm, status: int = 200
) -> ResponseReturnValue:
    with runtime_of(current_app).db.session() as session:
        counts = dict(
            session.execute(
                select(Certificate.body_id, func.count()).group_by(Certificate.body_id)
            ).all()
        )
        found = session.scalars(select(CertificationBody).order_by(CertificationBody.code)).all()
        pending = session.execute(
            select(Account, CertificationBody.code)
            .join(CertificationBody, CertificationBody.id == Account.body_id)
            .where(Account.pending.is_(True))
            .order_by(CertificationBody.code, Account.username)
        ).all()
        return render_template(
            "console/bodies.html",
            bodies=found,
            counts=counts,
            pending=pending,
            form=form,
            account_form=account_form,
            action=ActionForm(),
        ), status


@bp.get("/bodies", endpoint="bodies")
@requires(Permission.MANAGE_BODIES)
def bodies_list() -> ResponseReturnValue:
    """Every body with its status and number of certificates."""
    return _bodies_page(BodyForm(formdata=None), _account_form(formdata=False))


@bp.post("/bodies")
@requires(Permission.MANAGE_BODIES)
def body_create() -> ResponseReturnValue:
    """Register a body and give it a signing key."""
    form = BodyForm()
    if not form.validate_on_submit():
        return _bodies_page(form, _account_form(formdata=False), 422)
    runtime = runtime_of(current_app)
    try:
        with runtime.db.transaction() as session:
            created = bodies.create_body(
                session,
                bodies.NewBody(
                    code=str(form.code.data),
                    name_zh=str(form.name_zh.data),
                    uscc=str(form.uscc.data),
                    name_en=form.name_en.data or "",
                    filing_number=form.filing_number.data or "",
                    chain_leader=bool(form.chain_leader.data),
                ),
                extra_provinces=dict(runtime.settings.extra_provinces),
                actor=request_actor().name,
            )
            runtime.keyring.create_key(session, created, actor=request_actor().name)
            code, body_id = created.code, created.id
    except CertsvcError as exc:
        form.code.errors = [exc.message]
        return _bodies_page(form, _account_form(formdata=False), exc.http_status)
    audit_request("body.create", body_id=None, target=code, detail={"body_id": body_id})
    flash(gettext("Registered body {code}.", code=code))
    return redirect(url_for("console.bodies"), code=303)


@bp.post("/bodies/<code>/accounts")
@requires(Permission.MANAGE_BODIES)
def body_account_create(code: str) -> ResponseReturnValue:
    """Create an admin of a body; it stays pending until another operator activates it."""
    form = _account_form()
    if not form.validate_on_submit():
        return _bodies_page(BodyForm(formdata=None), form, 422)
    try:
        with runtime_of(current_app).db.transaction() as session:
            body = bodies.get_body(session, code)
            created = accounts.create_body_admin(
                session,
                str(form.username.data),
                str(form.password.data),
                body.code,
                actor=request_actor(),
            )
            username = created.username
    except CertsvcError as exc:
        form.username.errors = [exc.message]
        return _bodies_page(BodyForm(formdata=None), form, exc.http_status)
    flash(
        gettext(
            "Created admin {username} for {code}; another operator must activate it "
            "before it can log in.",
            username=username,
            code=code,
        )
    )
    return redirect(url_for("console.bodies"), code=303)


@bp.post("/bodies/accounts/<int:account_id>/activate")
@requires(Permission.ACTIVATE_ACCOUNTS)
def body_account_activate(account_id: int) -> ResponseReturnValue:
    """Activate a pending body admin: only an operator other than its creator may (audited)."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("console.bodies"), code=303)
    with runtime_of(current_app).db.transaction() as session:
        found = accounts.activate(session, account_id, actor=request_actor())
        username = found.username
    flash(gettext("Account {username} is active.", username=username))
    return redirect(url_for("console.bodies"), code=303)
