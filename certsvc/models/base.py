"""The declarative base every table derives from, and the column types they share.

Its own module so that table modules (:mod:`certsvc.models`, :mod:`certsvc.models.transparency`)
import it and not each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: certsvc stores aware UTC datetimes only")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


@dataclass(frozen=True)
class TextLimit:
    """What a person may write into a text column: at most ``max_chars`` characters, and line
    breaks only if ``multiline``. Declared once, on the column (``info=limited(...)``), and
    read with :func:`text_limit` by validation, look-ups and the API schemas."""

    max_chars: int
    multiline: bool = False


def limited(max_chars: int, *, multiline: bool = False) -> dict[str, Any]:
    """The ``info`` of a column that people write: ``mapped_column(..., info=limited(50))``."""
    return {"text_limit": TextLimit(max_chars, multiline)}


def text_limit(attribute: QueryableAttribute[Any]) -> TextLimit:
    """The :class:`TextLimit` declared on a mapped column, e.g. ``Certificate.holder_name``."""
    limit = attribute.property.columns[0].info.get("text_limit")
    if not isinstance(limit, TextLimit):
        raise LookupError(f"{attribute} declares no text limit (info=limited(...))")
    return limit


def column_length(attribute: QueryableAttribute[Any]) -> int:
    """The declared length of a ``String(n)`` column: the most it can store."""
    length = getattr(attribute.property.columns[0].type, "length", None)
    if not isinstance(length, int):
        raise LookupError(f"{attribute} is not a String(n) column")
    return length
