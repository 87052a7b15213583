"""accounts.pending, the registry_admin role, an audit index for the log-in brakes

An operator no longer mints registry tokens (a new ``registry_admin`` role does), and a body
admin an operator creates waits, ``pending``, until someone else activates it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_ROLES = "role IN ('admin', 'issuer', 'viewer', 'operator', 'registry')"
_NEW_ROLES = "role IN ('admin', 'issuer', 'viewer', 'operator', 'registry_admin', 'registry')"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.drop_constraint(op.f("ck_accounts_role"), type_="check")
        batch.create_check_constraint("role", _NEW_ROLES)
    # The log-in brakes count one user name's recent attempts in the audit log.
    with op.batch_alter_table("audit_log") as batch:
        batch.create_index("ix_audit_log_actor_action", ["actor", "action", "occurred_at"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_actor_action")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(op.f("ck_accounts_role"), type_="check")
        batch.create_check_constraint("role", _OLD_ROLES)
        batch.drop_column("pending")
