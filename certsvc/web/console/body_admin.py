"""A body's set-up: ecosystem members (chain leaders), scope, signing keys.

Reading is for every role of the body; changing needs the admin's permissions. Key rotation
and marking a key compromised each go through a confirmation page first.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from certsvc.accounts.permissions import Permission
from certsvc.bodies import bodies
from certsvc.domain.china_time import CHINA
from certsvc.domain.levels import CERTIFIED_LEVELS, Level
from certsvc.errors import CertsvcError, InvalidInput, NotFound
from certsvc.i18n import N_, bilingual, gettext, ngettext
from certsvc.issuance import certificates
from certsvc.models import EcosystemMember, Occupation, SigningKey
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request, principal, requires
from certsvc.web.console import bp, i18n
from certsvc.web.console.forms import (
    ActionForm,
    CompromiseForm,
    EndMemberForm,
    MemberForm,
    PhotoSettingForm,
    RotateKeyForm,
    ScopeForm,
    ScopeRemoveForm,
)


def _body_id() -> int:
    body_id = principal().body_id
    assert body_id is not None
    return body_id


# --- members -------------------------------------------------------------------------------


def _members_page(form: MemberForm, status: int = 200) -> ResponseReturnValue:
    with runtime_of(current_app).db.session() as session:
        body = certificates.body_by_id(session, _body_id())
        return render_template(
            "console/members.html",
            body=body,
            members=list(body.members),
            form=form,
            end_form=EndMemberForm(formdata=None, valid_to=dt.date.today()),
            today=dt.date.today(),
        ), status


@bp.get("/members")
@requires(Permission.READ)
def members() -> ResponseReturnValue:
    """The chain leader's member enterprises with their validity."""
    return _members_page(MemberForm(formdata=None, valid_from=dt.date.today()))


@bp.post("/members")
@requires(Permission.MANAGE_MEMBERS)
def member_add() -> ResponseReturnValue:
    form = MemberForm()
    if not form.validate_on_submit():
        return _members_page(form, 422)
    assert form.uscc.data is not None and form.valid_from.data is not None
    try:
        with runtime_of(current_app).db.transaction() as session:
            body = certificates.body_by_id(session, _body_id())
            member = bodies.add_member(
                session,
                body,
                form.uscc.data,
                form.name.data or "",
                form.valid_from.data,
                form.valid_to.data,
                actor=principal().username,
            )
            uscc = member.uscc
    except CertsvcError as exc:
        form.uscc.errors = [exc.message]
        return _members_page(form, exc.http_status)
    audit_request(
        "member.add",
        body_id=_body_id(),
        target=uscc,
        detail={"from": str(form.valid_from.data), "to": str(form.valid_to.data or "")},
    )
    flash(gettext("Added member {uscc}.", uscc=uscc))
    return redirect(url_for("console.members"), code=303)


@bp.post("/members/<int:member_id>/end")
@requires(Permission.MANAGE_MEMBERS)
def member_end(member_id: int) -> ResponseReturnValue:
    """End a membership on a date (inclusive); its history stays."""
    form = EndMemberForm()
    with runtime_of(current_app).db.session() as session:
        member = session.get(EcosystemMember, member_id)
        if member is None or member.body_id != _body_id():
            raise NotFound(N_("no such member of this body"))
        uscc = member.uscc
    if not form.validate_on_submit() or form.valid_to.data is None:
        raise InvalidInput(N_("give the last day of the membership (YYYY-MM-DD)"))
    with runtime_of(current_app).db.transaction() as session:
        body = certificates.body_by_id(session, _body_id())
        bodies.end_member(session, body, uscc, form.valid_to.data, actor=principal().username)
    audit_request(
        "member.end", body_id=_body_id(), target=uscc, detail={"to": str(form.valid_to.data)}
    )
    flash(gettext("The membership of {uscc} ends.", uscc=uscc))
    return redirect(url_for("console.members"), code=303)


# --- scope ---------------------------------------------------------------------------------


def _scope_form(formdata: bool = True) -> ScopeForm:
    form = ScopeForm() if formdata else ScopeForm(formdata=None)
    with runtime_of(current_app).db.session() as session:
        form.occupations.choices = [
            (o.code, f"{o.code} {bilingual(o.name_zh, o.name_en)}")
            for o in session.scalars(select(Occupation).order_by(Occupation.code))
        ]
    form.levels.choices = i18n.level_choices()
    return form


def _scope_page(form: ScopeForm, status: int = 200) -> ResponseReturnValue:
    with runtime_of(current_app).db.session() as session:
        body = certificates.body_by_id(session, _body_id())
        names = {o.code: o for o in session.scalars(select(Occupation))}
        grid: dict[str, set[str]] = {}
        for entry in body.scope:
            grid.setdefault(entry.occupation_code, set()).add(entry.level)
        return render_template(
            "console/scope.html",
            body=body,
            grid=grid,
            names=names,
            levels=CERTIFIED_LEVELS,
            form=form,
            remove_form=ScopeRemoveForm(formdata=None),
            photo_form=PhotoSettingForm(formdata=None, photo_required=body.photo_required),
        ), status


@bp.get("/scope")
@requires(Permission.READ)
def scope() -> ResponseReturnValue:
    """The filed scope: occupations × levels."""
    return _scope_page(_scope_form(formdata=False))


@bp.post("/scope")
@requires(Permission.MANAGE_SCOPE)
def scope_add() -> ResponseReturnValue:
    form = _scope_form()
    if not form.validate_on_submit():
        return _scope_page(form, 422)
    try:
        levels = [Level.from_code(code) for code in form.levels.data or []]
        with runtime_of(current_app).db.transaction() as session:
            body = certificates.body_by_id(session, _body_id())
            added = bodies.add_scope(
                session, body, form.occupations.data or [], levels, actor=principal().username
            )
    except CertsvcError as exc:
        form.levels.errors = [exc.message]
        return _scope_page(form, exc.http_status)
    audit_request(
        "scope.add", body_id=_body_id(), detail={"added": [f"{o}×{lv}" for o, lv in added]}
    )
    flash(ngettext("Added {n} scope entry.", "Added {n} scope entries.", len(added)))
    return redirect(url_for("console.scope"), code=303)


@bp.post("/scope/remove")
@requires(Permission.MANAGE_SCOPE)
def scope_remove() -> ResponseReturnValue:
    form = ScopeRemoveForm()
    if not form.validate_on_submit():
        raise InvalidInput(N_("say which occupation and level to remove"))
    level = Level.from_code(str(form.level.data))
    code = str(form.occupation_code.data)
    with runtime_of(current_app).db.transaction() as session:
        body = certificates.body_by_id(session, _body_id())
        bodies.remove_scope(session, body, code, level, actor=principal().username)
    audit_request("scope.remove", body_id=_body_id(), target=f"{code}×{level.code}")
    flash(
        gettext(
            "Removed {code} {level}.",
            code=code,
            level=bilingual(level.printed_zh, level.printed_en),
        )
    )
    return redirect(url_for("console.scope"), code=303)


@bp.post("/settings/photos")
@requires(Permission.MANAGE_SCOPE)
def photo_setting() -> ResponseReturnValue:
    """Whether every imported row must come with the holder's photo (shown on the scope page:
    it is part of what the body certifies with)."""
    form = PhotoSettingForm()
    if not form.validate_on_submit():
        raise InvalidInput(N_("the form expired: open the page again and save the setting"))
    required = bool(form.photo_required.data)
    with runtime_of(current_app).db.transaction() as session:
        body = certificates.body_by_id(session, _body_id())
        changed = bodies.set_photo_required(session, body, required, actor=principal().username)
    audit_request(
        "body.photos",
        body_id=_body_id(),
        outcome="ok" if changed else "unchanged",
        detail={"photo_required": required},
    )
    flash(
        gettext("Every certificate needs a photo.")
        if required
        else gettext("Photos are now optional.")
    )
    return redirect(url_for("console.scope"), code=303)


# --- keys ----------------------------------------------------------------------------------


def _key(kid: str) -> SigningKey:
    with runtime_of(current_app).db.session() as session:
        key = session.get(SigningKey, kid)
        if key is None or key.body_id != _body_id():
            raise NotFound(N_("no such signing key of this body"))
        return key


@bp.get("/keys")
@requires(Permission.READ)
def keys() -> ResponseReturnValue:
    """Every key the body ever had, with its status."""
    with runtime_of(current_app).db.session() as session:
        found = session.scalars(
            select(SigningKey)
            .where(SigningKey.body_id == _body_id())
            .order_by(SigningKey.created_at.desc())
        ).all()
        return render_template("console/keys.html", keys=found, form=ActionForm())


@bp.route("/keys/rotate", methods=["GET", "POST"])
@requires(Permission.MANAGE_KEYS)
def key_rotate() -> ResponseReturnValue:
    """Confirm, then retire the active key (its signatures stay valid) and make a new one."""
    form = RotateKeyForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("console/key_rotate.html", form=form), status
    runtime = runtime_of(current_app)
    with runtime.db.transaction() as session:
        body = certificates.body_by_id(session, _body_id())
        key = runtime.keyring.rotate(session, body, actor=principal().username)
        kid = key.kid
    audit_request("key.rotate", body_id=_body_id(), target=kid)
    flash(gettext("New key {kid}… is active.", kid=kid[:12]))
    return redirect(url_for("console.keys"), code=303)


@bp.route("/keys/<kid>/compromise", methods=["GET", "POST"])
@requires(Permission.MANAGE_KEYS)
def key_compromise(kid: str) -> ResponseReturnValue:
    """Confirm, then distrust the key's signatures after a cutoff (China Standard Time)."""
    key = _key(kid)
    form = CompromiseForm()
    status = 200
    if form.validate_on_submit():
        try:
            cutoff = _parse_cutoff(str(form.cutoff.data))
            runtime = runtime_of(current_app)
            with runtime.db.transaction() as session:
                runtime.keyring.mark_compromised(
                    session, key.kid, cutoff, actor=principal().username
                )
        except CertsvcError as exc:
            form.cutoff.errors = [exc.message]
            status = exc.http_status
        else:
            audit_request(
                "key.compromise",
                body_id=_body_id(),
                target=key.kid,
                detail={"after": cutoff.isoformat()},
            )
            flash(gettext("The key is marked compromised."))
            return redirect(url_for("console.keys"), code=303)
    elif request.method == "POST":
        status = 422
    return render_template("console/key_compromise.html", key=key, form=form), status


def _parse_cutoff(text: str) -> dt.datetime:
    """A local time from the form (China Standard Time) or an ISO time with its zone."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            N_("{text!r} is not a time; write it as 2026-11-26T08:00 (China time)"), text=text[:40]
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment
