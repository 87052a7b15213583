"""The command line speaks the person's language: Chinese with CERTSVC_LANGUAGE=zh or a zh_*
locale, English otherwise — its summaries and its errors alike, with the same exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from certsvc.cli.columns import pad, width
from certsvc.cli.help import HelpCommand, help_id, help_texts, short_help, walk, wrapped
from certsvc.cli.main import cli
from certsvc.config import generate_secrets
from certsvc.i18n import current_language, translations
from tests.conftest import BODY_CODE, BODY_USCC

#: The variables that choose the language, cleared so the test's own locale does not count.
_LANGUAGE_VARIABLES = ("CERTSVC_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

CHINESE = {"CERTSVC_LANGUAGE": "zh"}
CHINESE_LOCALE = {"LANG": "zh_CN.UTF-8"}
ENGLISH: dict[str, str] = {}
ROOT = Path(__file__).resolve().parent.parent


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


# --- --help -------------------------------------------------------------------------------


def _flat(text: str) -> str:
    """*text* without its spaces and line breaks: click rewraps help, breaking a line at a
    space or after a hyphen."""
    return "".join(text.split())


def help_of(runner: CliRunner, language: dict[str, str], *path: str) -> Result:
    shown = runner.invoke(cli, [*path, "--help"], env=language, prog_name="certsvc")
    assert shown.exit_code == 0, shown.output
    return shown


def _commands() -> list[tuple[list[str], click.Command, click.Context]]:
    return [(ctx.command_path.split()[1:], command, ctx) for command, ctx in walk(cli)]


def _english_texts(command: click.Command, ctx: click.Context) -> list[str]:
    """The English a command's --help shows: its help, its options' and its commands'."""
    texts = [help_id(command.help)] if command.help else []
    texts += [p.help for p in command.get_params(ctx) if getattr(p, "help", None) and not p.hidden]
    if isinstance(command, click.Group):  # the start of each command's short help
        texts += [sub.get_short_help_str(200)[:30] for sub in command.commands.values()]
    return [_flat(t) for t in texts if t]


def test_every_command_formats_its_help_in_the_persons_language() -> None:
    for path, command, _ in _commands():
        assert isinstance(command, HelpCommand), path


def test_the_root_help_reads_in_chinese(run: CliRunner) -> None:
    for language in (CHINESE, CHINESE_LOCALE):
        shown = help_of(run, language)
        assert shown.stdout.startswith("用法：certsvc [OPTIONS] COMMAND [ARGS]...")
        assert "签发和核验带签名的职业技能等级证书" in shown.stdout
        assert "  issue        签发 CSV 或 XLSX 成绩文件中的证书，全部签发或全部不签发。" in (
            shown.stdout
        )
        assert "选项：" in shown.stdout and "命令：" in shown.stdout
        for english in ("Usage:", "Options:", "Commands:", "Show this message", "Issue the"):
            assert english not in shown.stdout


def test_a_command_help_reads_in_chinese_with_its_options(run: CliRunner) -> None:
    shown = help_of(run, CHINESE, "issue").stdout
    assert shown.startswith("用法：certsvc issue [OPTIONS] FILE\n")
    text = _flat(shown)
    assert _flat("使用 --photos 时，按每行的证件号码从 ZIP 中取该行的照片") in text
    assert _flat("--body TEXT 签发机构的代码。 [必填]") in text
    assert _flat("--help 显示此帮助信息并退出。") in text
    for english in _english_texts(cli.commands["issue"], click.Context(cli.commands["issue"])):
        assert english not in text
    served = _flat(help_of(run, CHINESE, "serve").stdout)
    assert _flat("--host TEXT [默认：127.0.0.1]") in served


@pytest.mark.parametrize(
    ("path", "command", "ctx"),
    _commands(),
    ids=[" ".join(["certsvc", *path]) for path, _, _ in _commands()],
)
def test_every_help_renders_in_both_languages(
    run: CliRunner, path: list[str], command: click.Command, ctx: click.Context
) -> None:
    english = _english_texts(command, ctx)
    chinese = help_of(run, CHINESE, *path)
    assert chinese.stdout.startswith("用法：certsvc")
    for text in english:
        assert text not in _flat(chinese.stdout), text
    shown = help_of(run, ENGLISH, *path)
    assert shown.stdout.startswith("Usage: certsvc")
    for text in english:
        assert text in _flat(shown.stdout), text


def test_every_help_text_has_chinese() -> None:
    """What `scripts/i18n check` makes sure of, read from the compiled catalogue."""
    chinese = translations("zh")
    texts = help_texts(cli)
    assert "Show this message and exit." in texts
    assert help_id(cli.commands["issue"].help or "") in texts
    assert [t for t in texts if chinese.gettext(t) == t] == []


def test_a_short_help_is_the_first_sentence_in_either_language() -> None:
    assert short_help("Sign it. Then more.\n\nDetails.") == "Sign it."
    assert short_help("签发证书。然后继续。\n\n细节。") == "签发证书。"
    cut = short_help("签" * 40 + "。", limit=20)
    assert cut == "签" * 9 + "…"  # a Chinese character takes two columns


# --- listings -----------------------------------------------------------------------------


def _body(run: CliRunner) -> None:
    assert invoke(run, ENGLISH, "init").exit_code == 0
    created = invoke(
        run,
        ENGLISH,
        *("body", "create", "--code", BODY_CODE, "--name-zh", "南京测试装备集团有限公司"),
        *("--uscc", BODY_USCC, "--chain-leader"),
    )
    assert created.exit_code == 0, created.output


def test_body_and_key_listings_name_statuses_in_the_persons_language(run: CliRunner) -> None:
    _body(run)
    assert invoke(run, ENGLISH, "body", "suspend", BODY_CODE).exit_code == 0
    chinese = invoke(run, CHINESE, "body", "list").stdout
    assert f"{BODY_CODE}  已暂停" in chinese and "链主企业" in chinese
    assert "suspended" not in chinese and "chain-leader" not in chinese
    english = invoke(run, ENGLISH, "body", "list").stdout
    assert f"{BODY_CODE}  Suspended  chain-leader" in english

    assert invoke(run, ENGLISH, "body", "activate", BODY_CODE).exit_code == 0
    assert f"{BODY_CODE}  使用中" in invoke(run, CHINESE, "body", "list").stdout
    keys = invoke(run, CHINESE, "keys", "list").stdout
    assert f"  {BODY_CODE}  使用中" in keys and "active" not in keys
    assert f"  {BODY_CODE}  Active" in invoke(run, ENGLISH, "keys", "list").stdout
    photos = invoke(run, CHINESE, "body", "photos", BODY_CODE).stdout
    assert photos.strip() == f"{BODY_CODE}：持证人照片必需"


def test_account_and_token_listings_name_roles(run: CliRunner) -> None:
    _body(run)
    password = "correct horse battery"
    created = run.invoke(
        cli,
        ["account", "create", "--username", "hr.admin", "--role", "admin", "--body", BODY_CODE],
        input=f"{password}\n{password}\n",
        env=ENGLISH,
    )
    assert created.exit_code == 0, created.output
    chinese = invoke(run, CHINESE, "account", "list").stdout
    assert "hr.admin" in chinese and " 管理员 " in chinese and " admin " not in chinese
    assert " Admin " in invoke(run, ENGLISH, "account", "list").stdout

    token = invoke(run, ENGLISH, "tokens", "create", "--role", "registry", "--name", "全国联网查询")
    assert token.exit_code == 0, token.output
    tokens = invoke(run, CHINESE, "tokens", "list").stdout
    assert translations("zh").gettext("Registry") in tokens and " registry " not in tokens


def test_the_columns_of_a_listing_line_up_with_chinese_names() -> None:
    assert pad("已暂停", 9) == "已暂停   "  # six columns of text, three of space
    assert pad("active", 9) == "active   " and pad("chain-leader", 4) == "chain-leader"


def test_no_gettext_call_hides_in_an_f_string() -> None:
    """pybabel does not look inside an f-string: a literal translated there never reaches the
    catalogue and stays English."""
    hidden = re.compile(r"""f(["']).*\{[^{}]*\b(?:n?gettext|N_)\(\s*["']""")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "certsvc").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if hidden.search(line)
    ]
    assert found == []


def test_chinese_help_lines_fit_the_terminal(run: CliRunner) -> None:
    """click counts a Chinese character as one column; the help wraps it as the two it takes."""
    for path, _, _ in _commands():
        shown = help_of(run, CHINESE, *path).stdout
        assert [line for line in shown.splitlines() if width(line) > 80] == [], path


def test_wrapping_breaks_between_chinese_characters_not_before_punctuation() -> None:
    text = wrapped("签发" * 5 + "，完成。", 10)
    assert text == "\b\n签发签发签\n发签发签\n发，完成。"  # "，" takes "发" along
    assert wrapped("签发 ok 签发", 4) == "\b\n签发\nok\n签发"  # no line starts with a space
    assert wrapped("签发（签发）", 6) == "\b\n签发\n（签\n发）"  # nor ends in "（"
    assert wrapped("English stays as click wraps it.", 10) == "English stays as click wraps it."


def test_show_labels_every_field_in_the_persons_language(run: CliRunner) -> None:
    """`certsvc show` reads as a certificate, not as its storage keys."""
    assert invoke(run, ENGLISH, "init").exit_code == 0
    demo = invoke(run, ENGLISH, "demo")
    assert demo.exit_code == 0, demo.output
    number = re.findall(r"Y\d{21}", demo.stdout)[0]
    chinese = invoke(run, CHINESE, "show", number).stdout
    english = invoke(run, ENGLISH, "show", number).stdout
    for label in ("证书编号", "姓名", "证件", "职业", "等级", "评价机构", "状态", "核验网址"):
        assert re.search(rf"^{label} +\S", chinese, re.M), (label, chinese)
    for label in ("Certificate number", "Name", "Level", "Status", "Verify URL"):
        assert re.search(rf"^{label} +\S", english, re.M), (label, english)
    for shown in (chinese, english):
        assert not re.search(r"^[a-z_]+_[a-z_]+ ", shown, re.M), shown  # no storage key
        assert "https://cert.example.cn/v/" in shown
    assert "有效" in chinese and "Valid" in english
