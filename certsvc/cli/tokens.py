"""``certsvc tokens create | list | revoke``: API bearer tokens.

See :mod:`certsvc.accounts.tokens`.
"""

from __future__ import annotations

import click

from certsvc.accounts.tokens import PREFIX_LENGTH, ROLES, create_token, list_tokens, revoke_token
from certsvc.cli.columns import pad
from certsvc.cli.context import Context, pass_ctx
from certsvc.cli.help import HelpGroup
from certsvc.i18n import gettext
from certsvc.names import role_name


@click.group(cls=HelpGroup)
def tokens() -> None:
    """API bearer tokens: create (secret shown once), list, revoke."""


@tokens.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do.")
@click.option("--name", required=True, help="Who or what uses it, e.g. 全国联网查询 prod.")
@click.option("--body", "body_code", default=None, help="Tie the token to one body (code).")
@pass_ctx
def tokens_create(ctx: Context, role: str, name: str, body_code: str | None) -> None:
    """Create a token and print its secret — the only time it is shown."""
    with ctx.audited("token.create", body=body_code) as entry, ctx.transaction() as session:
        new = create_token(session, role, name, body_code)
        entry.target = f"{new.identity.prefix}… {new.identity.name}"
        entry.detail.update(role=new.identity.role, token_id=new.identity.id)
    if new.identity.body_code:
        created = gettext(
            "created token {id} ({prefix}…) role {role} for body {body}; store the secret now, "
            "it is not shown again:",
            id=new.identity.id,
            prefix=new.identity.prefix,
            role=role,
            body=new.identity.body_code,
        )
    else:
        created = gettext(
            "created token {id} ({prefix}…) role {role}; store the secret now, it is not "
            "shown again:",
            id=new.identity.id,
            prefix=new.identity.prefix,
            role=role,
        )
    click.echo(created, err=True)
    click.echo(new.secret)


@tokens.command("list")
@pass_ctx
def tokens_list(ctx: Context) -> None:
    """List tokens: id, prefix, role, body, name, created, last used, revoked."""
    with ctx.runtime.db.session() as session:
        rows = list_tokens(session)
    for token, body_code in rows:
        state = (
            gettext("revoked {date}", date=f"{token.revoked_at:%Y-%m-%d}")
            if token.revoked_at
            else gettext("active")
        )
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else gettext("never")
        click.echo(
            f"{token.id:<5} {token.prefix}…  {pad(role_name(token.role), 8)} "
            f"{body_code or '-':<13} "
            f"{pad(state, 18)} "
            + gettext(
                "created {created}  used {used}",
                created=f"{token.created_at:%Y-%m-%d}",
                used=used,
            )
            + f"  {token.name}"
        )


@tokens.command("revoke")
@click.argument("token")
@pass_ctx
def tokens_revoke(ctx: Context, token: str) -> None:
    """Revoke a token by id or prefix; it stops working at once."""
    # A whole secret is accepted for its prefix: only the prefix may reach the audit log.
    with (
        ctx.audited("token.revoke", target=token.strip()[:PREFIX_LENGTH]) as entry,
        ctx.transaction() as session,
    ):
        revoked = revoke_token(session, token)
        entry.target = f"{revoked.prefix}… {revoked.name}"
        entry.detail["token_id"] = revoked.id
        click.echo(
            gettext(
                "revoked token {id} ({prefix}…) {name}",
                id=revoked.id,
                prefix=revoked.prefix,
                name=revoked.name,
            )
        )
