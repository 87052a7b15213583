"""SQLAlchemy 2 typed models: the whole schema, importable from this one module.

The tables are defined here, except the transparency log's (:mod:`certsvc.models.transparency`)
and the background jobs' (:mod:`certsvc.models.jobs`); all derive from
:mod:`certsvc.models.base`. Alembic migrations (``migrations/``) are the only way this schema is
created outside tests; ``tests/test_migrations.py`` proves the migrated schema equals these
models.

Personal data: a holder's ID number is never stored in clear. ``Holder`` keeps a keyed hash
(HMAC-SHA256, for look-up and de-duplication), the AES-GCM ciphertext (for the national
registry) and a masked form for display; see :mod:`certsvc.holders.identity`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certsvc.domain.statuses import BodyStatus, CertificateStatus, KeyStatus
from certsvc.models.base import Base, UTCDateTime, limited, utcnow
from certsvc.models.jobs import Job, JobChunk
from certsvc.models.transparency import LogCheckpoint, LogKey, LogState, MerkleNode

__all__ = [
    "Account",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Batch",
    "Certificate",
    "CertificationBody",
    "EcosystemMember",
    "Event",
    "EventLogHead",
    "Holder",
    "HolderPhoto",
    "Job",
    "JobChunk",
    "LogCheckpoint",
    "LogKey",
    "LogState",
    "MerkleNode",
    "NumberSequence",
    "Occupation",
    "ScopeEntry",
    "SigningKey",
    "UTCDateTime",
    "utcnow",
]


class CertificationBody(Base):
    """A 评价机构 (certification body): an enterprise (``Y``) or social organisation (``S``)."""

    __tablename__ = "certification_bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 13 characters: type letter + body code(4) + province(2) + site serial(6).
    code: Mapped[str] = mapped_column(String(13), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    #: 统一社会信用代码 (unified social credit code) of the body itself.
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    filing_number: Mapped[str] = mapped_column(String(64), default="")
    #: 链主企业: a lead enterprise that may certify workers of its ecosystem members.
    chain_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[BodyStatus] = mapped_column(String(16), default="active")
    #: The body's seal as uploaded (PNG or SVG); certificates get a generated seal without one.
    seal: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    #: Whether each imported row must come with the holder's photo (checked at import).
    #: True for new bodies; bodies that existed before photos were stored got false.
    photo_required: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    scope: Mapped[list[ScopeEntry]] = relationship(
        back_populates="body", cascade="all, delete-orphan", order_by="ScopeEntry.occupation_code"
    )
    members: Mapped[list[EcosystemMember]] = relationship(
        back_populates="body", cascade="all, delete-orphan", order_by="EcosystemMember.uscc"
    )

    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("length(code) = 13", name="code_length"),
    )


class ScopeEntry(Base):
    """One occupation × level a body is filed (备案) to certify."""

    __tablename__ = "body_scope"

    body_id: Mapped[int] = mapped_column(
        ForeignKey("certification_bodies.id", ondelete="CASCADE"), primary_key=True
    )
    occupation_code: Mapped[str] = mapped_column(ForeignKey("occupations.code"), primary_key=True)
    level: Mapped[str] = mapped_column(String(1), primary_key=True)

    body: Mapped[CertificationBody] = relationship(back_populates="scope")


class EcosystemMember(Base):
    """An enterprise in a chain leader's ecosystem whose workers the leader may certify."""

    __tablename__ = "ecosystem_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(
        ForeignKey("certification_bodies.id", ondelete="CASCADE"), index=True
    )
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    body: Mapped[CertificationBody] = relationship(back_populates="members")

    __table_args__ = (
        UniqueConstraint("body_id", "uscc", "valid_from"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
    )


class Occupation(Base):
    """An occupation or 工种 of the 国家职业分类大典 (national occupation classification)."""

    __tablename__ = "occupations"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: "S" digital occupation, "L" green occupation, space-separated.
    tags: Mapped[str] = mapped_column(String(16), default="")
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(300), default="")


class Holder(Base):
    """A certified person, identified by ID type and the keyed hash of the ID number."""

    __tablename__ = "holders"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_type: Mapped[str] = mapped_column(String(32))
    id_hash: Mapped[str] = mapped_column(String(64))
    id_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    id_masked: Mapped[str] = mapped_column(String(32))
    #: Random salt of the ID commitment signed into every credential, sealed with AES-GCM
    #: like the number (16 clear bytes in rows from before; see certsvc.holders.identity).
    id_salt: Mapped[bytes] = mapped_column(LargeBinary(44))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Hash first: look-ups go by hash (the type is almost always 居民身份证).
    __table_args__ = (UniqueConstraint("id_hash", "id_type"),)


class HolderPhoto(Base):
    """A holder's photo (normalised JPEG) of one body, sealed with AES-GCM, by its SHA-256.

    ``sha256`` is the hex digest of the clear JPEG: the digest signed into the records of the
    certificates that show it (:mod:`certsvc.holders.photos_store`). Stored once per body
    however many certificates show it; never logged.
    """

    __tablename__ = "holder_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    #: nonce + AES-256-GCM(JPEG) + tag, under CERTSVC_ID_ENCRYPTION_KEY (IdVault.seal_photo).
    sealed: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("body_id", "sha256"),)


class Batch(Base):
    """One submitted results file or API request; the unit of all-or-nothing issuance."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    source: Mapped[str] = mapped_column(String(8))  # csv | xlsx | api
    filename: Mapped[str] = mapped_column(String(255), default="")
    #: SHA-256 of the submitted content; the same content is never issued twice.
    content_sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    row_count: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("body_id", "content_sha256"),
        UniqueConstraint("body_id", "idempotency_key"),
    )


class NumberSequence(Base):
    """The last certificate serial handed out per (body, year, level): gap-free counters."""

    __tablename__ = "number_sequences"

    body_id: Mapped[int] = mapped_column(
        ForeignKey("certification_bodies.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(1), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class Certificate(Base):
    """A issued certificate: what it certifies, its status, and its two signed forms."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(22), unique=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    batch_row: Mapped[int] = mapped_column(Integer)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holders.id"), index=True)
    #: Issued names are at most 50 characters; the column leaves room for look-up input.
    holder_name: Mapped[str] = mapped_column(String(100), info=limited(50))
    employer_uscc: Mapped[str] = mapped_column(String(18))
    employer_name: Mapped[str] = mapped_column(String(200), default="", info=limited(200))
    occupation_code: Mapped[str] = mapped_column(ForeignKey("occupations.code"))
    work_type: Mapped[str] = mapped_column(String(100), default="", info=limited(100))
    level: Mapped[str] = mapped_column(String(1))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    route: Mapped[str] = mapped_column(String(16), default="regular")
    direct_ground: Mapped[str | None] = mapped_column(String(32), nullable=True)
    direct_evidence: Mapped[str] = mapped_column(
        Text, default="", info=limited(2000, multiline=True)
    )
    status: Mapped[CertificateStatus] = mapped_column(String(16), default="valid")
    #: Why it was revoked: signed, and shown to everyone who verifies.
    status_reason: Mapped[str] = mapped_column(Text, default="", info=limited(500, multiline=True))
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id"), nullable=True, unique=True
    )
    #: RFC 7638 thumbprint of the key that signed ``token`` and ``record``.
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"))
    #: Compact JWS carried in the QR code (short form).
    token: Mapped[str] = mapped_column(Text)
    #: The full signed record: a W3C VC 2.0 secured as vc+jwt.
    record: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Its revocation bit: the status list and the (random) index in it (certsvc.issuance.status).
    status_list_id: Mapped[int | None] = mapped_column(ForeignKey("status_lists.id"), nullable=True)
    status_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Hex SHA-256 of the holder's photo (a HolderPhoto of the body) signed into the current
    #: record; null when the certificate has no photo. Kept when the photo itself is erased.
    photo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)

    holder: Mapped[Holder] = relationship()
    body: Mapped[CertificationBody] = relationship()
    occupation: Mapped[Occupation] = relationship()
    supersedes: Mapped[Certificate | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint("status IN ('valid', 'revoked', 'superseded')", name="status"),
        CheckConstraint("route IN ('regular', 'direct')", name="route"),
        # One valid certificate per person, occupation and level of one body: the database
        # enforces what the service checks, so two concurrent batches cannot both certify the
        # same person. Another body's certificate is no obstacle (README, "Security").
        Index(
            "uq_certificates_one_valid",
            "holder_id",
            "body_id",
            "occupation_code",
            "level",
            unique=True,
            sqlite_where=text("status = 'valid'"),
            postgresql_where=text("status = 'valid'"),
        ),
        UniqueConstraint("status_list_id", "status_index"),
    )


class StatusList(Base):
    """A body's W3C Bitstring Status List for revocation (certsvc.issuance.status).

    ``bits`` is the published bitstring (set = revoked or superseded); ``allocated`` marks the
    indexes handed out, so a new one is drawn at random among the free ones. ``credential`` is
    the list signed as a vc+jwt by key ``kid`` for ``version``; it is signed again when the
    bits change, and when served if it is missing or the body's active key has changed.
    """

    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"))
    #: 1, 2, … per body: the last part of the list's URL.
    number: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    assigned: Mapped[int] = mapped_column(Integer, default=0)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    allocated: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    credential: Mapped[str | None] = mapped_column(Text, nullable=True)
    kid: Mapped[str | None] = mapped_column(String(43), nullable=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    body: Mapped[CertificationBody] = relationship()

    __table_args__ = (UniqueConstraint("body_id", "number"),)


class Event(Base):
    """The append-only event log: issuance, revocation, supersession, key changes.

    ``seq`` increases monotonically; it feeds the registry and the audit view. Rows are never
    updated or deleted.
    """

    __tablename__ = "events"

    #: Assigned in commit order by :mod:`certsvc.models.events`, never by the database.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    body_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_bodies.id"), nullable=True, index=True
    )
    certificate_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id"), nullable=True, index=True
    )
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(100), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('issued', 'revoked', 'superseded', 'photo_replaced', 'key_created', "
            "'key_rotated', 'key_compromised', 'body_created', 'body_changed')",
            name="kind",
        ),
    )


class EventLogHead(Base):
    """The one row holding the last event seq; see :mod:`certsvc.models.events` for why."""

    __tablename__ = "event_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class SigningKey(Base):
    """An Ed25519 key of a body. The private half lives encrypted in ``keys/<kid>.pem``."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(43), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[KeyStatus] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: For a compromised key: signatures made after this time are not trusted.
    compromised_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    body: Mapped[CertificationBody] = relationship()

    __table_args__ = (
        CheckConstraint("status IN ('active', 'retired', 'compromised')", name="status"),
        # At most one active key per body.
        Index(
            "uq_signing_keys_one_active",
            "body_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class Account(Base):
    """A console user. Role is per body (admin/issuer/viewer) or platform-wide."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    body_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_bodies.id"), nullable=True, index=True
    )
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Reset on success, unlock and password reset. The lock-out itself is counted per
    #: client from the audit log (certsvc.accounts); locked_until shows its latest end to
    #: the body's admins.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Raised at log-out: part of every session's stamp, so each cookie issued before it,
    #: including a copied one, stops working (a signed cookie cannot be revoked otherwise).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: A body admin made by a platform operator: it cannot log in until activated by a
    #: deliberate, audited step of someone else (:func:`certsvc.accounts.activate`).
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The console's language for this account (certsvc.i18n.LANGUAGES), chosen with the
    #: console's language switch or `certsvc accounts language`.
    language: Mapped[str] = mapped_column(String(8), default="zh", server_default="zh")

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'issuer', 'viewer', 'operator', 'registry_admin', 'registry')",
            name="role",
        ),
        CheckConstraint("language IN ('zh', 'en')", name="language"),
    )


class AuditEntry(Base):
    """Who did what, when, from where: append-only, for admins and export.

    Separate from :class:`Event`, which is the certificate history the registry pulls; the
    audit log also records reads and failures (log-ins, exports, denied requests).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), nullable=True)
    body_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_bodies.id"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")

    # The log-in brakes count one name's recent attempts (certsvc.accounts._locked_until).
    __table_args__ = (Index("ix_audit_log_actor_action", "actor", "action", "occurred_at"),)


class ApiToken(Base):
    """A bearer token for the API, stored only as its SHA-256 hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: Short public prefix so a person can tell tokens apart; not secret.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    body_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_bodies.id"), nullable=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
