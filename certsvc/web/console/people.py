"""Accounts, API tokens and the audit log of a body (or of the platform).

An admin manages the body's accounts (admin, issuer, viewer) — creating, disabling,
unlocking, resetting a forgotten password — and tokens (issuer, viewer); the registry token
admin the national registry's tokens; operators and the registry token admin read the
platform's audit log. Platform accounts are made at the command line only. A token's secret
is shown once, on the page that answers its creation, and is stored only as a hash
(:mod:`certsvc.accounts.tokens`).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from certsvc.accounts import accounts, audit, permissions
from certsvc.accounts import tokens as apitokens
from certsvc.accounts.permissions import Permission
from certsvc.errors import CertsvcError, NotFound
from certsvc.i18n import N_, gettext
from certsvc.models import Account, ApiToken
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request, principal, request_actor, requires
from certsvc.web.console import bp, i18n
from certsvc.web.console.forms import AccountForm, ActionForm, ResetPasswordForm, TokenForm


def _account_roles() -> tuple[str, ...]:
    # Only a body's admins manage accounts here; platform accounts come from the command line.
    return permissions.BODY_ROLES


def _token_roles() -> tuple[str, ...]:
    return ("issuer", "viewer") if principal().body_id is not None else ("registry",)


# --- accounts ------------------------------------------------------------------------------


def _accounts_page(form: AccountForm, status: int = 200) -> ResponseReturnValue:
    with runtime_of(current_app).db.session() as session:
        found = accounts.list_accounts(session, principal().body_id)
        return render_template(
            "console/accounts.html",
            accounts=found,
            form=form,
            action=ActionForm(),
            reset=ResetPasswordForm(formdata=None),
        ), status


def _account_form(formdata: bool = True) -> AccountForm:
    form = AccountForm() if formdata else AccountForm(formdata=None)
    form.role.choices = [(r, i18n.role_name(r)) for r in _account_roles()]
    return form


@bp.get("/accounts")
@requires(Permission.MANAGE_ACCOUNTS)
def account_list() -> ResponseReturnValue:
    return _accounts_page(_account_form(formdata=False))


@bp.post("/accounts")
@requires(Permission.MANAGE_ACCOUNTS)
def account_create() -> ResponseReturnValue:
    form = _account_form()
    if not form.validate_on_submit():
        return _accounts_page(form, 422)
    who = principal()
    try:
        with runtime_of(current_app).db.transaction() as session:
            created = accounts.create_account(
                session,
                str(form.username.data),
                str(form.password.data),
                str(form.role.data),
                who.body_code,
                actor=request_actor(),
            )
            username = created.username
    except CertsvcError as exc:
        form.username.errors = [exc.message]
        return _accounts_page(form, exc.http_status)
    flash(gettext("Created account {username}.", username=username))
    return redirect(url_for("console.account_list"), code=303)


@bp.post("/accounts/<int:account_id>/<any(disable, enable, unlock):action>")
@requires(Permission.MANAGE_ACCOUNTS)
def account_change(account_id: int, action: str) -> ResponseReturnValue:
    """Disable, enable or unlock an account of the same body."""
    who = principal()
    with runtime_of(current_app).db.transaction() as session:
        if action == "unlock":
            found = session.get(Account, account_id)
            if found is None or found.body_id != who.body_id:
                raise NotFound(N_("no account {account_id} here"), account_id=account_id)
            accounts.unlock(session, found.username, body_id=who.body_id, actor=request_actor())
        else:
            accounts.set_disabled(
                session,
                account_id,
                action == "disable",
                body_id=who.body_id,
                actor=request_actor(),
            )
    flash(gettext("The account was updated."))
    return redirect(url_for("console.account_list"), code=303)


@bp.post("/accounts/<int:account_id>/password")
@requires(Permission.RESET_PASSWORDS)
def account_password_reset(account_id: int) -> ResponseReturnValue:
    """Give an account of the body a new password (it forgot its own); its sessions end."""
    who = principal()
    form = ResetPasswordForm()
    with runtime_of(current_app).db.session() as session:
        found = session.get(Account, account_id)
        if found is None or found.body_id != who.body_id:
            raise NotFound(N_("no account {account_id} here"), account_id=account_id)
        username = found.username
    if not form.validate_on_submit():
        flash(gettext("Type the new password."))
        return _accounts_page(_account_form(formdata=False), 422)
    try:
        with runtime_of(current_app).db.transaction() as session:
            accounts.reset_password(
                session,
                username,
                str(form.password.data),
                body_id=who.body_id,
                actor=request_actor(),
            )
    except CertsvcError as exc:
        flash(exc.message)
        return _accounts_page(_account_form(formdata=False), exc.http_status)
    flash(gettext("New password set for {username}; all of its sessions ended.", username=username))
    return redirect(url_for("console.account_list"), code=303)


# --- API tokens ----------------------------------------------------------------------------


def _token_form(formdata: bool = True) -> TokenForm:
    form = TokenForm() if formdata else TokenForm(formdata=None)
    form.role.choices = [(r, i18n.role_name(r)) for r in _token_roles()]
    return form


def _tokens_page(form: TokenForm, status: int = 200) -> ResponseReturnValue:
    who = principal()
    with runtime_of(current_app).db.session() as session:
        found = [
            (token, code)
            for token, code in apitokens.list_tokens(session)
            if token.body_id == who.body_id
        ]
        return render_template(
            "console/tokens.html", tokens=found, form=form, action=ActionForm()
        ), status


@bp.get("/tokens")
@requires(Permission.MANAGE_TOKENS)
def token_list() -> ResponseReturnValue:
    """The body's tokens: prefix, role, created, last used, revoked — never a secret."""
    return _tokens_page(_token_form(formdata=False))


@bp.post("/tokens")
@requires(Permission.MANAGE_TOKENS)
def token_create() -> ResponseReturnValue:
    """Create a token and show its secret — this once."""
    form = _token_form()
    if not form.validate_on_submit():
        return _tokens_page(form, 422)
    who = principal()
    try:
        with runtime_of(current_app).db.transaction() as session:
            new = apitokens.create_token(
                session, str(form.role.data), str(form.name.data), who.body_code
            )
            audit.record(
                session,
                request_actor(),
                "token.create",
                body_id=who.body_id,
                target=f"{new.identity.prefix}… {new.identity.name}",
                detail={"role": new.identity.role, "token_id": new.identity.id},
            )
    except CertsvcError as exc:
        form.name.errors = [exc.message]
        return _tokens_page(form, exc.http_status)
    return render_template("console/token_created.html", token=new), 201


@bp.post("/tokens/<int:token_id>/revoke")
@requires(Permission.MANAGE_TOKENS)
def token_revoke(token_id: int) -> ResponseReturnValue:
    """Revoke a token of the body; it stops working at once."""
    who = principal()
    with runtime_of(current_app).db.transaction() as session:
        token = session.get(ApiToken, token_id)
        if token is None or token.body_id != who.body_id:
            raise NotFound(N_("no API token {token_id} here"), token_id=token_id)
        apitokens.revoke_token(session, str(token.id))
        audit.record(
            session,
            request_actor(),
            "token.revoke",
            body_id=who.body_id,
            target=f"{token.prefix}… {token.name}",
        )
    flash(gettext("The token was revoked."))
    return redirect(url_for("console.token_list"), code=303)


# --- audit log -----------------------------------------------------------------------------


@bp.get("/audit")
@requires(Permission.VIEW_AUDIT)
def audit_log() -> ResponseReturnValue:
    """Newest first, 100 a page."""
    before_text = request.args.get("before", "")
    before = (
        int(before_text)
        if before_text.isascii() and before_text.isdigit() and len(before_text) < 19
        else None
    )
    with runtime_of(current_app).db.session() as session:
        entries = audit.list_entries(session, principal().body_id, limit=100, before=before)
        return render_template("console/audit.html", entries=entries)


@bp.get("/audit.csv")
@requires(Permission.VIEW_AUDIT)
def audit_export() -> ResponseReturnValue:
    """The whole log as CSV (the export itself is logged first)."""
    body_id = principal().body_id
    audit_request("audit.export", body_id=body_id)
    runtime = runtime_of(current_app)

    def generate() -> Iterator[str]:
        with runtime.db.session() as session:
            yield from audit.export_csv(session, body_id)

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
