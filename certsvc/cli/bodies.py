"""``certsvc body …`` and ``certsvc keys …``: bodies, their scope, members and signing keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from sqlalchemy import func, select

from certsvc.bodies import bodies
from certsvc.cli.columns import pad
from certsvc.cli.context import Context, lazy, pass_ctx
from certsvc.cli.help import HelpGroup
from certsvc.domain.levels import Level, parse_level
from certsvc.errors import InvalidInput
from certsvc.i18n import N_, gettext, ngettext
from certsvc.models import Certificate, CertificationBody, SigningKey
from certsvc.names import status_name

# --- bodies ---------------------------------------------------------------------------------


@click.group(cls=HelpGroup)
def body() -> None:
    """Certification bodies: create, list, scope, members, suspend."""


@body.command("create")
@click.option("--code", required=True, help="13 characters, e.g. Y000032010001.")
@click.option("--name-zh", required=True, help="Filed Chinese name (备案名称).")
@click.option("--name-en", default="")
@click.option("--uscc", required=True, help="统一社会信用代码 of the body.")
@click.option("--filing-number", default="")
@click.option("--chain-leader", is_flag=True, help="A 链主企业 that may certify its members.")
@click.option("--no-key", is_flag=True, help="Do not create a signing key now.")
@pass_ctx
def body_create(
    ctx: Context,
    code: str,
    name_zh: str,
    name_en: str,
    uscc: str,
    filing_number: str,
    chain_leader: bool,
    no_key: bool,
) -> None:
    """Register a certification body (and give it a signing key)."""
    runtime = ctx.runtime
    who = ctx.actor.name
    with ctx.audited("body.create", target=code) as entry, ctx.transaction() as session:
        new = bodies.NewBody(code, name_zh, uscc, name_en, filing_number, chain_leader)
        created = bodies.create_body(
            session, new, extra_provinces=dict(runtime.settings.extra_provinces), actor=who
        )
        kid = None if no_key else runtime.keyring.create_key(session, created, who).kid
        entry.target = created.code
        entry.detail["body_id"] = created.id
    if kid:
        click.echo(
            gettext(
                "created body {code} {name}; key {kid}",
                code=created.code,
                name=created.name_zh,
                kid=kid,
            )
        )
    else:
        click.echo(gettext("created body {code} {name}", code=created.code, name=created.name_zh))


@body.command("list")
@pass_ctx
def body_list(ctx: Context) -> None:
    """List bodies with status, chain-leader flag and counts."""
    with ctx.runtime.db.session() as session:
        counts = dict(
            session.execute(
                select(Certificate.body_id, func.count()).group_by(Certificate.body_id)
            ).all()
        )
        for b in session.scalars(select(CertificationBody).order_by(CertificationBody.code)):
            leader = gettext("chain-leader") if b.chain_leader else gettext("enterprise")
            click.echo(
                f"{b.code}  {pad(status_name(b.status), 9)}  {pad(leader, 12)}  "
                + gettext(
                    "scope={scope:<3} members={members:<3} certificates={certificates:<6}",
                    scope=len(b.scope),
                    members=len(b.members),
                    certificates=counts.get(b.id, 0),
                )
                + f" {b.name_zh}"
            )


@body.command("scope")
@click.argument("code")
@click.option("--occupation", "occupations", multiple=True, help="Occupation code; repeatable.")
@click.option("--level", "levels", multiple=True, help="Level, e.g. 3 or 高级工; repeatable.")
@click.option("--remove", is_flag=True, help="Remove the given occupation × level.")
@pass_ctx
def body_scope(
    ctx: Context, code: str, occupations: tuple[str, ...], levels: tuple[str, ...], remove: bool
) -> None:
    """Show, add to or remove from a body's scope (occupations × levels)."""
    if remove:
        with ctx.audited("scope.remove", body=code) as entry, ctx.transaction() as session:
            b = bodies.get_body(session, code)
            parsed = [parse_level(x) for x in levels]
            for occ in occupations:
                for level in parsed:
                    bodies.remove_scope(session, b, occ, level, actor=ctx.actor.name)
                    click.echo(
                        gettext(
                            "removed {occupation} × {level}",
                            occupation=occ,
                            level=level.printed_zh,
                        )
                    )
            entry.detail["removed"] = [f"{o}×{lv.code}" for o in occupations for lv in parsed]
    elif occupations or levels:
        if not (occupations and levels):
            raise InvalidInput(N_("give both --occupation and --level to change the scope"))
        with ctx.audited("scope.add", body=code) as entry, ctx.transaction() as session:
            b = bodies.get_body(session, code)
            parsed = [parse_level(x) for x in levels]
            added = bodies.add_scope(session, b, occupations, parsed, actor=ctx.actor.name)
            click.echo(ngettext("added {n} scope entry", "added {n} scope entries", len(added)))
            entry.detail["added"] = [f"{o}×{lv}" for o, lv in added]
    with ctx.runtime.db.session() as session:
        scope = bodies.get_body(session, code).scope
        for s in sorted(scope, key=lambda s: (s.occupation_code, Level.from_code(s.level).rank)):
            click.echo(f"{s.occupation_code}  {Level.from_code(s.level).printed_zh}")


@body.command("member")
@click.argument("code")
@click.argument("action", type=click.Choice(["add", "end", "list"]))
@click.argument("uscc", required=False)
@click.option("--name", default="", help="Member enterprise name (add).")
@click.option("--from", "valid_from", type=click.DateTime(["%Y-%m-%d"]), help="Start (add).")
@click.option("--to", "valid_to", type=click.DateTime(["%Y-%m-%d"]), help="End, inclusive.")
@pass_ctx
def body_member(
    ctx: Context,
    code: str,
    action: str,
    uscc: str | None,
    name: str,
    valid_from: dt.datetime | None,
    valid_to: dt.datetime | None,
) -> None:
    """Add, end or list the ecosystem members of a chain leader."""
    if action != "list" and not uscc:
        raise InvalidInput(
            N_("`body member {code} {action}` needs the member's USCC"), code=code, action=action
        )
    if action == "add":
        assert uscc is not None
        start = valid_from.date() if valid_from else dt.date.today()
        end = valid_to.date() if valid_to else None
        detail = {"from": str(start), "to": str(end or "")}
        with (
            ctx.audited("member.add", body=code, target=uscc, detail=detail),
            ctx.transaction() as session,
        ):
            b = bodies.get_body(session, code)
            member = bodies.add_member(session, b, uscc, name, start, end, ctx.actor.name)
            click.echo(
                gettext(
                    "added member {uscc} from {start}", uscc=member.uscc, start=member.valid_from
                )
            )
    elif action == "end":
        assert uscc is not None
        if valid_to is None:
            raise InvalidInput(N_("give the last day of the membership with --to YYYY-MM-DD"))
        detail = {"to": str(valid_to.date())}
        with (
            ctx.audited("member.end", body=code, target=uscc, detail=detail),
            ctx.transaction() as session,
        ):
            b = bodies.get_body(session, code)
            member = bodies.end_member(session, b, uscc, valid_to.date(), ctx.actor.name)
            click.echo(
                gettext("membership of {uscc} ends on {end}", uscc=member.uscc, end=member.valid_to)
            )
    with ctx.runtime.db.session() as session:
        for m in bodies.get_body(session, code).members:
            click.echo(f"{m.uscc}  {m.valid_from} – {m.valid_to or '…'}  {m.name}")


@body.command("seal")
@click.argument("code")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
@click.option("--remove", is_flag=True, help="Go back to the generated seal.")
@pass_ctx
def body_seal(ctx: Context, code: str, file: Path | None, remove: bool) -> None:
    """Store the body's seal (PNG or SVG) for its certificates."""
    if remove == (file is not None):
        raise InvalidInput(N_("give the seal FILE (PNG or SVG), or --remove"))
    data = None if file is None else file.read_bytes()
    detail = {"removed": data is None}
    with ctx.audited("body.seal", body=code, detail=detail), ctx.transaction() as session:
        bodies.set_seal(session, bodies.get_body(session, code), data, ctx.actor.name)
    if data:
        click.echo(gettext("{code}: seal from {file}", code=code, file=file))
    else:
        click.echo(gettext("{code}: generated seal", code=code))


@body.command("photos")
@click.argument("code")
@click.argument("setting", type=click.Choice(["required", "optional"]), required=False)
@pass_ctx
def body_photos(ctx: Context, code: str, setting: str | None) -> None:
    """Show, or set to required or optional, whether the body's imports must bring a holder
    photo for every row (new bodies: required)."""
    if setting is None:
        with ctx.runtime.db.session() as session:
            now = bodies.get_body(session, code).photo_required
        click.echo(
            gettext("{code}: holder photos required", code=code)
            if now
            else gettext("{code}: holder photos optional", code=code)
        )
        return
    required = setting == "required"
    detail = {"photo_required": required}
    with ctx.audited("body.photos", body=code, detail=detail), ctx.transaction() as session:
        changed = bodies.set_photo_required(
            session, bodies.get_body(session, code), required, ctx.actor.name
        )
    shown = (
        gettext("{code}: holder photos required", code=code)
        if required
        else gettext("{code}: holder photos optional", code=code)
    )
    click.echo(shown if changed else gettext("{setting} (unchanged)", setting=shown))


@body.command("suspend")
@click.argument("code")
@pass_ctx
def body_suspend(ctx: Context, code: str) -> None:
    """Suspend a body: it can no longer issue."""
    with ctx.audited("body.suspend", body=code), ctx.transaction() as session:
        bodies.set_status(session, bodies.get_body(session, code), "suspended", ctx.actor.name)
    click.echo(gettext("{code} suspended", code=code))


@body.command("activate")
@click.argument("code")
@pass_ctx
def body_activate(ctx: Context, code: str) -> None:
    """Reactivate a suspended body."""
    with ctx.audited("body.activate", body=code), ctx.transaction() as session:
        bodies.set_status(session, bodies.get_body(session, code), "active", ctx.actor.name)
    click.echo(gettext("{code} active", code=code))


# --- keys -----------------------------------------------------------------------------------


@click.group(cls=HelpGroup)
def keys() -> None:
    """Signing keys: list, rotate, mark compromised."""


@keys.command("list")
@click.argument("code", required=False)
@pass_ctx
def keys_list(ctx: Context, code: str | None) -> None:
    """List signing keys (of one body, or all)."""
    with ctx.runtime.db.session() as session:
        query = select(SigningKey).order_by(SigningKey.created_at)
        if code:
            query = query.where(SigningKey.body_id == bodies.get_body(session, code).id)
        for k in session.scalars(query):
            line = gettext(
                "{kid}  {body}  {status:<11} created {created}",
                kid=k.kid,
                body=k.body.code,
                status=pad(status_name(k.status), 11),
                created=f"{k.created_at:%Y-%m-%d %H:%M}Z",
            )
            if k.compromised_after:
                line += " " + gettext(
                    "compromised after {cutoff}", cutoff=k.compromised_after.isoformat()
                )
            click.echo(line)


@keys.command("rotate")
@click.argument("code")
@pass_ctx
def keys_rotate(ctx: Context, code: str) -> None:
    """Retire the body's active key (its signatures stay valid) and create a new one."""
    with ctx.audited("key.rotate", body=code) as entry, ctx.transaction() as session:
        b = bodies.get_body(session, code)
        key = ctx.runtime.keyring.rotate(session, b, ctx.actor.name)
        entry.target = key.kid
    click.echo(gettext("new active key {kid} for {code}", kid=key.kid, code=code))


@keys.command("compromise")
@click.argument("kid")
@click.option(
    "--after",
    required=True,
    help="Signatures after this time (ISO 8601 with zone, e.g. 2026-11-26T08:00:00+08:00) "
    "are not trusted.",
)
@click.confirmation_option(
    prompt=lazy(N_("Certificates signed after the cutoff will verify as invalid. Continue?"))
)
@pass_ctx
def keys_compromise(ctx: Context, kid: str, after: str) -> None:
    """Mark a key compromised from a cutoff time; a new key replaces it if it was active."""
    try:
        cutoff = dt.datetime.fromisoformat(after.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(N_("--after {after!r} is not an ISO 8601 time"), after=after) from exc
    with ctx.runtime.db.session() as session:
        found = session.get(SigningKey, kid)
        body_code = found.body.code if found is not None else None
    with (
        ctx.audited(
            "key.compromise", body=body_code, target=kid, detail={"after": cutoff.isoformat()}
        ),
        ctx.transaction() as session,
    ):
        key = ctx.runtime.keyring.mark_compromised(session, kid, cutoff, ctx.actor.name)
    click.echo(
        gettext("key {kid} compromised after {cutoff}", kid=key.kid, cutoff=key.compromised_after)
    )
