"""accounts.language: the console's language for each account (Chinese unless chosen)

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=8), server_default="zh", nullable=False)
        )
        batch.create_check_constraint("language", "language IN ('zh', 'en')")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(op.f("ck_accounts_language"), type_="check")
        batch.drop_column("language")
