"""No clear ID number in the database or the logs after issuing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, Text, cast, select

from certsvc.domain.ids import IdType
from certsvc.errors import ConfigError
from certsvc.holders.identity import SALT_BYTES, SEALED_SALT_BYTES, IdVault, id_commitment
from certsvc.models import Base, Certificate, Holder
from certsvc.models.migrate import clear_id_salts, seal_clear_id_salts
from certsvc.runtime import Runtime
from certsvc.signing.jws import parse_compact
from tests.conftest import issue, person_id, row


def test_no_clear_id_number_in_the_database_or_logs(
    runtime: Runtime, body: str, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    runtime.db.engine.echo = True  # log every statement and its parameters
    ids = [person_id(n) for n in range(1, 4)]
    with caplog.at_level(logging.DEBUG):
        issue(runtime, [row(n) for n in range(1, 4)])
    runtime.db.engine.echo = False
    logged = caplog.text
    assert "INSERT INTO holders" in logged  # the statements really were logged
    for clear in ids:
        assert clear not in logged

    if backend == "sqlite":
        path = Path(runtime.db.engine.url.database or "")
        runtime.db.dispose()  # checkpoint the WAL into the file
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert raw  # the file holds the certificates
        for clear in ids:
            assert clear.encode() not in raw
    with runtime.db.session() as session:
        blob = b""
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                binary = isinstance(column.type, LargeBinary)
                for value in session.scalars(select(column if binary else cast(column, Text))):
                    if value is not None:
                        blob += (value if binary else value.encode()) + b"\n"
        for clear in ids:
            assert clear.encode() not in blob
            assert (clear[:4] + "*" * 10 + clear[-4:]).encode() in blob  # the masked form is kept

        holder = session.scalars(select(Holder).order_by(Holder.id)).first()
        assert holder is not None
        vault = runtime.vault
        assert vault.reveal(IdType(holder.id_type), holder.id_hash, holder.id_ciphertext) == ids[0]


def test_vault_refuses_a_ciphertext_moved_to_another_holder(runtime: Runtime) -> None:
    vault: IdVault = runtime.vault
    a = vault.protect(IdType.RESIDENT_ID, person_id(1))
    b = vault.protect(IdType.RESIDENT_ID, person_id(2))
    with pytest.raises(ConfigError):
        vault.reveal(IdType.RESIDENT_ID, b.digest, a.ciphertext)


def test_reveal_all_gives_what_reveal_gives_and_checks_every_number(runtime: Runtime) -> None:
    vault: IdVault = runtime.vault
    numbers = [(IdType.RESIDENT_ID, person_id(1)), (IdType.PASSPORT, "E12345678")]
    numbers += [(IdType.RESIDENT_ID, person_id(n)) for n in range(2, 6)]
    stored = [vault.protect(t, n) for t, n in numbers]
    triples = [(p.id_type, p.digest, p.ciphertext) for p in stored]
    assert vault.reveal_all(triples) == [n for _, n in numbers]
    assert [vault.reveal(*t) for t in triples] == [n for _, n in numbers]
    assert vault.reveal_all([]) == []
    # A ciphertext moved to another holder, or one under another ID type, is refused in a batch.
    moved = (IdType.RESIDENT_ID, stored[2].digest, stored[3].ciphertext)
    retyped = (IdType.PASSPORT, stored[0].digest, stored[0].ciphertext)
    for bad in (moved, retyped):
        with pytest.raises(ConfigError, match="cannot be decrypted"):
            vault.reveal_all([*triples[:2], bad])
    # A number encrypted under another row's hash (a forged row) fails the hash check.
    forged = vault._aead.encrypt(
        b"\0" * 12,
        person_id(9).encode(),
        b"certsvc-id/v1|resident_id|" + stored[2].digest.encode(),
    )
    with pytest.raises(ConfigError, match="does not match its hash"):
        vault.reveal_all([(IdType.RESIDENT_ID, stored[2].digest, b"\0" * 12 + forged)])


def test_credentials_commit_to_the_id_number_without_revealing_it(
    runtime: Runtime, body: str
) -> None:
    issue(runtime, [row(1)])
    with runtime.db.session() as session:
        holder = session.scalars(select(Holder)).one()
        record = session.scalars(select(Certificate.record)).one()
    subject = json.loads(parse_compact(record).payload)["credentialSubject"]
    assert person_id(1) not in record
    salt = runtime.vault.open_salt(IdType.RESIDENT_ID, holder.id_hash, holder.id_salt)
    expected = id_commitment(IdType.RESIDENT_ID, person_id(1), salt)
    assert subject["idNumberCommitment"] == expected
    # A different salt or number gives a different commitment.
    assert id_commitment(IdType.RESIDENT_ID, person_id(2), salt) != expected
    assert id_commitment(IdType.RESIDENT_ID, person_id(1), b"\0" * 16) != expected


def test_the_stored_salt_is_sealed_so_a_database_copy_cannot_undo_the_commitment(
    runtime: Runtime, body: str
) -> None:
    """With the salt in clear, the commitment in ``certificates.record`` plus the mask leave
    ~230,000 candidate numbers: seconds of SHA-256. Sealed, the database alone gives no salt."""
    issue(runtime, [row(1)])
    with runtime.db.session() as session:
        holder = session.scalars(select(Holder)).one()
        record = session.scalars(select(Certificate.record)).one()
    stored = bytes(holder.id_salt)
    salt = runtime.vault.open_salt(IdType.RESIDENT_ID, holder.id_hash, stored)
    assert len(stored) == SEALED_SALT_BYTES and len(salt) == SALT_BYTES
    assert salt not in stored
    commitment = json.loads(parse_compact(record).payload)["credentialSubject"][
        "idNumberCommitment"
    ]
    # No 16 bytes of the row complete the commitment (what the attack needs from a copy).
    assert all(
        id_commitment(IdType.RESIDENT_ID, person_id(1), stored[i : i + SALT_BYTES]) != commitment
        for i in range(len(stored) - SALT_BYTES + 1)
    )


def test_a_sealed_salt_only_opens_for_its_own_holder(runtime: Runtime) -> None:
    vault: IdVault = runtime.vault
    a = vault.protect(IdType.RESIDENT_ID, person_id(1))
    b = vault.protect(IdType.RESIDENT_ID, person_id(2))
    assert vault.open_salts([(a.id_type, a.digest, a.sealed_salt)]) == [a.salt]
    with pytest.raises(ConfigError, match="salt cannot be decrypted"):
        vault.open_salt(IdType.RESIDENT_ID, b.digest, a.sealed_salt)
    with pytest.raises(ConfigError, match="salt cannot be decrypted"):
        vault.open_salt(IdType.PASSPORT, a.digest, a.sealed_salt)


def test_salts_stored_in_clear_by_earlier_versions_are_read_and_sealed_by_init(
    runtime: Runtime, body: str
) -> None:
    """Rows written before salts were sealed keep working (issuing again for the person
    reuses the salt) until ``certsvc seal-salts`` seals them, once."""
    first = issue(runtime, [row(1)]).certificates[0]
    with runtime.db.transaction() as session:
        holder = session.scalars(select(Holder)).one()
        salt = runtime.vault.open_salt(IdType.RESIDENT_ID, holder.id_hash, holder.id_salt)
        holder.id_salt = salt  # as an earlier version stored it
    with runtime.db.session() as session:
        assert runtime.vault.open_salt(IdType.RESIDENT_ID, holder.id_hash, holder.id_salt) == salt
    with runtime.db.transaction() as session:
        assert clear_id_salts(session) == 1
        assert seal_clear_id_salts(session, runtime.vault, chunk=1) == 1
    with runtime.db.transaction() as session:
        assert clear_id_salts(session) == 0
        assert seal_clear_id_salts(session, runtime.vault) == 0
        stored = session.scalars(select(Holder.id_salt)).one()
    assert len(stored) == SEALED_SALT_BYTES
    assert runtime.vault.open_salt(IdType.RESIDENT_ID, holder.id_hash, stored) == salt
    # The same person certified again: the credential commits with the same salt.
    second = issue(runtime, [row(1, level="三级")]).certificates[0]
    with runtime.db.session() as session:
        records = dict(
            session.execute(
                select(Certificate.number, Certificate.record).where(
                    Certificate.number.in_([first.number, second.number])
                )
            ).all()
        )
    commitments = {
        json.loads(parse_compact(r).payload)["credentialSubject"]["idNumberCommitment"]
        for r in records.values()
    }
    assert commitments == {id_commitment(IdType.RESIDENT_ID, person_id(1), salt)}
