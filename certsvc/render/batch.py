"""Certificates from the database to PDF: one by number, a batch as a streamed ZIP or one
merged print file.

A batch can hold tens of thousands of certificates, so nothing here holds a whole batch: rows
are read in chunks (``yield_per``), each PDF is rendered when the ZIP writer asks for it, and
the ZIP is produced as a generator of byte chunks (a web response or a file can consume it).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certsvc.errors import NotFound
from certsvc.models import Batch, Certificate, CertificationBody
from certsvc.render.certificate import CertificateFace, face_from_certificate, render_certificate
from certsvc.render.certificate import render_merged as _render_merged
from certsvc.render.seal import UploadedSeal, load_seal

_LOAD = (
    selectinload(Certificate.holder),
    selectinload(Certificate.occupation),
    selectinload(Certificate.body),
)


def certificate_face(session: Session, number: str, public_url: str) -> CertificateFace:
    """The face of certificate ``number``; NotFound if there is none."""
    cert = session.scalar(
        select(Certificate).where(Certificate.number == number.strip().upper()).options(*_LOAD)
    )
    if cert is None:
        raise NotFound(f"no certificate {number}; `certsvc show NUMBER` lists what is stored")
    return face_from_certificate(cert, public_url)


def batch_faces(
    session: Session, batch_id: str, public_url: str, chunk: int = 200
) -> Iterator[CertificateFace]:
    """Faces of a batch's certificates in row order, read ``chunk`` rows at a time."""
    if session.get(Batch, batch_id) is None:
        raise NotFound(f"no batch {batch_id}; the batch id is printed when a file is issued")
    query = (
        select(Certificate)
        .where(Certificate.batch_id == batch_id)
        .order_by(Certificate.batch_row)
        .options(*_LOAD)
        .execution_options(yield_per=chunk)
    )
    for cert in session.scalars(query):
        yield face_from_certificate(cert, public_url)


def pdf_file_name(face: CertificateFace) -> str:
    """File name of a certificate inside a batch ZIP."""
    return f"{face.number}.pdf"


def zip_stream(files: Iterable[tuple[str, dt.date, bytes]]) -> Iterator[bytes]:
    """A ZIP archive of ``(name, date, content)`` files, yielded chunk by chunk as written.

    Entries are stored (PDFs are compressed already) with the given date as their time, so
    the same certificates give the same archive bytes.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED) as archive:
        for name, day, content in files:
            info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
            yield sink.take()
    yield sink.take()


def stored_seal(session: Session, body_code: str) -> UploadedSeal | None:
    """The seal the body uploaded (``certsvc body seal``), or None for the generated one."""
    data = session.scalar(select(CertificationBody.seal).where(CertificationBody.code == body_code))
    return load_seal(data) if data else None


def _batch_seal(session: Session, batch_id: str) -> UploadedSeal | None:
    data = session.scalar(
        select(CertificationBody.seal)
        .join(Batch, Batch.body_id == CertificationBody.id)
        .where(Batch.id == batch_id)
    )
    return load_seal(data) if data else None


def _counted(
    faces: Iterator[CertificateFace], progress: Progress | None
) -> Iterator[CertificateFace]:
    """``faces``, calling ``progress(n)`` as the n-th is handed on (n counts from 1)."""
    if progress is None:
        yield from faces
        return
    for done, face in enumerate(faces, start=1):
        yield face
        progress(done)


#: Told how many certificates of a batch have been rendered so far (jobs show it).
Progress = Callable[[int], None]


def batch_zip(
    session: Session,
    batch_id: str,
    public_url: str,
    seal: UploadedSeal | None = None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """A batch as a streamed ZIP of single-certificate PDFs (each with its signed record).

    ``seal`` overrides the body's stored seal; ``progress`` is told each certificate done.
    """
    seal = seal or _batch_seal(session, batch_id)
    faces = _counted(batch_faces(session, batch_id, public_url), progress)
    return zip_stream((pdf_file_name(f), f.issue_date, render_certificate(f, seal)) for f in faces)


def batch_merged(
    session: Session,
    batch_id: str,
    public_url: str,
    seal: UploadedSeal | None = None,
    progress: Progress | None = None,
) -> bytes:
    """A batch as one PDF for printing, a page per certificate in row order.

    ``progress`` is told each certificate done.
    """
    seal = seal or _batch_seal(session, batch_id)
    faces = _counted(batch_faces(session, batch_id, public_url), progress)
    return _render_merged(((f, seal) for f in faces), title=f"职业技能等级证书 · batch {batch_id}")


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that hands over what was written since the last take."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data
