"""Errors in the reader's language (issue #19, point 1).

1. A lint over the code: in the converted packages every error is built from a message id
   (``N_("…")``), a :class:`~certsvc.i18n.Message`/``plural`` or a name bound to one — never an
   f-string or a bare literal, which the catalogue cannot hold.
2. Every message id raised with every :class:`~certsvc.errors.CertsvcError` subclass has a
   Chinese text in the catalogue, and that text renders with the id's parameters.
3. A results file full of the usual mistakes, validated in Chinese, gives row errors that are
   all Chinese.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

import certsvc
from certsvc.errors import BatchRejected, CertsvcError, RowError
from certsvc.i18n import Message, translations, use_language
from certsvc.issuance.columns import COLUMNS
from certsvc.issuance.rows import read_results_file
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, OTHER_USCC, csv_file, logged_in, person_id, row

ROOT = Path(certsvc.__file__).parent

#: Where every message a person reads is a message id. A package is added here once its
#: messages are converted; the lint then keeps it so.
CONVERTED = (
    "domain",
    "issuance",
    "holders",
    "bodies",
    "accounts",
    "models",
    "jobs",
    "errors.py",
    "signing",
    "registry",
    "transparency",
    "verify",
    "render",
    "web",
    "cli",
    "__init__.py",
    "caches.py",
    "config.py",
    "db.py",
    "logs.py",
    "metrics.py",
    "private_files.py",
    "runtime.py",
    "spreadsheets.py",
)

#: Calls that make a message out of literal text (their first argument is the message id).
_MESSAGE_MAKERS = frozenset({"N_", "Message", "plural"})


def _error_classes() -> dict[str, type[CertsvcError]]:
    """Every CertsvcError subclass, by name, once every certsvc module is imported."""
    for module in pkgutil.walk_packages([str(ROOT)], prefix="certsvc."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)
    found: dict[str, type[CertsvcError]] = {}
    pending: list[type[CertsvcError]] = [CertsvcError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


ERRORS = _error_classes()


def _takes_message(cls: type[CertsvcError]) -> bool:
    """Whether the class's first argument is its message (BatchRejected takes row errors)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return bool(params) and params[0].name == "message"


def _made_from_message_alone(cls: type[CertsvcError]) -> bool:
    """Whether ``cls(message)`` is enough (RateLimited also needs ``retry_after``)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[2:]
    return all(p.default is not p.empty or p.kind is p.VAR_KEYWORD for p in params)


def _files() -> Iterator[Path]:
    for entry in CONVERTED:
        path = ROOT / entry
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


@dataclass(frozen=True)
class Construction:
    """One place an error or a row error is made, with the message it is given."""

    where: str
    error: str  # the class, or "RowError"
    message: ast.expr | None


class _Scope:
    """The names a function binds to a message: assignments, and parameters typed Message."""

    def __init__(self, function: ast.AST | None, module: ast.Module) -> None:
        self.names: dict[str, list[ast.expr]] = {}
        self.typed: set[str] = set()
        self.message_functions = {
            f.name
            for f in ast.walk(module)
            if isinstance(f, ast.FunctionDef)
            and f.returns is not None
            and "Message" in ast.unparse(f.returns)
        }
        for node in ast.walk(function or module):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.names.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    self.names.setdefault(node.target.id, []).append(node.value)
            elif (
                isinstance(node, ast.arg)
                and node.annotation is not None
                and "Message" in ast.unparse(node.annotation)
            ):
                self.typed.add(node.arg)

    def is_message(self, node: ast.expr, depth: int = 0) -> bool:
        if isinstance(node, ast.Call):
            called = _name(node.func)
            if called == "N_":
                return _literal_id(node)
            if called == "Message":
                first = node.args[0] if node.args else None
                return first is not None and (
                    _is_literal(first) or _is_id(first) or self.is_message(first, depth + 1)
                )
            if called == "plural":
                return len(node.args) > 2 and all(_is_literal(a) for a in node.args[:2])
            return called in self.message_functions
        if isinstance(node, ast.IfExp):
            return self.is_message(node.body, depth) and self.is_message(node.orelse, depth)
        if isinstance(node, ast.Attribute) and node.attr == "text":
            return True  # an error's or a row error's Message (exc.text)
        if isinstance(node, ast.Name) and depth < 3:
            if node.id in self.typed:
                return True
            bound = self.names.get(node.id, [])
            return bool(bound) and all(self.is_message(v, depth + 1) for v in bound)
        return False


def _is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_id(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) == "N_" and _literal_id(node)


def _literal_id(call: ast.Call) -> bool:
    """``N_("…")`` with one plain string literal: what the extractor can read."""
    return (
        len(call.args) == 1
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    )


def _constructions(path: Path) -> Iterator[tuple[Construction, _Scope]]:
    module = ast.parse(path.read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(module) if isinstance(n, ast.FunctionDef)]
    innermost: dict[int, ast.FunctionDef] = {}
    for function in functions:  # outer functions first: inner ones overwrite them
        for node in ast.walk(function):
            innermost[id(node)] = function
    scopes: dict[int, _Scope] = {}
    for node in ast.walk(module):
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
        if (
            called == "of"
            and isinstance(node.func, ast.Attribute)
            and _name(node.func.value) == ("RowError")
        ) or called == "RowError":
            found = Construction(where, "RowError", node.args[2] if len(node.args) > 2 else None)
        elif called in ERRORS and _takes_message(ERRORS[called]):
            found = Construction(where, called, node.args[0] if node.args else None)
        else:
            continue
        function = innermost.get(id(node))
        key = id(function) if function else 0
        if key not in scopes:
            scopes[key] = _Scope(function, module)
        yield found, scopes[key]


def _all_constructions() -> list[tuple[Construction, _Scope]]:
    return [found for path in _files() for found in _constructions(path)]


CONSTRUCTIONS = _all_constructions()


def test_the_lint_sees_the_errors_of_every_converted_package() -> None:
    seen = {c.where.split(":")[0].split("/")[1] for c, _ in CONSTRUCTIONS}
    assert seen >= {p for p in CONVERTED if (ROOT / p).is_dir()}
    assert len(CONSTRUCTIONS) > 150


def test_every_error_is_made_from_a_message_id() -> None:
    wrong = [
        f"{c.where}: {c.error}({ast.unparse(c.message) if c.message else ''})"
        for c, scope in CONSTRUCTIONS
        if c.message is None or not scope.is_message(c.message)
    ]
    assert wrong == [], "errors built from text the catalogue cannot hold:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "source",
    [
        'raise InvalidLevel(f"no level {x}")',
        'raise InvalidLevel("no such level")',
        'raise InvalidLevel(N_(f"no level {x}"))',
        'raise InvalidLevel(N_("no level " + x))',
        'errors.append(RowError.of(2, "level", f"{label}: {problem}"))',
        "text = f'no level {x}'\nraise InvalidLevel(text)",
        'raise InvalidLevel(Message(f"no level {x}"))',
        'raise InvalidLevel(plural(f"{x} level", "{n} levels", 2))',
    ],
)
def test_the_lint_refuses_text_that_is_not_a_message_id(source: str) -> None:
    module = ast.parse("def f(x, label, problem):\n    " + source.replace("\n", "\n    "))
    function = module.body[0]
    scope = _Scope(function, module)
    calls = [
        n
        for n in ast.walk(module)
        if isinstance(n, ast.Call) and _name(n.func) in {"InvalidLevel", "of"}
    ]
    message = calls[0].args[2] if _name(calls[0].func) == "of" else calls[0].args[0]
    assert not scope.is_message(message)


@pytest.mark.parametrize(
    "source",
    [
        'raise InvalidLevel(N_("no level {level}"), level=x)',
        'raise InvalidLevel(plural("{n} level", "{n} levels", 2))',
        'text = Message(N_("no level"))\nraise InvalidLevel(text)',
        "raise InvalidLevel(exc.text)",
    ],
)
def test_the_lint_accepts_message_ids(source: str) -> None:
    module = ast.parse("def f(x, exc):\n    " + source.replace("\n", "\n    "))
    scope = _Scope(module.body[0], module)
    call = next(
        n for n in ast.walk(module) if isinstance(n, ast.Call) and _name(n.func) == "InvalidLevel"
    )
    assert scope.is_message(call.args[0])


# --- every error in Chinese --------------------------------------------------------------------


def _raised_ids() -> list[tuple[str, str, str | None]]:
    """(error class, message id, plural id) for every literal message an error is made with."""
    found: set[tuple[str, str, str | None]] = set()
    for c, _ in CONSTRUCTIONS:
        node = c.message
        if isinstance(node, ast.Call) and _name(node.func) == "Message" and node.args:
            node = node.args[0]
        if not isinstance(node, ast.Call) or not node.args:
            continue
        called = _name(node.func)
        ids = [a.value for a in node.args[:2] if isinstance(a, ast.Constant)]
        if called == "N_" and _literal_id(node):
            found.add((c.error, ids[0], None))
        elif called == "plural" and len(ids) == 2:
            found.add((c.error, ids[0], ids[1]))
    return sorted(found, key=lambda f: (f[0], f[1]))


RAISED = _raised_ids()
_CJK = re.compile(r"[\u3400-\u9fff]")


def test_every_error_class_raised_here_is_checked() -> None:
    classes = {error for error, _, _ in RAISED}
    for name in ("InvalidIdNumber", "InvalidCreditCode", "BadFile", "RowError", "JobNotFinished"):
        assert name in classes
    assert classes <= set(ERRORS) | {"RowError"}


def _dummy(fields: set[str]) -> dict[str, object]:
    return {name: 2 if name == "n" else f"<{name}>" for name in fields}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize(
    ("error", "msgid", "plural_id"), RAISED, ids=[f"{e}:{m[:50]}" for e, m, _ in RAISED]
)
def test_every_error_message_has_chinese(error: str, msgid: str, plural_id: str | None) -> None:
    catalogue = translations("zh")
    chinese = catalogue.ngettext(msgid, plural_id, 1) if plural_id else catalogue.gettext(msgid)
    words = re.sub(r"\{[^}]*\}", "", msgid)
    if re.search("[A-Za-z]", words):  # not only placeholders and punctuation ("{column}: …")
        assert chinese != msgid, f"no Chinese text for {msgid!r}"
        assert _CJK.search(chinese), f"the Chinese text of {msgid!r} has no Chinese: {chinese!r}"
    params = _dummy(_fields(msgid) | _fields(plural_id or ""))
    for n in (1, 2):
        message = (
            Message(msgid, plural=plural_id, n=n, **{k: v for k, v in params.items() if k != "n"})
            if plural_id
            else Message(msgid, **params)
        )
        shown = message.in_language("zh")  # a placeholder the id lacks is a KeyError here
        assert all(f"<{name}>" in shown for name in params if name != "n")
        if error in ERRORS and _made_from_message_alone(ERRORS[error]):
            with use_language("zh"):
                assert ERRORS[error](message).message == shown


def test_column_labels_in_messages_are_the_template_headers() -> None:
    for column in COLUMNS:
        assert column.label.in_language("zh") == column.label_zh
        assert column.label.in_language("en") == column.label_en


# --- a file of mistakes, in Chinese ------------------------------------------------------------

#: Three or more English words in a row: a sentence that was not translated.
_ENGLISH_RUN = re.compile(r"\b[a-z]{2,}(?:[ ,'-]+[a-z]{2,}){2,}\b")


def _prose(message: str) -> str:
    """The message without the commands it quotes (`certsvc body member add`)."""
    return re.sub(r"`[^`]*`", "", message)


def _mistakes() -> list[dict[str, str]]:
    bad_check = person_id(1)[:-1] + ("0" if person_id(1)[-1] != "0" else "1")
    return [
        row(1, id_number=bad_check),  # the ID's check character
        row(2, level="九级"),  # no such level
        row(3, issue_date="2026-13-45"),  # not a date
        row(4, occupation_code="9-99-99-99"),  # not in the catalogue
        row(5, name="", occupation_code=""),  # empty required cells
        row(6),
        row(6),  # the same row twice
        row(7, name="张三"),
        row(7, name="李四"),  # the same ID with another name
        row(8, employer_uscc=OTHER_USCC),  # not the body nor a member
        row(9, id_type="驾驶证"),  # no such ID type
        row(10, level="学徒工"),  # no certificate for apprentices
        row(11, route="直接认定", level="四级"),  # direct certification below 三级
        row(12, corrects="=A1"),  # a formula
        row(13, employer_uscc="91320100MA1X7K3P8Z"),  # the credit code's check character
    ]


def test_a_file_of_mistakes_is_reported_in_chinese(runtime: Runtime, body: str) -> None:
    parsed = read_results_file(csv_file(_mistakes()), "结果.csv")
    rows = [(r.row, dict(r.values)) for r in parsed.rows]
    with pytest.raises(BatchRejected) as rejected:
        issue_batch(
            runtime,
            BODY_CODE,
            rows,
            source="upload",
            content_sha256=content_hash(rows),
            read_errors=parsed.errors,
        )
    errors: list[RowError] = rejected.value.errors
    assert {e.row for e in errors} == {2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16}
    with use_language("zh"):
        shown = [(e.row, e.message) for e in errors]
        summary = rejected.value.message
    english = [(r, m) for r, m in shown if not _CJK.search(m) or _ENGLISH_RUN.search(_prose(m))]
    assert english == [], "\n".join(f"row {r}: {m}" for r, m in english)
    assert summary.startswith("未发证：14 行中有")
    first = {r: m for r, m in reversed(shown)}
    assert first[2].startswith("证件号码：此身份证号码的校验码（最后一位）应为")
    assert first[3].startswith("等级：未知的等级 '九级'")
    assert first[8] == "与第 7 行相同：请删除其中一行"
    # The same errors read in English where nobody asked for Chinese.
    assert errors[0].message.startswith("ID number: the check character (last) of this ID")


def test_the_console_preview_names_the_column_once(runtime: Runtime, body: str, app: Flask) -> None:
    issuer = logged_in(app, runtime, "issuer1", "issuer", body)
    html = issuer.upload(csv_file([row(1, level="九级")])).get_data(as_text=True)
    errors = re.findall(r'<ul class="errors">(.*?)</ul>', html, re.S)
    # In the console's language, Chinese unless the account chose otherwise.
    assert len(errors) == 1 and errors[0].startswith("<li>等级：未知的等级 &#39;九级&#39;")
    assert "<strong>" not in errors[0]
