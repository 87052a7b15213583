"""The README's table "Exit codes" lists every code the ``certsvc`` command can exit with, and
no other."""

from __future__ import annotations

import re
from pathlib import Path

import click
from click.testing import CliRunner

from certsvc import errors
from certsvc.cli.main import cli
from certsvc.cli.verify import EXIT_CODES

ROOT = Path(__file__).resolve().parent.parent


def _readme_table() -> dict[int, str]:
    """Code: meaning, from the table under the CLI tour."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("| code | meaning |")
    table = text[start : text.index("\n\n", start)]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", table, flags=re.MULTILINE)
    assert len(rows) == table.count("\n") - 1, "a row of the table is not `| code | text |`"
    return {int(code): meaning for code, meaning in rows}


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def _codes_in_the_code() -> set[int]:
    from_errors = {errors.CertsvcError.exit_code} | {
        c.exit_code for c in _subclasses(errors.CertsvcError)
    }
    # click: a usage error, and Abort (Ctrl-C at a prompt), which standalone mode exits 1 for.
    from_click = {click.exceptions.UsageError.exit_code, 1}
    return {0} | from_errors | set(EXIT_CODES.values()) | from_click


def test_the_readme_lists_every_exit_code_and_no_other() -> None:
    table = _readme_table()
    assert set(table) == _codes_in_the_code()
    assert sorted(table) == list(table), "keep the table in code order"


def test_each_verify_status_is_named_on_its_row() -> None:
    table = _readme_table()
    for status, code in EXIT_CODES.items():
        if code:
            assert table[code].startswith(f"`certsvc verify`: {status}"), (code, table[code])


def test_the_commands_use_no_exit_code_of_their_own() -> None:
    """A literal status in a command would escape the table: codes come from the errors and
    from verify's EXIT_CODES."""
    literal = re.compile(
        r"(?:Exit|sys\.exit|ctx\.exit)\(\s*\d|,\s*\d\d\s*(?:#.*)?$|^\s+\d\d,\s*(?:#.*)?$", re.M
    )
    for path in sorted((ROOT / "certsvc" / "cli").glob("*.py")):
        hits = [m.group(0) for m in literal.finditer(path.read_text(encoding="utf-8"))]
        assert not hits, (path.name, hits)


def test_usage_errors_exit_with_2() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2 and 2 in _readme_table()
