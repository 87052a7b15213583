"""The command line speaks the person's language: Chinese with CERTSVC_LANGUAGE=zh or a zh_*
locale, English otherwise — its summaries and its errors alike, with the same exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from certsvc.cli.main import cli
from certsvc.config import generate_secrets
from certsvc.i18n import current_language

#: The variables that choose the language, cleared so the test's own locale does not count.
_LANGUAGE_VARIABLES = ("CERTSVC_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

CHINESE = {"CERTSVC_LANGUAGE": "zh"}
CHINESE_LOCALE = {"LANG": "zh_CN.UTF-8"}
ENGLISH: dict[str, str] = {}


@pytest.fixture
def run(database_url: str, tmp_path: Path) -> CliRunner:
    env: dict[str, str | None] = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": database_url,
        "CERTSVC_KEY_DIR": str(tmp_path / "keys"),
        "CERTSVC_PUBLIC_URL": "https://cert.example.cn",
        "CERTSVC_JOB_QUEUE_URL": f"sqlite:///{tmp_path / 'job-queue.sqlite'}",
        **dict.fromkeys(_LANGUAGE_VARIABLES),
    }
    return CliRunner(env=env)


def invoke(runner: CliRunner, language: dict[str, str], *args: str) -> Result:
    return runner.invoke(cli, list(args), env=language, catch_exceptions=False)


@pytest.mark.parametrize("language", [CHINESE, CHINESE_LOCALE], ids=["CERTSVC_LANGUAGE", "LANG"])
def test_commands_answer_in_chinese(run: CliRunner, language: dict[str, str]) -> None:
    ready = invoke(run, language, "init")
    assert ready.exit_code == 0, ready.output
    assert "数据库已就绪" in ready.stdout and "database ready" not in ready.stdout

    missing = invoke(run, language, "show", "Y000132010001264999999")
    assert missing.exit_code == 66  # NotFound's exit code, whatever the language
    assert missing.stderr.strip() == "错误：没有证书 Y000132010001264999999"

    seal = invoke(run, language, "body", "seal", "Y0001")  # neither FILE nor --remove
    assert seal.exit_code == 65
    assert "请提供印章文件 FILE（PNG 或 SVG），或使用 --remove" in seal.stderr


def test_commands_answer_in_english_without_a_chinese_setting(run: CliRunner) -> None:
    ready = invoke(run, ENGLISH, "init")
    assert ready.exit_code == 0, ready.output
    assert "database ready" in ready.stdout and "数据库" not in ready.stdout

    missing = invoke(run, ENGLISH, "show", "Y000132010001264999999")
    assert missing.exit_code == 66
    assert missing.stderr.strip() == "error: no certificate Y000132010001264999999"


def test_an_english_locale_and_an_unknown_language_give_english(run: CliRunner) -> None:
    for language in ({"LANG": "en_US.UTF-8"}, {"CERTSVC_LANGUAGE": "fr"}):
        missing = invoke(run, language, "show", "Y000132010001264999999")
        assert missing.stderr.startswith("error: no certificate"), language


def test_certsvc_language_wins_over_the_locale(run: CliRunner) -> None:
    missing = invoke(
        run, {"CERTSVC_LANGUAGE": "en", "LANG": "zh_CN.UTF-8"}, "show", "Y000132010001264999999"
    )
    assert missing.stderr.startswith("error: no certificate")


def test_a_command_leaves_the_callers_language_alone(run: CliRunner) -> None:
    """The CLI sets the language for the command only: code that ran it in the same process
    (a test, a script importing certsvc) keeps speaking its own."""
    before = current_language()
    invoke(run, CHINESE, "show", "Y000132010001264999999")
    assert current_language() == before


def test_plurals_read_naturally(run: CliRunner, tmp_path: Path) -> None:
    assert invoke(run, ENGLISH, "init").exit_code == 0
    english = invoke(run, ENGLISH, "seal-salts")
    assert english.stdout.strip() == "nothing to seal: no ID commitment salt is stored in clear"
    chinese = invoke(run, CHINESE, "seal-salts")
    assert chinese.stdout.strip() == "无需封存：没有以明文存储的证件承诺盐值"
