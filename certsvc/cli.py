"""The ``certsvc`` command line.

Every command prints one clear line and exits non-zero on failure: a :class:`CertsvcError`'s
``exit_code`` (65 bad data, 66 not found, 77 key/permission, 78 configuration), 2 for usage.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from certsvc import audit, bodies
from certsvc.config import Settings, generate_secrets
from certsvc.db import normalize_url, refusal
from certsvc.domain.ids import redact_id_numbers
from certsvc.domain.levels import Level, parse_level
from certsvc.domain.occupations import read_catalogue_csv, shipped_catalogue
from certsvc.domain.text import has_invalid_unicode
from certsvc.errors import BatchRejected, CertsvcError, InvalidInput, InvalidUnicode, NotFound
from certsvc.models import Certificate, CertificationBody, Occupation, SigningKey
from certsvc.private_files import create_private_file, narrow
from certsvc.services import Services


class Context:
    """Builds :class:`Services` on first use, so ``certsvc secrets`` needs no configuration."""

    def __init__(self) -> None:
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = Services.from_settings(Settings.from_env())
        return self._services

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.services.db.transaction() as session:
            yield session

    @cached_property
    def actor(self) -> audit.Actor:
        """Who runs this command, as the audit log and the event log name them."""
        return audit.command_line_actor()

    def audited(
        self,
        action: str,
        *,
        body: str | None = None,
        certificate: str | None = None,
        target: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[audit.AuditedAction]:
        """:func:`certsvc.audit.audited` for this command. The entry goes to the log of the
        body with code ``body``, or of the body that issued ``certificate`` (a number), when
        there is one; else to the platform's."""
        query = None
        if body:
            query = select(CertificationBody.id).where(
                CertificationBody.code == body.strip().upper()
            )
        elif certificate:
            query = select(Certificate.body_id).where(Certificate.number == certificate)
        body_id = None
        if query is not None:
            with self.services.db.session() as session:
                body_id = session.scalar(query)
        return audit.audited(
            self.services.db, self.actor, action, body_id=body_id, target=target, detail=detail
        )


pass_ctx = click.make_pass_decorator(Context, ensure=True)


class CertsvcGroup(click.Group):
    """Turns a CertsvcError, and any database error, into one line on stderr and an exit code
    (no traceback); refuses arguments that are not valid text before any command runs."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Python decodes bytes that are not UTF-8 in argv to lone surrogates
        # (surrogateescape): such a value cannot be stored, printed or signed.
        for position, arg in enumerate(args, start=1):
            if has_invalid_unicode(arg):
                click.echo(
                    f"error: argument {position} is not valid UTF-8 text; retype it (or rename "
                    "the file) in UTF-8",
                    err=True,
                )
                raise click.exceptions.Exit(InvalidUnicode.exit_code)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BatchRejected as exc:
            for error in exc.errors:
                click.echo(f"  {error}", err=True)
            click.echo(f"error: {exc.message}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from exc
        except CertsvcError as exc:
            click.echo(f"error: {exc.message}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from exc
        except (IntegrityError, DataError) as exc:  # outside a unit of work (see db.refusal)
            refused = refusal(exc)
            click.echo(f"error: {refused.message}", err=True)
            raise click.exceptions.Exit(refused.exit_code) from exc
        except DBAPIError as exc:
            message, code = _database_problem(exc)
            click.echo(f"error: {message}", err=True)
            raise click.exceptions.Exit(code) from exc


#: What the drivers say when a table is missing: SQLite, then PostgreSQL (UndefinedTable:
#: 'relation "certificates" does not exist'; not a missing database or role).
_MISSING_TABLE = ("no such table", 'relation "')


def _database_problem(exc: DBAPIError) -> tuple[str, int]:
    """One line for a database error the commands do not handle, and its exit code: a
    database without the schema (run ``certsvc init``) or one that cannot be reached."""
    try:
        url = make_url(normalize_url(Settings.from_env().database_url))
        where = f"the database {url.render_as_string(hide_password=True)}"
    except (CertsvcError, ArgumentError):
        where = "the database"
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    if any(marker in detail for marker in _MISSING_TABLE):
        return (
            f"{where} has no certsvc schema, or an older one ({detail}); "
            "run `certsvc init` to create or upgrade it",
            78,  # EX_CONFIG
        )
    return f"cannot use {where}: {detail}", 75  # EX_TEMPFAIL: try again when it answers


@click.group(cls=CertsvcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="certsvc")
def cli() -> None:
    """certsvc — issue and verify signed vocational skill-level certificates."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="certsvc")


def _audit(
    ctx: Context,
    action: str,
    body_code: str,
    *,
    target: str = "",
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit entry for a command, by ``cli:<OS user>``, in its own transaction."""
    with ctx.transaction() as session:
        body_id = session.scalar(
            select(CertificationBody.id).where(CertificationBody.code == body_code.strip().upper())
        )
        audit.record(
            session,
            audit.Actor(f"cli:{_os_user()}"),
            action,
            body_id=body_id,
            target=target,
            outcome=outcome,
            detail=detail,
        )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (e.g. a bare container)
        return str(os.getuid())


# --- set-up -------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the secrets to this file (mode 0600) if it does not exist yet.",
)
def secrets(env_file: Path | None) -> None:
    """Generate a fresh set of secrets as KEY=value lines."""
    lines = "".join(f"{k}={v}\n" for k, v in generate_secrets().items())
    if env_file is None:
        click.echo(lines, nl=False)
        return
    if env_file.exists():
        click.echo(f"{env_file} exists; keeping its secrets")
        return
    create_private_file(env_file)
    env_file.write_text(lines)
    click.echo(f"wrote new development secrets to {env_file} (keep it out of git; dev only)")


@cli.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create or upgrade the database schema and load the occupation catalogue."""
    from certsvc.migrate import clear_id_salts, upgrade

    services = ctx.services
    upgrade(services.db.engine)
    database = services.db.engine.url.database
    if services.db.dialect == "sqlite" and database and not database.startswith(":memory:"):
        # A database an earlier version created under the umask: personal data, owner-only.
        for path in (Path(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")):
            if narrow(path):
                click.echo(f"{path} was readable by others; it is now owner-only (0600)")
    with ctx.transaction() as session:
        added, updated = bodies.load_occupations(session, shipped_catalogue())
        clear = clear_id_salts(session)
    click.echo(
        f"database ready ({services.db.dialect}); occupations: {added} added, {updated} updated"
    )
    if clear:
        click.echo(
            f"{clear} holder(s) have ID commitment salts stored in clear by an earlier version; "
            "once every server runs this version, run `certsvc seal-salts`"
        )


@cli.command("seal-salts")
@pass_ctx
def seal_salts(ctx: Context) -> None:
    """Seal the ID commitment salts that earlier versions stored in clear.

    Run it once every app server runs this version: an older server would take a sealed
    salt for the salt itself and sign commitments nobody can check.
    """
    from certsvc.migrate import seal_clear_id_salts

    with ctx.audited("salts.seal") as entry, ctx.transaction() as session:
        sealed = seal_clear_id_salts(session, ctx.services.vault)
        entry.detail["holders"] = sealed
    click.echo(f"sealed the ID commitment salts of {sealed} holder(s)")


@cli.command()
@pass_ctx
def demo(ctx: Context) -> None:
    """Load the demo chain leader, its members, scope, key and certificates (idempotent)."""
    from certsvc.demo import load_demo

    for line in load_demo(ctx.services):
        click.echo(line)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: CERTSVC_PORT or 5000.")
@pass_ctx
def serve(ctx: Context, host: str, port: int | None) -> None:
    """Serve the web app with the development server (use gunicorn in production)."""
    from certsvc import create_app
    from certsvc.logs import configure_logging

    configure_logging(ctx.services.settings.log_level)  # JSON lines on stderr
    app = create_app(services=ctx.services)
    app.run(host=host, port=port or ctx.services.settings.port, debug=False)


# --- bodies ---------------------------------------------------------------------------------


@cli.group()
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
    services = ctx.services
    who = ctx.actor.name
    with ctx.audited("body.create", target=code) as entry, ctx.transaction() as session:
        new = bodies.NewBody(code, name_zh, uscc, name_en, filing_number, chain_leader)
        created = bodies.create_body(
            session, new, extra_provinces=dict(services.settings.extra_provinces), actor=who
        )
        kid = None if no_key else services.keyring.create_key(session, created, who).kid
        entry.target = created.code
        entry.detail["body_id"] = created.id
    click.echo(f"created body {created.code} {created.name_zh}" + (f"; key {kid}" if kid else ""))


@body.command("list")
@pass_ctx
def body_list(ctx: Context) -> None:
    """List bodies with status, chain-leader flag and counts."""
    with ctx.services.db.session() as session:
        counts = dict(
            session.execute(
                select(Certificate.body_id, func.count()).group_by(Certificate.body_id)
            ).all()
        )
        for b in session.scalars(select(CertificationBody).order_by(CertificationBody.code)):
            leader = "chain-leader" if b.chain_leader else "enterprise"
            click.echo(
                f"{b.code}  {b.status:<9}  {leader:<12}  scope={len(b.scope):<3} "
                f"members={len(b.members):<3} certificates={counts.get(b.id, 0):<6} {b.name_zh}"
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
                    click.echo(f"removed {occ} × {level.printed_zh}")
            entry.detail["removed"] = [f"{o}×{lv.code}" for o in occupations for lv in parsed]
    elif occupations or levels:
        if not (occupations and levels):
            raise InvalidInput("give both --occupation and --level to change the scope")
        with ctx.audited("scope.add", body=code) as entry, ctx.transaction() as session:
            b = bodies.get_body(session, code)
            parsed = [parse_level(x) for x in levels]
            added = bodies.add_scope(session, b, occupations, parsed, actor=ctx.actor.name)
            click.echo(f"added {len(added)} scope entr{'y' if len(added) == 1 else 'ies'}")
            entry.detail["added"] = [f"{o}×{lv}" for o, lv in added]
    with ctx.services.db.session() as session:
        for s in bodies.get_body(session, code).scope:
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
        raise InvalidInput(f"`body member {code} {action}` needs the member's USCC")
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
            click.echo(f"added member {member.uscc} from {member.valid_from}")
    elif action == "end":
        assert uscc is not None
        if valid_to is None:
            raise InvalidInput("give the last day of the membership with --to YYYY-MM-DD")
        detail = {"to": str(valid_to.date())}
        with (
            ctx.audited("member.end", body=code, target=uscc, detail=detail),
            ctx.transaction() as session,
        ):
            b = bodies.get_body(session, code)
            member = bodies.end_member(session, b, uscc, valid_to.date(), ctx.actor.name)
            click.echo(f"membership of {member.uscc} ends on {member.valid_to}")
    with ctx.services.db.session() as session:
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
        raise InvalidInput("give the seal FILE (PNG or SVG), or --remove")
    data = None if file is None else file.read_bytes()
    detail = {"removed": data is None}
    with ctx.audited("body.seal", body=code, detail=detail), ctx.transaction() as session:
        bodies.set_seal(session, bodies.get_body(session, code), data, ctx.actor.name)
    click.echo(f"{code}: " + (f"seal from {file}" if data else "generated seal"))


@body.command("suspend")
@click.argument("code")
@pass_ctx
def body_suspend(ctx: Context, code: str) -> None:
    """Suspend a body: it can no longer issue."""
    with ctx.audited("body.suspend", body=code), ctx.transaction() as session:
        bodies.set_status(session, bodies.get_body(session, code), "suspended", ctx.actor.name)
    click.echo(f"{code} suspended")


@body.command("activate")
@click.argument("code")
@pass_ctx
def body_activate(ctx: Context, code: str) -> None:
    """Reactivate a suspended body."""
    with ctx.audited("body.activate", body=code), ctx.transaction() as session:
        bodies.set_status(session, bodies.get_body(session, code), "active", ctx.actor.name)
    click.echo(f"{code} active")


# --- keys -----------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """Signing keys: list, rotate, mark compromised."""


@keys.command("list")
@click.argument("code", required=False)
@pass_ctx
def keys_list(ctx: Context, code: str | None) -> None:
    """List signing keys (of one body, or all)."""
    with ctx.services.db.session() as session:
        query = select(SigningKey).order_by(SigningKey.created_at)
        if code:
            query = query.where(SigningKey.body_id == bodies.get_body(session, code).id)
        for k in session.scalars(query):
            cutoff = (
                f" compromised after {k.compromised_after.isoformat()}"
                if k.compromised_after
                else ""
            )
            click.echo(
                f"{k.kid}  {k.body.code}  {k.status:<11} created {k.created_at:%Y-%m-%d %H:%M}Z"
                + cutoff
            )


@keys.command("rotate")
@click.argument("code")
@pass_ctx
def keys_rotate(ctx: Context, code: str) -> None:
    """Retire the body's active key (its signatures stay valid) and create a new one."""
    with ctx.audited("key.rotate", body=code) as entry, ctx.transaction() as session:
        b = bodies.get_body(session, code)
        key = ctx.services.keyring.rotate(session, b, ctx.actor.name)
        entry.target = key.kid
    click.echo(f"new active key {key.kid} for {code}")


@keys.command("compromise")
@click.argument("kid")
@click.option(
    "--after",
    required=True,
    help="Signatures after this time (ISO 8601 with zone, e.g. 2026-11-26T08:00:00+08:00) "
    "are not trusted.",
)
@click.confirmation_option(
    prompt="Certificates signed after the cutoff will verify as invalid. Continue?"
)
@pass_ctx
def keys_compromise(ctx: Context, kid: str, after: str) -> None:
    """Mark a key compromised from a cutoff time; a new key replaces it if it was active."""
    try:
        cutoff = dt.datetime.fromisoformat(after.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"--after {after!r} is not an ISO 8601 time") from exc
    with ctx.services.db.session() as session:
        found = session.get(SigningKey, kid)
        body_code = found.body.code if found is not None else None
    with (
        ctx.audited(
            "key.compromise", body=body_code, target=kid, detail={"after": cutoff.isoformat()}
        ),
        ctx.transaction() as session,
    ):
        key = ctx.services.keyring.mark_compromised(session, kid, cutoff, ctx.actor.name)
    click.echo(f"key {key.kid} compromised after {key.compromised_after}")


# --- issuing --------------------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--body", "body_code", required=True, help="Code of the issuing body.")
@click.option(
    "--idempotency-key", default=None, help="Re-sending with the same key never issues twice."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def issue(
    ctx: Context, file: Path, body_code: str, idempotency_key: str | None, as_json: bool
) -> None:
    """Issue the certificates in a CSV or XLSX results file, all or none."""
    from certsvc.issuance.rows import read_results_file
    from certsvc.issuance.service import issue_batch

    services = ctx.services
    # The name is stored (batch, audit log): a name may carry an ID number.
    filename = redact_id_numbers(file.name)[:255]
    with ctx.audited("batch.issue", body=body_code, target=filename) as entry:
        parsed = read_results_file(
            file.read_bytes(), filename, max_rows=services.settings.max_batch_rows
        )
        rows = [(r.row, r.values) for r in parsed.rows]
        with click.progressbar(
            length=len(rows), label=f"issuing {len(rows)} certificates", file=sys.stderr
        ) as bar:
            result = issue_batch(
                services,
                body_code,
                rows,
                source=parsed.format,
                content_sha256=parsed.sha256,
                filename=filename,
                idempotency_key=idempotency_key,
                actor=ctx.actor.name,
                read_errors=parsed.errors,
                progress=bar.update,
            )
        entry.target = result.batch_id
        entry.outcome = "replayed" if result.replayed else "ok"
        entry.detail.update(file=filename, certificates=len(result.certificates))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "batch": result.batch_id,
                    "replayed": result.replayed,
                    "certificates": [
                        {"row": c.row, "number": c.number, "name": c.holder_name}
                        for c in result.certificates
                    ],
                    "superseded": result.superseded,
                },
                ensure_ascii=False,
            )
        )
        return
    for c in result.certificates:
        click.echo(f"row {c.row:>5}  {c.number}  {c.holder_name}")
    if result.replayed:
        click.echo(
            f"already issued as batch {result.batch_id}: nothing new issued "
            f"({len(result.certificates)} certificates)"
        )
    else:
        extra = f", superseded {len(result.superseded)}" if result.superseded else ""
        click.echo(
            f"issued {len(result.certificates)} certificates in batch {result.batch_id}{extra}"
        )


@cli.command()
@click.argument("number")
@click.option("--reason", required=True, help="Shown to anyone who verifies the certificate.")
@pass_ctx
def revoke(ctx: Context, number: str, reason: str) -> None:
    """Revoke a certificate."""
    from certsvc.issuance.service import revoke as revoke_certificate

    number = number.strip().upper()
    with ctx.audited("certificate.revoke", certificate=number, target=number) as entry:
        cert = revoke_certificate(ctx.services, number, reason, actor=ctx.actor.name)
        entry.detail["reason"] = reason.strip()
    click.echo(f"revoked {cert.number}")


@cli.command()
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show(ctx: Context, number: str, as_json: bool) -> None:
    """Show a certificate: every certified field, status and verify URL."""
    from certsvc.verify.core import certificate_fields

    services = ctx.services
    number = number.strip().upper()
    with (
        ctx.audited("certificate.view", certificate=number, target=number),
        services.db.session() as session,
    ):
        cert = session.scalar(select(Certificate).where(Certificate.number == number))
        if cert is None:
            raise NotFound(f"no certificate {number}")
        fields = certificate_fields(cert)
        fields["kid"] = cert.kid
        fields["verify_url"] = f"{services.settings.public_url}/v/{cert.token}"
    if as_json:
        click.echo(json.dumps(fields, ensure_ascii=False, indent=2))
        return
    for key, value in fields.items():
        if isinstance(value, dict):
            value = " ".join(str(v) for v in value.values() if v)
        click.echo(f"{key:<20} {value if value is not None else '—'}")


@cli.command()
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
def template(output: Path) -> None:
    """Write the results-file template (.csv or .xlsx, by the file name)."""
    from certsvc.issuance.columns import template_choices
    from certsvc.issuance.template import template_csv, template_xlsx

    if output.suffix.lower() == ".xlsx":
        output.write_bytes(template_xlsx(template_choices()))
    elif output.suffix.lower() == ".csv":
        output.write_bytes(template_csv())
    else:
        raise InvalidInput("the template file name must end in .csv or .xlsx")
    click.echo(f"wrote {output}")


@cli.group()
def occupations() -> None:
    """The occupation catalogue (国家职业分类大典)."""


@occupations.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def occupations_import(ctx: Context, file: Path) -> None:
    """Add or update occupations from a CSV (code,name_zh,name_en,tags,verified,note)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{file} is not UTF-8 text; save it as CSV UTF-8") from exc
    with ctx.audited("occupations.import", target=file.name[:200]) as entry:
        entries = read_catalogue_csv(text)
        with ctx.transaction() as session:
            added, updated = bodies.load_occupations(session, entries)
        entry.detail.update(added=added, updated=updated)
    click.echo(f"occupations: {added} added, {updated} updated")


@occupations.command("list")
@pass_ctx
def occupations_list(ctx: Context) -> None:
    """List the occupations in the database."""
    with ctx.services.db.session() as session:
        for o in session.scalars(select(Occupation).order_by(Occupation.code)):
            flag = "" if o.verified else "  (code not confirmed)"
            click.echo(f"{o.code:<14} {o.name_zh} · {o.name_en}{flag}")


# Commands that live next to the code they drive register themselves on `cli` when imported.
from certsvc import accounts_commands as _account_commands  # noqa: E402, F401
from certsvc import apitokens_commands as _token_commands  # noqa: E402, F401
from certsvc.jobs import commands as _job_commands  # noqa: E402, F401
from certsvc.registry import commands as _registry_commands  # noqa: E402, F401
from certsvc.render import commands as _render_commands  # noqa: E402, F401
from certsvc.transparency import commands as _log_commands  # noqa: E402, F401
from certsvc.verify import commands as _verify_commands  # noqa: E402, F401
