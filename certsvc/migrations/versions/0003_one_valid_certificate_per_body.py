"""certificates: one valid certificate per person, occupation and level *per body*

A body may certify a person another body certified for the same occupation and level (its
own assessment, its own register); refusing it told one body of another's certificates.
Within one body the rule stays, enforced by the database as before.

Downgrading fails if a person meanwhile holds such certificates from two bodies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VALID = sa.text("status = 'valid'")


def _replace_index(columns: list[str]) -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_index("uq_certificates_one_valid")
        batch.create_index(
            "uq_certificates_one_valid",
            columns,
            unique=True,
            sqlite_where=_VALID,
            postgresql_where=_VALID,
        )


def upgrade() -> None:
    _replace_index(["holder_id", "body_id", "occupation_code", "level"])


def downgrade() -> None:
    _replace_index(["holder_id", "occupation_code", "level"])
