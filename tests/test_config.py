"""Settings from the environment: defaults, secrets, and messages that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from certsvc.config import RATE_LIMIT_NAMES, Settings, generate_secrets
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
        "missing secrets: CERTSVC_SECRET_KEY",
    ):
        assert fragment in message


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
