"""Settings from the environment: defaults, secrets, and messages that say what to do."""

from __future__ import annotations

import pytest

from certsvc.config import Settings, generate_secrets
from certsvc.errors import ConfigError


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
        "missing secret(s): CERTSVC_SECRET_KEY",
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
