"""Settings from the environment: defaults, secrets, and messages that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from certsvc import config
from certsvc.config import (
    RATE_LIMIT_NAMES,
    SKIP_DEV_ENV,
    Settings,
    generate_secrets,
    load_dev_env,
    read_env_file,
    write_env_settings,
)
from certsvc.errors import ConfigError
from certsvc.web.limits import DEFAULT_LIMITS


def test_public_url_follows_the_port_when_unset() -> None:
    settings = Settings.from_env({**generate_secrets(), "CERTSVC_PORT": "5077"})
    assert settings.public_url == "http://127.0.0.1:5077"
    explicit = Settings.from_env(
        {**generate_secrets(), "CERTSVC_PORT": "5077", "CERTSVC_PUBLIC_URL": "https://c.cn/"}
    )
    assert explicit.public_url == "https://c.cn"


def test_every_problem_is_reported_at_once() -> None:
    env = {
        "CERTSVC_PUBLIC_URL": "cert.example.cn",
        "CERTSVC_PORT": "http",
        "CERTSVC_ID_HASH_KEY": "c2hvcnQ=",
        "CERTSVC_SPECIAL_LEVEL_LETTERS": "T=T,C=T",
    }
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = info.value.message
    for fragment in (
        "CERTSVC_PUBLIC_URL must be an absolute http(s) URL",
        "CERTSVC_PORT must be a TCP port number",
        "CERTSVC_ID_HASH_KEY must be 32 random bytes",
        "two different letters",
        "missing secrets: CERTSVC_SECRET_KEY, CERTSVC_ID_ENCRYPTION_KEY",
    ):
        assert fragment in message


def test_one_missing_secret_is_named_in_the_singular() -> None:
    env = {k: v for k, v in generate_secrets().items() if k != "CERTSVC_KEY_PASSPHRASE"}
    with pytest.raises(ConfigError, match="missing secret: CERTSVC_KEY_PASSPHRASE —"):
        Settings.from_env(env)


# --- instance/dev.env of a checkout ---------------------------------------------------------


@pytest.fixture
def dev_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The checkout's instance/dev.env, moved to a temporary file; not skipped."""
    path = tmp_path / "instance" / "dev.env"
    path.parent.mkdir()
    monkeypatch.setattr(config, "DEV_ENV_FILE", path)
    monkeypatch.delenv(SKIP_DEV_ENV, raising=False)
    return path


def test_the_dev_env_file_fills_in_what_the_environment_does_not_say(dev_env: Path) -> None:
    dev_env.write_text(
        "# make run\nCERTSVC_PORT=5077\nexport CERTSVC_PUBLIC_URL='http://127.0.0.1:5077'\n\n"
        "CERTSVC_LOG_LEVEL=DEBUG\n"
    )
    env = {"CERTSVC_LOG_LEVEL": "WARNING"}
    assert load_dev_env(env) == dev_env
    assert env == {
        "CERTSVC_LOG_LEVEL": "WARNING",  # already set: wins
        "CERTSVC_PORT": "5077",
        "CERTSVC_PUBLIC_URL": "http://127.0.0.1:5077",
    }
    assert load_dev_env({SKIP_DEV_ENV: "1"}) is None
    skipped: dict[str, str] = {SKIP_DEV_ENV: "1"}
    load_dev_env(skipped)
    assert skipped == {SKIP_DEV_ENV: "1"}


def test_an_installed_package_reads_no_dev_env(
    dev_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No checkout (no setup.cfg beside the package): production reads its environment only."""
    dev_env.write_text("CERTSVC_PORT=5077\n")
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path / "site-packages")
    env: dict[str, str] = {}
    assert load_dev_env(env) is None and env == {}


def test_no_dev_env_file_no_change(dev_env: Path) -> None:
    env: dict[str, str] = {}
    assert load_dev_env(env) is None and env == {}


def test_a_malformed_dev_env_line_is_named(dev_env: Path) -> None:
    dev_env.write_text("CERTSVC_PORT=5077\nthis is not a setting\n")
    with pytest.raises(ConfigError, match=r"dev\.env, line 2: expected KEY=value"):
        load_dev_env({})


def test_write_env_settings_replaces_in_place_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    path.write_text("A=1\nCERTSVC_PORT=5000\n# note\nB=2\n")
    write_env_settings(path, {"CERTSVC_PORT": "5077", "CERTSVC_PUBLIC_URL": "http://x:5077"})
    assert path.read_text() == (
        "A=1\nCERTSVC_PORT=5077\n# note\nB=2\nCERTSVC_PUBLIC_URL=http://x:5077\n"
    )
    assert read_env_file(path)["CERTSVC_PUBLIC_URL"] == "http://x:5077"


def test_missing_secrets_point_to_the_dev_env_file_when_there_is_one(dev_env: Path) -> None:
    with pytest.raises(ConfigError) as without:
        Settings.from_env({})
    assert str(dev_env) not in without.value.message
    assert "run `certsvc secrets`" in without.value.message
    dev_env.write_text("CERTSVC_PORT=5077\n")
    with pytest.raises(ConfigError) as info:
        Settings.from_env({})
    assert f"development settings in {dev_env}" in info.value.message
    assert f"set -a; . {dev_env}; set +a" in info.value.message


def test_secrets_are_not_in_the_repr() -> None:
    env = generate_secrets()
    settings = Settings.from_env(env)
    for value in env.values():
        assert value not in repr(settings)


def test_short_passphrase_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 12 characters"):
        Settings.from_env({**generate_secrets(), "CERTSVC_KEY_PASSPHRASE": "short"})


def test_rate_limits_and_trusted_proxies_from_the_environment() -> None:
    defaults = Settings.from_env(generate_secrets())
    assert defaults.rate_limits == {} and defaults.trusted_proxies == 0
    settings = Settings.from_env(
        {
            **generate_secrets(),
            "CERTSVC_RATELIMIT_VERIFY": "100 per minute",
            "CERTSVC_RATELIMIT_LOOKUP_ID": " 5 per minute;50 per day ",
            "CERTSVC_TRUSTED_PROXIES": "2",
        }
    )
    assert settings.rate_limits == {
        "CERTSVC_RATELIMIT_VERIFY": "100 per minute",
        "CERTSVC_RATELIMIT_LOOKUP_ID": "5 per minute;50 per day",
    }
    assert settings.trusted_proxies == 2


def test_every_rate_limit_name_is_a_scope_of_the_limiter() -> None:
    assert set(RATE_LIMIT_NAMES) == {key for key, _ in DEFAULT_LIMITS.values()}


def test_bad_rate_limits_and_proxy_counts_stop_the_start() -> None:
    env = {
        **generate_secrets(),
        "CERTSVC_RATELIMIT_VERIFY": "lots",
        "CERTSVC_RATELIMIT_LOOKUP": "5 per fortnight",
        "CERTSVC_TRUSTED_PROXIES": "-1",
    }
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = info.value.message
    for fragment in (
        "CERTSVC_RATELIMIT_VERIFY must be one or more limits such as '30 per minute'",
        "(got 'lots')",
        "(got '5 per fortnight')",
        "CERTSVC_TRUSTED_PROXIES must be the number of reverse proxies",
    ):
        assert fragment in message
    with pytest.raises(ConfigError, match="0 to 10"):
        Settings.from_env({**generate_secrets(), "CERTSVC_TRUSTED_PROXIES": "one"})


@pytest.mark.parametrize("name", ["新疆\u202e兵团", "兵团\x1b"])
def test_a_province_name_with_invisible_characters_is_refused(name: str) -> None:
    """Province names are shown in statistics and exports like any operator's text."""
    env = {**generate_secrets(), "CERTSVC_EXTRA_PROVINCES": f"66={name}"}
    with pytest.raises(ConfigError, match="province 66"):
        Settings.from_env(env)


def test_a_number_in_other_digits_is_refused_with_a_reason_not_a_crash() -> None:
    """``"²".isdigit()`` is true, but ``int("²")`` raises."""
    with pytest.raises(ConfigError, match="CERTSVC_PORT"):
        Settings.from_env({**generate_secrets(), "CERTSVC_PORT": "5²"})


def test_instance_and_key_locations_are_settings(tmp_path: Path) -> None:
    """An installed package has no checkout to keep instance/ and keys/ in: both are settings,
    and the default SQLite database lives in the instance directory."""
    settings = Settings.from_env(
        {
            **generate_secrets(),
            "CERTSVC_INSTANCE_DIR": str(tmp_path / "var"),
            "CERTSVC_KEY_DIR": str(tmp_path / "secret-keys"),
        }
    )
    assert settings.instance_dir == tmp_path / "var"
    assert settings.key_dir == tmp_path / "secret-keys"
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'certsvc.db'}"
    given = Settings.from_env(
        {
            **generate_secrets(),
            "CERTSVC_INSTANCE_DIR": str(tmp_path / "var"),
            "CERTSVC_DATABASE_URL": "postgresql+psycopg://db.example/certsvc",
        }
    )
    assert given.database_url == "postgresql+psycopg://db.example/certsvc"
