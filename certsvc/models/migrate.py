"""Running the Alembic migrations from code (``certsvc init``, tests), and the data upgrades
that need the service's keys, which Alembic does not have."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from certsvc.domain.ids import IdType
from certsvc.holders.identity import SALT_BYTES, IdVault
from certsvc.models import Holder

#: The installed package: alembic.ini and migrations/ ship inside it.
_PACKAGE = Path(__file__).resolve().parent.parent


def alembic_config(engine: Engine) -> Config:
    config = Config(str(_PACKAGE / "alembic.ini"))
    config.set_main_option("script_location", str(_PACKAGE / "migrations"))
    config.attributes["url"] = engine.url.render_as_string(hide_password=False)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


#: Holders whose commitment salt an earlier version stored in clear.
_CLEAR_SALT = func.length(Holder.id_salt) == SALT_BYTES


def clear_id_salts(session: Session) -> int:
    """How many holders still have an ID commitment salt stored in clear."""
    return session.scalar(select(func.count()).where(_CLEAR_SALT)) or 0


def seal_clear_id_salts(session: Session, vault: IdVault, *, chunk: int = 1000) -> int:
    """Seal the ID commitment salts that earlier versions stored in clear; how many.

    A clear salt next to the signed commitment and the mask lets anyone with a copy of the
    database recover the ID number (see :mod:`certsvc.holders.identity`). Idempotent: sealed salts
    are longer than :data:`~certsvc.holders.identity.SALT_BYTES` and are left alone.

    Not part of ``certsvc init`` (``certsvc seal-salts`` runs it): during a rolling upgrade
    the older servers still running would read a sealed salt as the salt itself.
    """
    sealed = 0
    while True:
        rows = session.execute(
            select(Holder.id, Holder.id_type, Holder.id_hash, Holder.id_salt)
            .where(_CLEAR_SALT)
            .order_by(Holder.id)
            .limit(chunk)
        ).all()
        for row in rows:
            value = vault.seal_salt(IdType(row.id_type), row.id_hash, bytes(row.id_salt))
            session.execute(update(Holder).where(Holder.id == row.id).values(id_salt=value))
        sealed += len(rows)
        if len(rows) < chunk:
            return sealed
