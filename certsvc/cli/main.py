"""The ``certsvc`` command line.

Every command prints one clear line and exits non-zero on failure: a :class:`CertsvcError`'s
``exit_code`` (65 bad data, 66 not found, 77 key/permission, 78 configuration, …), 2 for
usage, and ``certsvc verify`` its own codes by status. The README's table "Exit codes" lists
them all (``tests/test_cli_exit_codes.py`` checks it against the code).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, IntegrityError

from certsvc.bodies import bodies
from certsvc.cli import accounts, jobs, photos, registry, render, tokens, transparency, verify
from certsvc.cli import bodies as body_commands
from certsvc.cli.columns import pad, width
from certsvc.cli.context import Context, pass_ctx
from certsvc.cli.help import HelpCommand, HelpGroup
from certsvc.config import (
    Settings,
    generate_secrets,
    load_dev_env,
    read_env_file,
    write_env_settings,
)
from certsvc.db import normalize_url, refusal
from certsvc.domain.ids import redact_id_numbers
from certsvc.domain.occupations import read_catalogue_csv, shipped_catalogue
from certsvc.domain.routes import Route
from certsvc.domain.text import has_invalid_unicode
from certsvc.errors import (
    BatchRejected,
    CertsvcError,
    ConfigError,
    DatabaseUnavailable,
    FileUnusable,
    InvalidInput,
    InvalidUnicode,
    NotFound,
)
from certsvc.i18n import (
    N_,
    Message,
    current_language,
    gettext,
    language_from_env,
    ngettext,
    plural,
    use_language,
)
from certsvc.models import Certificate, Occupation
from certsvc.names import status_name
from certsvc.private_files import create_private_file, narrow


class CertsvcGroup(HelpGroup):
    """Turns a CertsvcError, any database error and a file it cannot use into one line on
    stderr and an exit code (no traceback); refuses arguments that are not valid text before
    any command runs. Its commands and groups print their help in the person's language."""

    command_class = HelpCommand
    group_class = HelpGroup

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with use_language(language_from_env()):
            return self._parse_args(ctx, args)

    def _parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Python decodes bytes that are not UTF-8 in argv to lone surrogates
        # (surrogateescape): such a value cannot be stored, printed or signed.
        for position, arg in enumerate(args, start=1):
            if has_invalid_unicode(arg):
                click.echo(
                    gettext(
                        "error: argument {position} is not valid UTF-8 text; retype it (or "
                        "rename the file) in UTF-8",
                        position=position,
                    ),
                    err=True,
                )
                raise click.exceptions.Exit(InvalidUnicode.exit_code)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        # Messages in the person's language: CERTSVC_LANGUAGE=zh, or a zh_* locale. Reset
        # when the command ends, so a caller in the same process (a test) keeps its own.
        with use_language(language_from_env()):
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BatchRejected as exc:
            for error in exc.errors:
                click.echo(f"  {error}", err=True)
            click.echo(_error(exc.text), err=True)
            raise click.exceptions.Exit(exc.exit_code) from exc
        except CertsvcError as exc:
            click.echo(_error(exc.text), err=True)
            raise click.exceptions.Exit(exc.exit_code) from exc
        except (IntegrityError, DataError) as exc:  # outside a unit of work (see db.refusal)
            refused = refusal(exc)
            click.echo(_error(refused.text), err=True)
            raise click.exceptions.Exit(refused.exit_code) from exc
        except DBAPIError as exc:
            message, code = _database_problem(exc)
            click.echo(_error(message), err=True)
            raise click.exceptions.Exit(code) from exc
        except OSError as exc:  # an output (or input) path given on the command line
            unusable = FileUnusable(
                N_(
                    "cannot use {file}: {problem}; check the path, that its directory exists "
                    "and that you may write there"
                ),
                file=exc.filename or Message(N_("a file")),
                problem=exc.strerror or exc,
            )
            click.echo(_error(unusable.text), err=True)
            raise click.exceptions.Exit(unusable.exit_code) from exc


#: What the drivers say when a table is missing: SQLite, then PostgreSQL (UndefinedTable:
#: 'relation "certificates" does not exist'; not a missing database or role).
_MISSING_TABLE = ("no such table", 'relation "')


def _error(message: Message) -> str:
    """The one line a failed command prints on stderr."""
    return gettext("error: {message}", message=message)


def _database_problem(exc: DBAPIError) -> tuple[Message, int]:
    """One line for a database error the commands do not handle, and its exit code: a
    database without the schema (run ``certsvc init``) or one that cannot be reached."""
    try:
        url = make_url(normalize_url(Settings.from_env().database_url))
        where = Message(N_("the database {url}"), url=url.render_as_string(hide_password=True))
    except (CertsvcError, ArgumentError):
        where = Message(N_("the database"))
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    if any(marker in detail for marker in _MISSING_TABLE):
        return (
            Message(
                N_(
                    "{where} has no certsvc schema, or an older one ({detail}); run "
                    "`certsvc init` to create or upgrade it"
                ),
                where=where,
                detail=detail,
            ),
            ConfigError.exit_code,  # 78, EX_CONFIG
        )
    # 75, EX_TEMPFAIL: try again when it answers
    return (
        Message(N_("cannot use {where}: {detail}"), where=where, detail=detail),
        DatabaseUnavailable.exit_code,
    )


@click.group(cls=CertsvcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="certsvc")
def cli() -> None:
    """certsvc — issue and verify signed vocational skill-level certificates."""


def main() -> None:
    """Console-script entry point. Run from a source checkout, it first reads the checkout's
    ``instance/dev.env`` (what ``make run`` uses), as Flask's CLI reads ``.env``: variables
    already set win (:func:`certsvc.config.load_dev_env`)."""
    try:
        load_dev_env()
    except (CertsvcError, OSError, UnicodeDecodeError) as exc:
        message = (
            exc.message
            if isinstance(exc, CertsvcError)
            else f"cannot read the checkout's instance/dev.env ({exc}); fix or delete it"
        )
        click.echo(f"error: {message}", err=True)
        sys.exit(ConfigError.exit_code)
    cli(prog_name="certsvc")


# --- set-up -------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the secrets to this file (mode 0600) if it does not exist yet, and keep the "
    "port and public URL there.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="With --env-file: the CERTSVC_PORT to keep (default: the file's, else CERTSVC_PORT "
    "or 5000).",
)
@click.option(
    "--public-url",
    default=None,
    help="With --env-file: the CERTSVC_PUBLIC_URL to keep (default: the file's, else "
    "CERTSVC_PUBLIC_URL or http://127.0.0.1:PORT).",
)
def secrets(env_file: Path | None, port: int | None, public_url: str | None) -> None:
    """Generate a fresh set of secrets as KEY=value lines.

    With --env-file (what ``make run`` does with instance/dev.env) the file also keeps the
    port and public URL the server uses, so that other commands run from the checkout
    (``certsvc show``, ``certsvc pdf``) print the server's URL.
    """
    lines = "".join(f"{k}={v}\n" for k, v in generate_secrets().items())
    if env_file is None:
        if port is not None or public_url is not None:
            raise InvalidInput(N_("--port and --public-url are kept in a file: give --env-file"))
        click.echo(lines, nl=False)
        return
    exists = env_file.exists()
    kept = read_env_file(env_file) if exists else {}

    def given(name: str) -> str:  # set in the environment (or read from the file), or kept
        return os.environ.get(name, "").strip() or kept.get(name, "")

    port_text = str(port) if port is not None else given("CERTSVC_PORT") or "5000"
    url = public_url or given("CERTSVC_PUBLIC_URL") or f"http://127.0.0.1:{port_text}"
    # The checks the settings get when they are read, before anything is written.
    checked = Settings.from_env(
        {**generate_secrets(), "CERTSVC_PORT": port_text, "CERTSVC_PUBLIC_URL": url}
    )
    if exists:
        click.echo(gettext("{file} exists; keeping its secrets", file=env_file))
    else:
        create_private_file(env_file)
        env_file.write_text(lines)
        click.echo(
            gettext(
                "wrote new development secrets to {file} (keep it out of git; dev only)",
                file=env_file,
            )
        )
    update = {"CERTSVC_PORT": str(checked.port), "CERTSVC_PUBLIC_URL": checked.public_url}
    changed = {k: v for k, v in update.items() if kept.get(k) != v}
    if changed:
        write_env_settings(env_file, changed)
    click.echo(
        gettext(
            "{file}: port {port}, public URL {url}",
            file=env_file,
            port=checked.port,
            url=checked.public_url,
        )
    )


@cli.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create or upgrade the database schema and load the occupation catalogue."""
    from certsvc.models.migrate import clear_id_salts, upgrade

    runtime = ctx.runtime
    upgrade(runtime.db.engine)
    database = runtime.db.engine.url.database
    if runtime.db.dialect == "sqlite" and database and not database.startswith(":memory:"):
        # A database an earlier version created under the umask: personal data, owner-only.
        for path in (Path(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")):
            if narrow(path):
                click.echo(
                    gettext("{path} was readable by others; it is now owner-only (0600)", path=path)
                )
    with ctx.transaction() as session:
        added, updated = bodies.load_occupations(session, shipped_catalogue())
        clear = clear_id_salts(session)
    click.echo(
        gettext(
            "database ready ({dialect}); occupations: {added} added, {updated} updated",
            dialect=runtime.db.dialect,
            added=added,
            updated=updated,
        )
    )
    if clear:
        click.echo(
            ngettext(
                "{n} holder has ID commitment salts stored in clear by an earlier version; "
                "once every server runs this version, run `certsvc seal-salts`",
                "{n} holders have ID commitment salts stored in clear by an earlier version; "
                "once every server runs this version, run `certsvc seal-salts`",
                clear,
            )
        )


@cli.command("seal-salts")
@pass_ctx
def seal_salts(ctx: Context) -> None:
    """Seal the ID commitment salts that earlier versions stored in clear.

    Run it once every app server runs this version: an older server would take a sealed
    salt for the salt itself and sign commitments nobody can check.
    """
    from certsvc.models.migrate import seal_clear_id_salts

    with ctx.audited("salts.seal") as entry, ctx.transaction() as session:
        sealed = seal_clear_id_salts(session, ctx.runtime.vault)
        entry.detail["holders"] = sealed
    if sealed:
        click.echo(
            ngettext(
                "sealed the ID commitment salts of {n} holder",
                "sealed the ID commitment salts of {n} holders",
                sealed,
            )
        )
    else:
        click.echo(gettext("nothing to seal: no ID commitment salt is stored in clear"))


@cli.command()
@pass_ctx
def demo(ctx: Context) -> None:
    """Load the demo chain leader, its members, scope, key and certificates (idempotent)."""
    from certsvc.cli.demo import load_demo

    for line in load_demo(ctx.runtime):
        click.echo(line)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: CERTSVC_PORT or 5000.")
@pass_ctx
def serve(ctx: Context, host: str, port: int | None) -> None:
    """Serve the web app with the development server (use gunicorn in production)."""
    from certsvc import create_app
    from certsvc.logs import configure_logging

    configure_logging(ctx.runtime.settings.log_level)  # JSON lines on stderr
    app = create_app(runtime=ctx.runtime)
    app.run(host=host, port=port or ctx.runtime.settings.port, debug=False)


# --- issuing --------------------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--body", "body_code", required=True, help="Code of the issuing body.")
@click.option(
    "--idempotency-key", default=None, help="Re-sending with the same key never issues twice."
)
@click.option(
    "--photos",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="ZIP of the holders' photos (JPEG/PNG), each named by ID number: 3301….jpg.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def issue(
    ctx: Context,
    file: Path,
    body_code: str,
    idempotency_key: str | None,
    photos: Path | None,
    as_json: bool,
) -> None:
    """Issue the certificates in a CSV or XLSX results file, all or none.

    With --photos, each row's photo is taken from the ZIP by the row's ID number; a body that
    requires photos refuses a row without one.
    """
    from certsvc.holders.photo_archive import read_photo_archive
    from certsvc.issuance.photo_rows import archive_photos
    from certsvc.issuance.rows import read_results_file
    from certsvc.issuance.service import issue_batch

    runtime = ctx.runtime
    # The name is stored (batch, audit log): a name may carry an ID number.
    filename = redact_id_numbers(file.name)[:255]
    with ctx.audited("batch.issue", body=body_code, target=filename) as entry:
        parsed = read_results_file(
            file.read_bytes(), filename, max_rows=runtime.settings.max_batch_rows
        )
        rows = [(r.row, r.values) for r in parsed.rows]
        archive = read_photo_archive(photos) if photos is not None else None
        row_photos, photo_errors = archive_photos(runtime, body_code, rows, archive)
        with click.progressbar(
            length=len(rows),
            label=ngettext("issuing {n} certificate", "issuing {n} certificates", len(rows)),
            file=sys.stderr,
        ) as bar:
            result = issue_batch(
                runtime,
                body_code,
                rows,
                source=parsed.format,
                content_sha256=parsed.sha256,
                filename=filename,
                idempotency_key=idempotency_key,
                actor=ctx.actor.name,
                read_errors=[*parsed.errors, *photo_errors],
                progress=bar.update,
                photos=row_photos,
            )
        entry.target = result.batch_id
        entry.outcome = "replayed" if result.replayed else "ok"
        entry.detail.update(
            file=filename, certificates=len(result.certificates), photos=len(row_photos)
        )
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
        click.echo(
            gettext(
                "row {row:>5}  {number}  {name}", row=c.row, number=c.number, name=c.holder_name
            )
        )
    issued = len(result.certificates)
    if result.replayed:
        click.echo(
            ngettext(
                "already issued as batch {batch}: nothing new issued ({n} certificate)",
                "already issued as batch {batch}: nothing new issued ({n} certificates)",
                issued,
                batch=result.batch_id,
            )
        )
    elif result.superseded:
        click.echo(
            ngettext(
                "issued {n} certificate in batch {batch}, superseding {superseded}",
                "issued {n} certificates in batch {batch}, superseding {superseded}",
                issued,
                batch=result.batch_id,
                superseded=plural(
                    "{n} older certificate", "{n} older certificates", len(result.superseded)
                ),
            )
        )
    else:
        click.echo(
            ngettext(
                "issued {n} certificate in batch {batch}",
                "issued {n} certificates in batch {batch}",
                issued,
                batch=result.batch_id,
            )
        )


@cli.command()
@click.argument("number")
@click.option("--reason", required=True, help="Shown to anyone who verifies the certificate.")
@pass_ctx
def revoke(ctx: Context, number: str, reason: str) -> None:
    """Revoke a certificate."""
    from certsvc.issuance.certificates import revoke as revoke_certificate

    number = number.strip().upper()
    with ctx.audited("certificate.revoke", certificate=number, target=number) as entry:
        # The CLI acts for the platform operator: any body's certificate (body None).
        cert = revoke_certificate(ctx.runtime, None, number, reason, actor=ctx.actor.name)
        entry.detail["reason"] = reason.strip()
    click.echo(gettext("revoked {number}", number=cert.number))


@cli.command()
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show(ctx: Context, number: str, as_json: bool) -> None:
    """Show a certificate: every certified field, status and verify URL."""
    from certsvc.verify.core import certificate_fields

    runtime = ctx.runtime
    number = number.strip().upper()
    with (
        ctx.audited("certificate.view", certificate=number, target=number),
        runtime.db.session() as session,
    ):
        cert = session.scalar(select(Certificate).where(Certificate.number == number))
        if cert is None:
            raise NotFound(N_("no certificate {number}"), number=number)
        fields = certificate_fields(cert)
        fields["kid"] = cert.kid
        fields["verify_url"] = f"{runtime.settings.public_url}/v/{cert.token}"
    if as_json:
        click.echo(json.dumps(fields, ensure_ascii=False, indent=2))
        return
    rows = _shown_fields(fields)
    wide = max(width(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{pad(label, wide)}  {value}")


def _both(zh: str | None, en: str | None) -> str:
    """A name the data carries in both languages: Chinese, and in English both (the certificate
    prints both, and a person comparing it reads the Chinese)."""
    if not zh:
        return "—"
    return f"{zh} ({en})" if current_language() == "en" and en and en != zh else zh


def _shown_fields(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """`certsvc show`: every certified field under a label in the person's language."""
    issuer = fields["issuer"]
    ground = fields.get("direct_ground_name")
    route = Route(fields["route"])
    rows = [
        (gettext("Certificate number"), fields["number"]),
        (gettext("Name"), fields["holder_name"]),
        (
            gettext("ID"),
            f"{_both(fields['id_type_name'], fields['id_type_name_en'])} "
            f"{fields['id_number_masked']}",
        ),
        (gettext("Employer"), f"{fields['employer_name']} {fields['employer_uscc']}"),
        (
            gettext("Occupation"),
            f"{_both(fields['occupation_name'], fields['occupation_name_en'])} "
            f"{fields['occupation_code']}",
        ),
        (gettext("Work type"), fields["work_type"]),
        (gettext("Level"), _both(fields["level_name"], fields["level_name_en"])),
        (gettext("Issue date"), fields["issue_date"]),
        (gettext("Route"), _both(route.label_zh, route.label_en)),
    ]
    if ground:
        rows.append((gettext("Ground"), _both(ground, fields.get("direct_ground_name_en"))))
        rows.append((gettext("Evidence"), fields.get("direct_evidence") or "—"))
    rows += [
        (
            gettext("Certification body"),
            f"{_both(issuer.get('name'), issuer.get('name_en'))} {issuer.get('code')}",
        ),
        (gettext("Status"), status_name(fields["status"])),
    ]
    if fields.get("status_reason"):
        rows.append((gettext("Reason"), fields["status_reason"]))
    if fields.get("status_changed_at"):
        rows.append((gettext("Status changed"), fields["status_changed_at"]))
    rows += [
        (gettext("Signing key"), fields["kid"]),
        (gettext("Verify URL"), fields["verify_url"]),
    ]
    return rows


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
        raise InvalidInput(N_("the template file name must end in .csv or .xlsx"))
    click.echo(gettext("wrote {file}", file=output))


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
        raise InvalidInput(N_("{file} is not UTF-8 text; save it as CSV UTF-8"), file=file) from exc
    with ctx.audited("occupations.import", target=file.name[:200]) as entry:
        entries = read_catalogue_csv(text)
        with ctx.transaction() as session:
            added, updated = bodies.load_occupations(session, entries)
        entry.detail.update(added=added, updated=updated)
    click.echo(
        gettext("occupations: {added} added, {updated} updated", added=added, updated=updated)
    )


@occupations.command("list")
@pass_ctx
def occupations_list(ctx: Context) -> None:
    """List the occupations in the database."""
    with ctx.runtime.db.session() as session:
        for o in session.scalars(select(Occupation).order_by(Occupation.code)):
            flag = "" if o.verified else "  " + gettext("(code not confirmed)")
            click.echo(f"{o.code:<14} {o.name_zh} · {o.name_en}{flag}")


# Every command and group beyond the set-up and issuing ones above, registered in one place.
cli.add_command(body_commands.body)
cli.add_command(body_commands.keys)
cli.add_command(accounts.account)
cli.add_command(tokens.tokens)
cli.add_command(photos.photo)
cli.add_command(registry.registry)
cli.add_command(registry.stats)
cli.add_command(render.pdf)
cli.add_command(transparency.log_group)
cli.add_command(verify.verify)
cli.add_command(jobs.worker)
cli.add_command(jobs.jobs)
