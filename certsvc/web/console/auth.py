"""Log-in, log-out, one's own password, and the start page for each role."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from certsvc.accounts import accounts, permissions
from certsvc.errors import CertsvcError, RateLimited
from certsvc.i18n import LANGUAGES, gettext
from certsvc.web import runtime_of
from certsvc.web.authz import (
    audit_request,
    client_ip,
    current_principal,
    end_session,
    request_actor,
    start_session,
)
from certsvc.web.console import bp, error_page
from certsvc.web.console.forms import ActionForm, LoginForm, PasswordForm
from certsvc.web.language import SESSION_KEY


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console: never another site (open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return None
    if "\\" in target or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The log-in form; on success the start page (or the page that sent the browser here)."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = _safe_next(request.args.get("next")) or ""
    status = 200
    if form.validate_on_submit():
        assert form.username.data is not None and form.password.data is not None
        try:
            who = accounts.login(
                runtime_of(current_app).db,
                form.username.data,
                form.password.data,
                ip=client_ip(),
            )
        except RateLimited as exc:
            form.password.errors = [exc.message]
            status = 429
        except CertsvcError as exc:
            form.password.errors = [exc.message]
            status = exc.http_status
        else:
            start_session(who)
            return redirect(_safe_next(form.next.data) or url_for("console.index"))
    elif request.method == "POST":
        status = 400
    return render_template("console/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session (a POST with a CSRF token: a link elsewhere cannot log you out)."""
    who = current_principal()
    if who is not None:
        with runtime_of(current_app).db.transaction() as session:
            accounts.end_sessions(session, who.account_id)
        audit_request("logout", body_id=who.body_id)
    end_session()
    return redirect(url_for("console.login"))


@bp.post("/language")
def set_language() -> ResponseReturnValue:
    """The language switch: the account's console language from now on (before log-in, the
    session's), then back to the page it was pressed on."""
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        return error_page(400, gettext("Choose Chinese or English."))
    session[SESSION_KEY] = language
    who = current_principal()
    if who is not None:
        with runtime_of(current_app).db.transaction() as db_session:
            accounts.set_language(db_session, who.account_id, language)
    return redirect(_safe_next(request.form.get("next")) or url_for("console.index"))


@bp.get("/")
def index() -> ResponseReturnValue:
    """Each role's start page."""
    who = current_principal()
    if who is None:
        return redirect(url_for("console.login"))
    if who.can(permissions.Permission.READ):
        return redirect(url_for("console.dashboard"))
    if who.can(permissions.Permission.MANAGE_BODIES):
        return redirect(url_for("console.bodies"))
    if who.can(permissions.Permission.MANAGE_TOKENS):  # the registry token admin
        return redirect(url_for("console.token_list"))
    return render_template("console/no_access.html"), 403


@bp.route("/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    """Change one's own password; every other session of the account ends."""
    who = current_principal()
    if who is None:
        return redirect(url_for("console.login", next=request.full_path))
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        assert form.new.data is not None and form.current.data is not None
        if form.new.data != form.repeat.data:
            form.repeat.errors = [gettext("The new passwords differ")]
            status = 422
        else:
            try:
                with runtime_of(current_app).db.transaction() as session:
                    updated = accounts.change_password(
                        session,
                        who.account_id,
                        form.current.data,
                        form.new.data,
                        actor=request_actor(),
                    )
            except CertsvcError as exc:
                form.new.errors = [exc.message]
                status = exc.http_status
            else:
                start_session(updated)
                flash(gettext("Password changed."))
                return redirect(url_for("console.index"))
    elif request.method == "POST":
        status = 400
    return render_template("console/password.html", form=form, logout=ActionForm()), status
