"""status_lists, and each certificate's revocation entry (W3C Bitstring Status List v1.0)

Certificates issued before this revision get an entry too: a random index in their body's
list, with the bit set when they are already revoked or superseded. Their signed record was
made without ``credentialStatus`` and cannot change (it is in the transparency log), so a VC
verifier learns of their revocation from the verify page; the list still counts them, so
every body's list tells the truth about all its certificates. The lists are signed when first
served (a migration holds no signing key).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:00:00
"""

import datetime as dt
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import certsvc.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: As certsvc.issuance.status: 131,072 entries, filled to three quarters at most.
SIZE = 131_072
FILL = SIZE * 3 // 4


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("assigned", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("allocated", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("credential", sa.Text(), nullable=True),
        sa.Column("kid", sa.String(length=43), nullable=True),
        sa.Column("changed_at", certsvc.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"],
            ["certification_bodies.id"],
            name=op.f("fk_status_lists_body_id_certification_bodies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
        sa.UniqueConstraint("body_id", "number", name=op.f("uq_status_lists_body_id_number")),
    )
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("status_list_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("status_index", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_certificates_status_list_id_status_lists"),
            "status_lists",
            ["status_list_id"],
            ["id"],
        )
        batch.create_unique_constraint(
            op.f("uq_certificates_status_list_id_status_index"),
            ["status_list_id", "status_index"],
        )
    _assign_existing()


def _assign_existing() -> None:
    """Give every existing certificate a random entry in its body's list(s)."""
    bind = op.get_bind()
    certificates = sa.table(
        "certificates",
        sa.column("id", sa.Integer()),
        sa.column("body_id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("status_list_id", sa.Integer()),
        sa.column("status_index", sa.Integer()),
    )
    lists = sa.table(
        "status_lists",
        sa.column("id", sa.Integer()),
        sa.column("body_id", sa.Integer()),
        sa.column("number", sa.Integer()),
        sa.column("size", sa.Integer()),
        sa.column("assigned", sa.Integer()),
        sa.column("bits", sa.LargeBinary()),
        sa.column("allocated", sa.LargeBinary()),
        sa.column("version", sa.Integer()),
        sa.column("changed_at", certsvc.models.UTCDateTime(timezone=True)),
    )
    now = dt.datetime.now(dt.UTC)
    rows = bind.execute(
        sa.select(certificates.c.id, certificates.c.body_id, certificates.c.status).order_by(
            certificates.c.body_id, certificates.c.id
        )
    ).all()
    by_body: dict[int, list[tuple[int, str]]] = {}
    for cert_id, body_id, status in rows:
        by_body.setdefault(body_id, []).append((cert_id, status))
    for body_id, certs in by_body.items():
        for number, start in enumerate(range(0, len(certs), FILL), start=1):
            chunk = certs[start : start + FILL]
            bits, allocated = bytearray(SIZE // 8), bytearray(SIZE // 8)
            # Distinct random indexes: issue order stays hidden.
            indexes = secrets.SystemRandom().sample(range(SIZE), len(chunk))
            for (_, status), index in zip(chunk, indexes, strict=True):
                allocated[index // 8] |= 0x80 >> (index % 8)
                if status != "valid":
                    bits[index // 8] |= 0x80 >> (index % 8)
            list_id = bind.execute(
                sa.insert(lists)
                .values(
                    body_id=body_id,
                    number=number,
                    size=SIZE,
                    assigned=len(chunk),
                    bits=bytes(bits),
                    allocated=bytes(allocated),
                    version=1,
                    changed_at=now,
                )
                .returning(lists.c.id)
            ).scalar_one()
            bind.execute(
                sa.update(certificates)
                .where(certificates.c.id == sa.bindparam("cid"))
                .values(status_list_id=list_id, status_index=sa.bindparam("idx")),
                [
                    {"cid": cert_id, "idx": index}
                    for (cert_id, _), index in zip(chunk, indexes, strict=True)
                ],
            )


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_constraint(
            op.f("uq_certificates_status_list_id_status_index"), type_="unique"
        )
        batch.drop_constraint(
            op.f("fk_certificates_status_list_id_status_lists"), type_="foreignkey"
        )
        batch.drop_column("status_index")
        batch.drop_column("status_list_id")
    op.drop_table("status_lists")
