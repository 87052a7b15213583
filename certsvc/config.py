"""Settings from the environment (``CERTSVC_*``), read in one place.

Secrets (the Flask session key, the ID-number hashing and encryption keys, the signing-key
passphrase) have no defaults: a missing one stops the service with a message that says how to
make one (``certsvc secrets``). ``make run`` generates development secrets once into
``instance/dev.env`` and says so; that file also keeps the port and public URL ``make run``
serves with, and the ``certsvc`` command run from the checkout reads it
(:func:`load_dev_env`), so other commands need nothing exported.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

from certsvc.domain.text import check_text
from certsvc.errors import CertsvcError, ConfigError
from certsvc.i18n import N_, Message, joined, plural

#: Where the package's repository root is, when it runs from a source checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    """Where ``instance/`` and ``keys/`` go unless CERTSVC_INSTANCE_DIR / CERTSVC_KEY_DIR say.

    A source checkout keeps them at its root (what ``make run`` uses); an installed package
    has no such root (it lives in site-packages), so there they go in the working directory.
    """
    return PROJECT_ROOT if (PROJECT_ROOT / "setup.cfg").is_file() else Path.cwd()


DEFAULT_INSTANCE_DIR = _default_home() / "instance"
#: Development settings of a source checkout: ``make run`` writes them (``certsvc secrets
#: --env-file``) and the ``certsvc`` command reads them (:func:`load_dev_env`).
DEV_ENV_FILE = PROJECT_ROOT / "instance" / "dev.env"
#: Set to 1 to keep the ``certsvc`` command from reading :data:`DEV_ENV_FILE` (as
#: FLASK_SKIP_DOTENV does for Flask's ``.env``).
SKIP_DEV_ENV = "CERTSVC_SKIP_DEV_ENV"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_INSTANCE_DIR / 'certsvc.db'}"
#: The embedded job queue for one machine (``make run``); production gives a redis:// URL.
DEFAULT_JOB_QUEUE_URL = f"sqlite:///{DEFAULT_INSTANCE_DIR / 'job-queue.sqlite'}"

#: Rate limits that may be set from the environment, one per scope of
#: :mod:`certsvc.web.limits` (whose table holds the defaults); each is a ``limits`` string such
#: as ``10 per minute;200 per day``. The names are also the app.config keys.
RATE_LIMIT_NAMES = (
    "CERTSVC_RATELIMIT_VERIFY",
    "CERTSVC_RATELIMIT_LOOKUP",
    "CERTSVC_RATELIMIT_LOOKUP_ID",
    "CERTSVC_RATELIMIT_LOGIN",
)

SECRET_NAMES = (
    "CERTSVC_SECRET_KEY",
    "CERTSVC_ID_HASH_KEY",
    "CERTSVC_ID_ENCRYPTION_KEY",
    "CERTSVC_KEY_PASSPHRASE",
)


@dataclass(frozen=True)
class Settings:
    """Everything the service can be told from outside. Build with :meth:`from_env`."""

    database_url: str = DEFAULT_DATABASE_URL
    #: A streaming replica of the database for verification look-ups (PostgreSQL only).
    database_read_url: str | None = None
    public_url: str = "http://127.0.0.1:5000"
    port: int = 5000
    key_dir: Path = _default_home() / "keys"
    #: Local files of this installation: the SQLite database by default, demo log-ins.
    instance_dir: Path = DEFAULT_INSTANCE_DIR
    secret_key: str = field(default="", repr=False)
    id_hash_key: bytes = field(default=b"", repr=False)
    id_encryption_key: bytes = field(default=b"", repr=False)
    key_passphrase: bytes = field(default=b"", repr=False)
    #: Letters for 特级技师 / 首席技师 numbers; their format is not confirmed (DOMAIN.md).
    special_level_letters: Mapping[str, str] = field(default_factory=lambda: {"T": "T", "C": "C"})
    #: Province codes beyond GB/T 2260's list, e.g. 66 for 新疆生产建设兵团 (not confirmed).
    extra_provinces: Mapping[str, str] = field(default_factory=lambda: {"66": "新疆生产建设兵团"})
    max_batch_rows: int = 10_000
    redis_url: str | None = None
    #: Rate limits given in the environment, by name (:data:`RATE_LIMIT_NAMES`); the others
    #: keep the defaults of :mod:`certsvc.web.limits`.
    rate_limits: Mapping[str, str] = field(default_factory=dict)
    #: Reverse proxies in front of the app that append to X-Forwarded-For (0: none, the
    #: client connects directly). Only then is X-Forwarded-For believed, N hops deep.
    trusted_proxies: int = 0
    log_level: str = "INFO"
    sql_echo: bool = False
    #: Where jobs wait for a worker: ``redis://…`` (production, several machines) or
    #: ``sqlite:///PATH`` (one machine). Unset: CERTSVC_REDIS_URL if given, else SQLite.
    job_queue_url: str = DEFAULT_JOB_QUEUE_URL
    #: Name of the queue (the key prefix in Redis): runtime sharing a Redis keep apart.
    job_queue_name: str = "certsvc"
    #: A running job whose worker has not reported for this long is given to another worker.
    job_lease_seconds: int = 60
    #: How long a job's result (a ZIP, a PDF, an export) can be downloaded.
    job_result_ttl_hours: int = 72
    #: Bearer token that ``/metrics`` asks for; unset, ``/metrics`` answers 404.
    metrics_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default: ``os.environ``).

        Raises :class:`ConfigError` naming every missing or malformed variable at once.
        """
        env = os.environ if environ is None else environ
        problems: list[Message] = []

        def get(name: str, default: str) -> str:
            return env.get(name, default).strip() or default

        port_text = get("CERTSVC_PORT", str(cls.port))
        port = (
            int(port_text)
            if port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536
            else 0
        )
        if not port:
            problems.append(
                Message(
                    N_("CERTSVC_PORT must be a TCP port number (got {port_text!r})"),
                    port_text=port_text,
                )
            )
        # Unset, the public URL is the local development server's, on whatever port it uses.
        local = f"http://127.0.0.1:{port or cls.port}"
        public_url = get("CERTSVC_PUBLIC_URL", local).rstrip("/")
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                Message(
                    N_(
                        "CERTSVC_PUBLIC_URL must be an absolute http(s) URL, e.g. "
                        "https://cert.example.cn (got {public_url!r})"
                    ),
                    public_url=public_url,
                )
            )
        rows_text = get("CERTSVC_MAX_BATCH_ROWS", str(cls.max_batch_rows))
        max_rows = (
            int(rows_text)
            if rows_text.isascii() and rows_text.isdigit() and int(rows_text) > 0
            else 0
        )
        if not max_rows:
            problems.append(
                Message(
                    N_("CERTSVC_MAX_BATCH_ROWS must be a positive number (got {rows_text!r})"),
                    rows_text=rows_text,
                )
            )

        proxies_text = get("CERTSVC_TRUSTED_PROXIES", "0")
        proxies = int(proxies_text) if proxies_text.isascii() and proxies_text.isdigit() else -1
        if not 0 <= proxies <= 10:
            problems.append(
                Message(
                    N_(
                        "CERTSVC_TRUSTED_PROXIES must be the number of reverse proxies in front of "
                        "certsvc, 0 to 10 (got {proxies_text!r})"
                    ),
                    proxies_text=proxies_text,
                )
            )
        instance_dir = Path(get("CERTSVC_INSTANCE_DIR", str(cls.instance_dir)))
        redis_url = env.get("CERTSVC_REDIS_URL") or None
        job_queue_url = get(
            "CERTSVC_JOB_QUEUE_URL",
            redis_url or f"sqlite:///{instance_dir / 'job-queue.sqlite'}",
        )
        if not job_queue_url.startswith(("redis://", "rediss://", "unix://", "sqlite:///")):
            problems.append(
                Message(
                    N_(
                        "CERTSVC_JOB_QUEUE_URL must be redis://HOST:PORT/DB or sqlite:///PATH (got "
                        "{job_queue_url!r})"
                    ),
                    job_queue_url=job_queue_url,
                )
            )
        lease = _positive(
            get("CERTSVC_JOB_LEASE_SECONDS", "60"), "CERTSVC_JOB_LEASE_SECONDS", 3, problems
        )
        ttl = _positive(
            get("CERTSVC_JOB_RESULT_TTL_HOURS", "72"), "CERTSVC_JOB_RESULT_TTL_HOURS", 1, problems
        )
        metrics_token = env.get("CERTSVC_METRICS_TOKEN", "").strip()
        if metrics_token and len(metrics_token) < 16:
            problems.append(
                Message(N_("CERTSVC_METRICS_TOKEN must be at least 16 characters long"))
            )
        letters = _parse_letters(get("CERTSVC_SPECIAL_LEVEL_LETTERS", "T=T,C=C"), problems)
        extra = _parse_provinces(get("CERTSVC_EXTRA_PROVINCES", "66=新疆生产建设兵团"), problems)

        settings = cls(
            database_url=get("CERTSVC_DATABASE_URL", f"sqlite:///{instance_dir / 'certsvc.db'}"),
            database_read_url=env.get("CERTSVC_DATABASE_READ_URL", "").strip() or None,
            instance_dir=instance_dir,
            public_url=public_url,
            port=port,
            key_dir=Path(get("CERTSVC_KEY_DIR", str(cls.key_dir))),
            secret_key=env.get("CERTSVC_SECRET_KEY", ""),
            id_hash_key=_key_bytes(env, "CERTSVC_ID_HASH_KEY", problems),
            id_encryption_key=_key_bytes(env, "CERTSVC_ID_ENCRYPTION_KEY", problems),
            key_passphrase=env.get("CERTSVC_KEY_PASSPHRASE", "").encode(),
            special_level_letters=letters,
            extra_provinces=extra,
            max_batch_rows=max_rows or cls.max_batch_rows,
            redis_url=redis_url,
            rate_limits=_parse_rate_limits(env, problems),
            trusted_proxies=max(proxies, 0),
            log_level=get("CERTSVC_LOG_LEVEL", "INFO").upper(),
            sql_echo=env.get("CERTSVC_SQL_ECHO", "") == "1",
            job_queue_url=job_queue_url,
            job_queue_name=get("CERTSVC_JOB_QUEUE_NAME", "certsvc"),
            job_lease_seconds=lease,
            job_result_ttl_hours=ttl,
            metrics_token=metrics_token,
        )
        missing = [name for name in SECRET_NAMES if not env.get(name, "")]
        if missing:
            problems.append(_missing_secrets(missing))
        if len(settings.key_passphrase) and len(settings.key_passphrase) < 12:
            problems.append(
                Message(N_("CERTSVC_KEY_PASSPHRASE must be at least 12 characters long"))
            )
        if problems:
            raise ConfigError(N_("configuration problem: {problems}"), problems=joined(problems))
        return settings

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (used by tests and the CLI)."""
        return replace(self, **changes)


def _missing_secrets(missing: list[str]) -> Message:
    """What to do about missing secrets: in a checkout with development settings, where they
    are; else how to make a set."""
    names = ", ".join(missing)
    dev_env = dev_env_file()
    if dev_env is not None:
        return plural(
            "missing secret: {names} — this checkout keeps its development settings in "
            "{file}, which the `certsvc` command reads (variables already set win); add the "
            "missing lines there (`certsvc secrets` prints a fresh set) or export them, e.g. "
            "`set -a; . {file}; set +a`",
            "missing secrets: {names} — this checkout keeps its development settings in "
            "{file}, which the `certsvc` command reads (variables already set win); add the "
            "missing lines there (`certsvc secrets` prints a fresh set) or export them, e.g. "
            "`set -a; . {file}; set +a`",
            len(missing),
            names=names,
            file=str(dev_env),
        )
    return plural(
        "missing secret: {names} — run `certsvc secrets` to generate a set, keep "
        "them in your secret store (never in git), and export them before starting "
        "certsvc",
        "missing secrets: {names} — run `certsvc secrets` to generate a set, keep "
        "them in your secret store (never in git), and export them before starting "
        "certsvc",
        len(missing),
        names=names,
    )


def dev_env_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The checkout's ``instance/dev.env`` (:data:`DEV_ENV_FILE`) if certsvc runs from a
    source checkout that has one and ``CERTSVC_SKIP_DEV_ENV`` is not set; else None.

    An installed package has no checkout, so it never reads development settings: a
    production host is configured by its environment alone.
    """
    env = os.environ if environ is None else environ
    if env.get(SKIP_DEV_ENV, "").strip() not in ("", "0"):
        return None
    if not (PROJECT_ROOT / "setup.cfg").is_file() or not DEV_ENV_FILE.is_file():
        return None
    return DEV_ENV_FILE


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file as ``make run`` writes it (blank lines, ``#``
    comments, ``export`` and quotes around a value allowed). Raises ConfigError, naming the
    line, for anything else."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(
                N_("{file}, line {number}: expected KEY=value, got {line}"),
                file=str(path),
                number=number,
                line=repr(line[:40]),
            )
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load_dev_env(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Set the variables of the checkout's ``instance/dev.env`` in ``environ`` (default:
    ``os.environ``) that are not set there yet, as Flask's CLI reads ``.env``; return the
    file read, or None (no checkout, no file, or ``CERTSVC_SKIP_DEV_ENV``)."""
    env = os.environ if environ is None else environ
    path = dev_env_file(env)
    if path is None:
        return None
    for key, value in read_env_file(path).items():
        env.setdefault(key, value)
    return path


def write_env_settings(path: Path, settings: Mapping[str, str]) -> None:
    """Set ``settings`` (name: value) in the env file at ``path``: a line already there is
    replaced where it stands, a new one appended; every other line is kept as it was."""
    lines = path.read_text(encoding="utf-8").splitlines()
    todo = dict(settings)
    for index, line in enumerate(lines):
        key = line.strip().removeprefix("export ").partition("=")[0].strip()
        if key in todo:
            lines[index] = f"{key}={todo.pop(key)}"
    lines += [f"{key}={value}" for key, value in todo.items()]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _positive(text: str, name: str, minimum: int, problems: list[Message]) -> int:
    """A whole number of at least ``minimum``; 0 (reported in ``problems``) otherwise."""
    if text.isascii() and text.isdigit() and int(text) >= minimum:
        return int(text)
    problems.append(
        Message(
            N_("{name} must be a whole number of at least {minimum} (got {text!r})"),
            name=name,
            minimum=minimum,
            text=text,
        )
    )
    return 0


def _key_bytes(env: Mapping[str, str], name: str, problems: list[Message]) -> bytes:
    """A 32-byte key given as base64 (or hex) text; empty when unset (reported elsewhere)."""
    text = env.get(name, "").strip()
    if not text:
        return b""
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        problems.append(
            Message(N_("{name} must be 32 random bytes, base64- or hex-encoded"), name=name)
        )
        return b""
    return raw


def _parse_letters(text: str, problems: list[Message]) -> dict[str, str]:
    """``T=T,C=C`` → {level code: letter} for 特级技师 (T) and 首席技师 (C) numbers."""
    letters: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        level, _, letter = part.partition("=")
        if level not in ("T", "C") or len(letter) != 1 or not ("A" <= letter <= "Z"):
            problems.append(
                Message(
                    N_(
                        "CERTSVC_SPECIAL_LEVEL_LETTERS must look like T=T,C=C (level code T or C = "
                        "one uppercase letter)"
                    )
                )
            )
            return {"T": "T", "C": "C"}
        letters[level] = letter
    if set(letters) != {"T", "C"} or letters["T"] == letters["C"]:
        problems.append(
            Message(N_("CERTSVC_SPECIAL_LEVEL_LETTERS needs two different letters, for T and C"))
        )
        return {"T": "T", "C": "C"}
    return letters


def _parse_rate_limits(env: Mapping[str, str], problems: list[Message]) -> dict[str, str]:
    """The rate limits set in *env*, each checked with the ``limits`` library's parser."""
    given: dict[str, str] = {}
    for name in RATE_LIMIT_NAMES:
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            valid = bool(parse_many(text))
        except ValueError:
            valid = False
        if not valid:
            problems.append(
                Message(
                    N_(
                        "{name} must be one or more limits such as '30 per minute' or '10 per "
                        "minute;200 per day' (got {text!r})"
                    ),
                    name=name,
                    text=text,
                )
            )
            continue
        given[name] = text
    return given


def _parse_provinces(text: str, problems: list[Message]) -> dict[str, str]:
    extra: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, _, name = part.partition("=")
        if len(code) != 2 or not (code.isascii() and code.isdigit()) or not name:
            problems.append(
                Message(N_("CERTSVC_EXTRA_PROVINCES must look like 66=新疆生产建设兵团"))
            )
            return {}
        try:  # the name is shown in statistics and exports, like any operator's text
            check_text(f"name of province {code} in CERTSVC_EXTRA_PROVINCES", name)
        except CertsvcError as exc:
            problems.append(exc.text)
            return {}
        extra[code] = name
    return extra


def generate_secrets() -> dict[str, str]:
    """A fresh set of every secret certsvc needs, as environment assignments."""
    return {
        "CERTSVC_SECRET_KEY": secrets.token_urlsafe(32),
        "CERTSVC_ID_HASH_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "CERTSVC_ID_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "CERTSVC_KEY_PASSPHRASE": secrets.token_urlsafe(24),
    }
