"""holder_photos, certificates.photo_sha256, certification_bodies.photo_required, photo_replaced

Holder photos (issue #16): each is stored once per body as an AES-GCM sealed JPEG under its
SHA-256 (``holder_photos``); a certificate names the photo signed into its record
(``certificates.photo_sha256``, null for certificates without one). Whether a body's imports
must carry a photo per row is ``certification_bodies.photo_required``: true for bodies
created from now on, false for the bodies that exist already, which have issued without
photos so far (their admins turn it on once they hand photos over). A photo replaced later
is an event of its own, ``photo_replaced``, carrying the re-signed record.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import certsvc.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = (
    "kind IN ('issued', 'revoked', 'superseded', 'key_created', 'key_rotated', "
    "'key_compromised', 'body_created', 'body_changed')"
)
_NEW_KINDS = (
    "kind IN ('issued', 'revoked', 'superseded', 'photo_replaced', 'key_created', "
    "'key_rotated', 'key_compromised', 'body_created', 'body_changed')"
)


def upgrade() -> None:
    op.create_table(
        "holder_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", certsvc.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"],
            ["certification_bodies.id"],
            name=op.f("fk_holder_photos_body_id_certification_bodies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holder_photos")),
        sa.UniqueConstraint("body_id", "sha256", name=op.f("uq_holder_photos_body_id_sha256")),
    )
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("photo_sha256", sa.String(length=64), nullable=True))
    # Existing bodies get false (they issue without photos today); new ones default to true.
    with op.batch_alter_table("certification_bodies") as batch:
        batch.add_column(
            sa.Column("photo_required", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("certification_bodies") as batch:
        batch.alter_column("photo_required", server_default=sa.true())
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint(op.f("ck_events_kind"), type_="check")
        batch.create_check_constraint("kind", _NEW_KINDS)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint(op.f("ck_events_kind"), type_="check")
        batch.create_check_constraint("kind", _OLD_KINDS)
    with op.batch_alter_table("certification_bodies") as batch:
        batch.drop_column("photo_required")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("photo_sha256")
    op.drop_table("holder_photos")
