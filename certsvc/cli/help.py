"""``--help`` in the person's language.

Click reads a command's help (its docstring), its short help and each option's ``help=``
when the module is imported, in English, the message ids. :class:`HelpCommand` and
:class:`HelpGroup` translate them when the help is *formatted*, in the language the CLI root
set for the command (``CERTSVC_LANGUAGE`` or a ``zh_*`` locale), together with click's own
headings (Usage, Options, Commands).

Every command and group of ``certsvc`` is one of these (``tests/test_i18n_cli.py`` walks
the tree); :func:`help_texts` lists the texts as they are looked up, and ``scripts/i18n``
puts them in the catalogue with the code's messages, so a help text without Chinese fails
``scripts/i18n check``.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import re
from collections.abc import Iterable, Iterator

import click
from click.formatting import measure_table
from click.utils import _make_default_short_help

from certsvc.cli.columns import width
from certsvc.i18n import gettext


def help_id(text: str) -> str:
    """A command's help as the message id: the docstring cleaned as click prints it."""
    return inspect.cleandoc(text).partition("\f")[0]


def short_help(text: str, limit: int = 45) -> str:
    """The first sentence of a (translated) help *text*, at most *limit* characters: click's
    own rule for English, the text up to the first ``。`` for Chinese."""
    words = text.partition("\n\n")[0].split()
    if words and words[0] == "\b":
        words = words[1:]
    first = " ".join(words)
    if "。" not in first:
        return _make_default_short_help(text, limit)
    first = first.partition("。")[0] + "。"
    if width(first) <= limit:
        return first
    while first and width(first) > limit - 1:
        first = first[:-1]
    return first + "…"


def _label(text: str) -> str:
    """A translated label ending in a colon, followed by what it labels: ``Usage: x``,
    ``用法：x`` (a full-width colon carries its own space)."""
    return text if text.endswith("：") else text + " "


def _help_record(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """*param*'s help row with its help, and click's notes after it (``[default: …]``,
    ``[required]``), in the current language."""
    help_text = getattr(param, "help", None)
    translated = gettext(help_text) if help_text else ""
    if help_text:
        param = copy.copy(param)
        param.help = translated
    record = param.get_help_record(ctx)
    if record is None:
        return None
    name, text = record
    notes = text[len(translated) :]  # as click writes them, after the help
    notes = notes.replace("[default: ", "[" + _label(gettext("default:")))
    notes = notes.replace("required]", gettext("required") + "]")
    return name, text[: len(translated)] + notes


@contextlib.contextmanager
def _section(formatter: click.HelpFormatter, heading: str) -> Iterator[None]:
    """click's ``formatter.section`` with a translated *heading* that carries its colon."""
    formatter.write_paragraph()
    formatter.write(f"{'':>{formatter.current_indent}}{heading}\n")
    with formatter.indentation():
        yield


def wrapped(text: str, columns: int) -> str:
    """*text* with each paragraph that holds Chinese broken into lines of at most *columns*
    terminal columns, marked (``\\b``) for click to keep as they are: click wraps at spaces
    and counts a Chinese character as one column, so a Chinese line would run off the
    terminal. A line breaks between two Chinese characters or at a space, never before
    closing punctuation (which takes the character before it to the next line) nor after
    an opening bracket."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        if paragraph.startswith("\b") or width(paragraph) == len(paragraph):
            paragraphs.append(paragraph)
            continue
        lines: list[str] = []
        line: list[str] = []  # the tokens of the line being filled
        for piece in _TOKEN.findall(" ".join(paragraph.split())):
            if piece == " " and not line:
                continue
            if width(("".join(line) + piece).rstrip()) <= columns or not "".join(line).strip():
                line.append(piece)
                continue
            carried = [piece]
            if piece[0] in _CLOSING:  # it takes the character before it to the next line
                while line and line[-1][0] in _CLOSING:
                    carried.insert(0, line.pop())
                if line:
                    carried.insert(0, line.pop())
            while line and line[-1] in _OPENING:  # no line ends in an opening bracket
                carried.insert(0, line.pop())
            if not "".join(line).strip():  # nothing left to break: the line runs over
                line += carried
                continue
            lines.append("".join(line).rstrip())
            line = carried[1:] if carried[0] == " " else carried
        lines.append("".join(line).rstrip())
        paragraphs.append("\b\n" + "\n".join(lines))
    return "\n\n".join(paragraphs)


#: A wide character, a run of narrow ones, or a space (where a line may break).
_TOKEN = re.compile(
    r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]| |[^ \u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+"
)
_CLOSING = "，。、；：？！）》」』”’"
_OPENING = "（《「『“‘"


class HelpFormatter(click.HelpFormatter):
    """click's help formatter, wrapping Chinese text by terminal columns (:func:`wrapped`)."""

    def write_text(self, text: str) -> None:
        super().write_text(wrapped(text, self.width - self.current_indent))

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        if rows:
            first = min(measure_table(rows)[0], col_max) + col_spacing
            columns = max(self.width - first - 2, 10)
            rows = [(term, wrapped(text, columns)) for term, text in rows]
        super().write_dl(rows, col_max, col_spacing)


class HelpContext(click.Context):
    formatter_class = HelpFormatter


class HelpCommand(click.Command):
    """A command whose help, short help and options' help are read in the current language."""

    context_class = HelpContext

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help:
            return gettext(inspect.cleandoc(self.short_help)).strip()
        if self.help:
            return short_help(gettext(help_id(self.help)), limit).strip()
        return ""

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_label(gettext("Usage:")))

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.help:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(gettext(help_id(self.help)))

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        args = [p for p in self.get_params(ctx) if isinstance(p, click.Argument)]
        if any(arg.help is not None for arg in args):
            with _section(formatter, gettext("Positional arguments:")):
                formatter.write_dl([r for r in (_help_record(a, ctx) for a in args) if r])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = []
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):
                continue
            record = _help_record(param, ctx)
            if record is not None:
                records.append(record)
        if records:
            with _section(formatter, gettext("Options:")):
                formatter.write_dl(records)


class HelpGroup(HelpCommand, click.Group):
    """A group of :class:`HelpCommand` (and, nested, of groups like itself) whose list of
    commands shows each one's short help in the current language."""

    command_class = HelpCommand
    group_class: type[click.Group] | type[type] = type  # a subgroup: the class of its parent

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        HelpCommand.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
            with _section(formatter, gettext("Commands:")):
                formatter.write_dl(rows)


def walk(
    command: click.Command, parent: click.Context | None = None, name: str = "certsvc"
) -> Iterator[tuple[click.Command, click.Context]]:
    """*command* and every command under it, each with a context to ask for its params."""
    ctx = click.Context(command, parent=parent, info_name=name)
    yield command, ctx
    if isinstance(command, click.Group):
        for sub_name, sub in sorted(command.commands.items()):
            yield from walk(sub, ctx, sub_name)


def help_texts(command: click.Command) -> list[str]:
    """Every help text under *command*, as :class:`HelpCommand` looks it up: each command's
    cleaned help and explicit short help, each parameter's help (the help and version
    options too)."""
    found: dict[str, None] = {}
    for each, ctx in walk(command):
        if each.help:
            found[help_id(each.help)] = None
        if each.short_help:
            found[inspect.cleandoc(each.short_help)] = None
        for param in each.get_params(ctx):
            text = getattr(param, "help", None)
            if text:
                found[text] = None
    return list(found)
