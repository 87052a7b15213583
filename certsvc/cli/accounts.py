"""``certsvc account create | list | unlock | reset-password | activate | language``: console
accounts.

See :mod:`certsvc.accounts.accounts`. Platform accounts (operator, registry_admin) are made here
only.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from certsvc.accounts import accounts, permissions
from certsvc.cli.columns import pad
from certsvc.cli.context import Context, lazy, pass_ctx
from certsvc.cli.help import HelpGroup
from certsvc.errors import NotFound
from certsvc.i18n import LANGUAGES, N_, gettext
from certsvc.models import Account, CertificationBody
from certsvc.names import role_name


@click.group("account", cls=HelpGroup)
def account() -> None:
    """Console accounts: create (password prompted), list, unlock, reset-password, activate,
    language."""


@account.command("create")
@click.option("--username", required=True, help="3-100 characters: letters, digits, . _ @ -")
@click.option("--role", required=True, type=click.Choice(permissions.ROLES))
@click.option("--body", "body_code", default=None, help="Body code; needed for body roles.")
@click.password_option(
    "--password",
    prompt=lazy(N_("Password")),
    confirmation_prompt=lazy(N_("Repeat the password")),
    help="Prompted (hidden, twice) when not given; prefer the prompt over the command line.",
)
@pass_ctx
def account_create(
    ctx: Context, username: str, role: str, body_code: str | None, password: str
) -> None:
    """Create a console account."""
    with ctx.transaction() as session:
        created = accounts.create_account(
            session, username, password, role, body_code, actor=ctx.actor
        )
        if body_code:
            line = gettext(
                "created account {username} ({role} of {body})",
                username=created.username,
                role=role,
                body=body_code.strip().upper(),
            )
        else:
            line = gettext(
                "created account {username} ({role})", username=created.username, role=role
            )
        click.echo(line)


@account.command("list")
@click.option("--body", "body_code", default=None, help="Only the accounts of this body.")
@pass_ctx
def account_list(ctx: Context, body_code: str | None) -> None:
    """List accounts: user name, role, body, state, last log-in."""
    with ctx.runtime.db.session() as session:
        query = (
            select(Account, CertificationBody.code)
            .outerjoin(CertificationBody, CertificationBody.id == Account.body_id)
            .order_by(CertificationBody.code, Account.username)
        )
        if body_code:
            query = query.where(CertificationBody.code == body_code.strip().upper())
        for found, code in session.execute(query):
            state = (
                gettext("disabled")
                if found.disabled
                else gettext("pending")
                if found.pending
                else gettext("locked")
                if found.locked_until
                else gettext("active")
            )
            last = (
                f"{found.last_login_at:%Y-%m-%d %H:%M}Z"
                if found.last_login_at
                else gettext("never")
            )
            click.echo(
                f"{found.username:<24} {pad(role_name(found.role), 9)} {code or '-':<13} "
                f"{pad(state, 9)} " + gettext("last log-in {last}", last=last)
            )


@account.command("unlock")
@click.argument("username")
@pass_ctx
def account_unlock(ctx: Context, username: str) -> None:
    """Lift a lock-out after too many failed log-ins."""
    with ctx.transaction() as session:
        found = accounts.unlock(session, username, body_id=None, actor=ctx.actor, anywhere=True)
        click.echo(gettext("unlocked {username}", username=found.username))


@account.command("reset-password")
@click.argument("username")
@click.password_option(
    "--password",
    prompt=lazy(N_("New password")),
    confirmation_prompt=lazy(N_("Repeat the new password")),
    help="Prompted (hidden, twice) when not given; prefer the prompt over the command line.",
)
@pass_ctx
def account_reset_password(ctx: Context, username: str, password: str) -> None:
    """Give an account a new password (it forgot its own); all of its sessions end."""
    with ctx.transaction() as session:
        found = accounts.reset_password(
            session, username, password, body_id=None, actor=ctx.actor, anywhere=True
        )
        click.echo(
            gettext("new password set for {username}; its sessions ended", username=found.username)
        )


@account.command("activate")
@click.argument("username")
@pass_ctx
def account_activate(ctx: Context, username: str) -> None:
    """Activate a body admin an operator created (it cannot log in until then)."""
    with ctx.transaction() as session:
        found = session.scalar(select(Account).where(Account.username == username.strip().lower()))
        if found is None:
            raise NotFound(N_("no account {username}"), username=username)
        accounts.activate(session, found.id, actor=ctx.actor, at_command_line=True)
        click.echo(gettext("activated {username}", username=found.username))


@account.command("language")
@click.argument("username")
@click.argument("language", type=click.Choice(LANGUAGES))
@pass_ctx
def account_language(ctx: Context, username: str, language: str) -> None:
    """Set the console's language for an account (zh: 简体中文, the default; en: English)."""
    with ctx.transaction() as session:
        found = session.scalar(select(Account).where(Account.username == username.strip().lower()))
        if found is None:
            raise NotFound(N_("no account {username}"), username=username)
        accounts.set_language(session, found.id, language)
        click.echo(
            gettext(
                "{username} now reads the console in {language}",
                username=found.username,
                language=language,
            )
        )
