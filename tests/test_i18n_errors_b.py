"""Every error a person reads is a message id in the catalogue, not English baked into code.

An AST lint over the packages converted to message ids: each construction of a
:class:`~certsvc.errors.CertsvcError` subclass passes ``N_("…")`` (with a keyword for every
``{placeholder}``, and no keyword the id does not use), a :class:`~certsvc.i18n.Message`, or a
variable holding one — never an f-string, a bare literal or a string pasted together, which
would reach a Chinese reader in English.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from certsvc import errors

ROOT = Path(__file__).resolve().parent.parent / "certsvc"

#: The packages and top-level modules converted to message ids (relative to certsvc/).
CONVERTED = (
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

#: Keywords of error constructors that are not message parameters.
NOT_PARAMETERS = {"token_id", "retry_after"}


def _error_classes() -> set[str]:
    found: set[str] = set()
    pending: list[type] = [errors.CertsvcError]
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return found


ERRORS = _error_classes()


def _files() -> Iterator[Path]:
    for name in CONVERTED:
        path = ROOT / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def problems_in(source: str) -> list[str]:
    """What is wrong with the error messages constructed in *source* (one line each)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _called_name(node) not in ERRORS or not node.args:
            continue
        if _called_name(node) in ("BatchRejected", "UnrenderableText"):
            continue  # they build their message themselves from structured arguments
        where = f"line {node.lineno}: {_called_name(node)}"
        message = node.args[0]
        if isinstance(message, ast.Constant | ast.JoinedStr | ast.BinOp):
            found.append(f"{where} gets text, not N_(…) with parameters")
        elif isinstance(message, ast.Call) and _called_name(message) in ("format", "join", "str"):
            found.append(f"{where} gets text built with {_called_name(message)}()")
        elif isinstance(message, ast.Call) and _called_name(message) == "N_":
            literal = message.args[0] if message.args else None
            if not (isinstance(literal, ast.Constant) and isinstance(literal.value, str)):
                found.append(f"{where}: N_() takes one literal message id")
                continue
            wanted = _fields(literal.value)
            given = {k.arg for k in node.keywords if k.arg} - (NOT_PARAMETERS - wanted)
            if given != wanted:
                found.append(f"{where}: {sorted(wanted)} in the id, {sorted(given)} given")
    return found


@pytest.mark.parametrize("path", list(_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_errors_are_raised_with_message_ids(path: Path) -> None:
    assert problems_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('raise NotFound(f"no certificate {n}")', "gets text"),
        ('raise NotFound("no certificate")', "gets text"),
        ('raise NotFound("no certificate " + n)', "gets text"),
        ('raise NotFound("no certificate {n}".format(n=n))', "built with format()"),
        ('raise NotFound(N_("no certificate {number}"))', "['number'] in the id, [] given"),
        ('raise NotFound(N_("no certificate {number}"), n=n)', "['number'] in the id, ['n']"),
        ('raise NotFound(N_(f"no certificate {n}"))', "one literal message id"),
        ('error = InvalidSignature("the signature does not match")', "gets text"),
    ],
)
def test_the_lint_finds_text_that_bypasses_the_catalogue(source: str, problem: str) -> None:
    [found] = problems_in(source)
    assert problem in found


def test_the_lint_accepts_message_ids_and_messages() -> None:
    source = "\n".join(
        [
            'raise NotFound(N_("no certificate {number}"), number=n)',
            'raise Unauthenticated(N_("token {t} revoked"), t=t, token_id=3)',
            "raise SigningKeyError(exc.text) from exc",
            'raise StatusListConflict(plural("{n} list", "{n} lists", k))',
            'raise ConfigError(N_("configuration problem: {p}"), p=joined(problems))',
            'raise ValueError(f"a programming error, {x}")',
        ]
    )
    assert problems_in(source) == []
