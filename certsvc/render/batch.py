"""Certificates from the database to PDF: one by number, a batch as a streamed ZIP or one
merged print file, rendered across all cores.

A batch can hold tens of thousands of certificates, so nothing here holds a whole batch of
PDFs: rows are read in chunks (``yield_per``), faces go to a process pool a few at a time and
come back in row order, and the ZIP is produced as a generator of byte chunks (a web response
or a file can consume it) while the pool renders the next ones. The print file is rendered in
fixed runs of :data:`PRINT_RUN` pages (each run shares its font subsets), the runs in
parallel, then joined with pypdf.

The holder's ID number is decrypted here, only to be printed; it never leaves the face.
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from certsvc.domain.ids import IdType
from certsvc.errors import InvalidInput, NotFound
from certsvc.holders.identity import IdVault
from certsvc.i18n import N_
from certsvc.issuance.photos import current_records
from certsvc.models import Batch, Certificate, CertificationBody, HolderPhoto
from certsvc.render.certificate import (
    TITLE_ZH,
    CertificateFace,
    check_face,
    face_from_certificate,
    print_photo,
    render_certificate,
    render_merged,
)
from certsvc.render.seal import UploadedSeal, load_seal

#: Pages per run of the merged print file: runs render in parallel and share font subsets.
PRINT_RUN = 50
#: Single PDFs per task sent to a worker process.
ZIP_RUN = 8

#: Told how many certificates are done so far (a CLI progress bar).
Progress = Callable[[int], None]

_LOAD = (
    selectinload(Certificate.holder),
    selectinload(Certificate.occupation),
    selectinload(Certificate.body),
)
T = TypeVar("T")
R = TypeVar("R")


def _faces(
    session: Session, certs: Sequence[Certificate], public_url: str, vault: IdVault
) -> list[CertificateFace]:
    """Faces of loaded certificates: ID numbers decrypted, superseding numbers looked up."""
    ids = vault.reveal_all(
        (IdType(c.holder.id_type), c.holder.id_hash, c.holder.id_ciphertext) for c in certs
    )
    superseded = [c.id for c in certs if c.status == "superseded"]
    successors: dict[int, str] = {}
    if superseded:
        rows = session.execute(
            select(Certificate.supersedes_id, Certificate.number).where(
                Certificate.supersedes_id.in_(superseded)
            )
        )
        successors = {old: new for old, new in rows if old is not None}
    photos = _print_photos(session, certs, vault)
    records = current_records(session, certs)
    return [
        face_from_certificate(
            c,
            public_url,
            id_number=id_number,
            superseded_by=successors.get(c.id, ""),
            photo=photos.get((c.body_id, c.photo_sha256 or "")),
            record=records[c.id],
        )
        for c, id_number in zip(certs, ids, strict=True)
    ]


def _print_photos(
    session: Session, certs: Sequence[Certificate], vault: IdVault
) -> dict[tuple[int, str], bytes]:
    """The stored photos of ``certs``, decrypted and downscaled for print, by (body, digest).

    Downscaled here, before the faces go to the worker processes, so a face carries some
    20 KB of photo rather than the stored JPEG. An erased photo prints as the empty frame.
    """
    wanted = {(c.body_id, c.photo_sha256) for c in certs if c.photo_sha256}
    if not wanted:
        return {}
    rows = session.execute(
        select(HolderPhoto.body_id, HolderPhoto.sha256, HolderPhoto.sealed).where(
            HolderPhoto.sha256.in_(sorted({digest for _, digest in wanted}))
        )
    )
    return {
        (body_id, digest): print_photo(vault.open_photo(body_id, digest, sealed))
        for body_id, digest, sealed in rows
        if (body_id, digest) in wanted
    }


def certificate_face(
    session: Session, number: str, public_url: str, vault: IdVault
) -> CertificateFace:
    """The face of certificate ``number``; NotFound if there is none."""
    cert = session.scalar(
        select(Certificate).where(Certificate.number == number.strip().upper()).options(*_LOAD)
    )
    if cert is None:
        raise NotFound(
            N_("no certificate {number}; `certsvc show NUMBER` lists what is stored"), number=number
        )
    return _faces(session, [cert], public_url, vault)[0]


def batch_size(session: Session, batch_id: str) -> int:
    """How many certificates batch ``batch_id`` holds; NotFound if there is no such batch."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(
            N_("no batch {batch_id}; the batch id is printed when a file is issued"),
            batch_id=batch_id,
        )
    return batch.row_count


def batch_faces(
    session: Session, batch_id: str, public_url: str, vault: IdVault, chunk: int = 200
) -> Iterator[CertificateFace]:
    """Faces of a batch's certificates in row order, read ``chunk`` rows at a time."""
    batch_size(session, batch_id)
    query = (
        select(Certificate)
        .where(Certificate.batch_id == batch_id)
        .order_by(Certificate.batch_row)
        .options(*_LOAD)
        .execution_options(yield_per=chunk)
    )
    for part in session.scalars(query).partitions():
        yield from _faces(session, part, public_url, vault)


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


def parallel_map(
    work: Callable[[T], R], items: Iterable[T], workers: int | None = None
) -> Iterator[R]:
    """``work(item)`` for each item in a pool of ``workers`` processes (default: one per
    core), yielded in the items' order while later items are still being worked on.

    At most four tasks per worker are in flight, so a long iterable is never read ahead whole.
    ``workers=1``, or fewer items than two per worker, work in this process: starting a pool
    costs more than a few certificates. Workers are forked from a fork server that has
    imported the renderer and loaded the font once (:mod:`certsvc.render.workers`) and
    holds no database connections or locks of the caller.
    """
    workers = workers or os.cpu_count() or 1
    iterator = iter(items)
    head = list(islice(iterator, 2 * workers))
    if workers == 1 or len(head) < 2 * workers:
        yield from map(work, chain(head, iterator))
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__, "certsvc.render.workers"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    pending: deque[Future[R]] = deque()
    try:
        for item in chain(head, iterator):
            pending.append(pool.submit(work, item))
            if len(pending) >= 4 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while part := list(islice(iterator, size)):
        yield part


def _checked(faces: Iterable[CertificateFace]) -> Iterator[CertificateFace]:
    # Checked here, not in a worker: an error raised in the caller's process keeps its type.
    for face in faces:
        check_face(face)
        yield face


def _render_singles(
    task: tuple[list[CertificateFace], UploadedSeal | None],
) -> list[tuple[str, dt.date, bytes]]:
    faces, seal = task
    return [(pdf_file_name(f), f.issue_date, render_certificate(f, seal)) for f in faces]


def _render_run(task: tuple[list[CertificateFace], UploadedSeal | None]) -> bytes:
    faces, seal = task
    return render_merged((f, seal) for f in faces)


def zip_of_certificates(
    faces: Iterable[CertificateFace],
    seal: UploadedSeal | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """Single-certificate PDFs rendered on ``workers`` processes, as a streamed ZIP."""
    tasks = ((part, seal) for part in _chunks(_checked(faces), ZIP_RUN))

    def files() -> Iterator[tuple[str, dt.date, bytes]]:
        done = 0
        for rendered in parallel_map(_render_singles, tasks, workers):
            yield from rendered
            done += len(rendered)
            if progress is not None:
                progress(done)

    return zip_stream(files())


def print_file(
    faces: Iterable[CertificateFace],
    seal: UploadedSeal | None = None,
    *,
    title: str = TITLE_ZH,
    workers: int | None = None,
    progress: Progress | None = None,
) -> bytes:
    """One PDF for printing, a page per face in order, rendered in runs of
    :data:`PRINT_RUN` pages on ``workers`` processes and joined with pypdf.

    The same faces give the same bytes whatever the number of workers.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    bodies: dict[str, None] = {}

    def noted(faces: Iterable[CertificateFace]) -> Iterator[CertificateFace]:
        for face in faces:
            bodies[face.body_name_zh] = None
            yield face

    tasks = ((part, seal) for part in _chunks(_checked(noted(faces)), PRINT_RUN))
    writer = PdfWriter()
    done = 0
    for run in parallel_map(_render_run, tasks, workers):
        reader = PdfReader(io.BytesIO(run))
        writer.append(reader)
        done += len(reader.pages)
        if progress is not None:
            progress(done)
    if not done:
        raise InvalidInput(N_("there are no certificates to print"))
    writer.add_metadata(
        {
            "/Title": title,
            "/Author": "、".join(bodies),
            "/Subject": f"{done} certificates",
            "/Creator": "certsvc",
            "/Producer": "certsvc",
        }
    )
    writer.root_object[NameObject("/Lang")] = TextStringObject("zh-CN")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def batch_zip(
    session: Session,
    batch_id: str,
    public_url: str,
    vault: IdVault,
    seal: UploadedSeal | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """A batch as a streamed ZIP of single-certificate PDFs (each with its signed record).

    ``seal`` overrides the body's stored seal; ``progress`` is told the count done so far.
    """
    seal = seal or _batch_seal(session, batch_id)
    faces = batch_faces(session, batch_id, public_url, vault)
    return zip_of_certificates(faces, seal, workers=workers, progress=progress)


def batch_merged(
    session: Session,
    batch_id: str,
    public_url: str,
    vault: IdVault,
    seal: UploadedSeal | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> bytes:
    """A batch as one PDF for printing, a page per certificate in row order.

    ``progress`` is told each certificate done.
    """
    seal = seal or _batch_seal(session, batch_id)
    faces = batch_faces(session, batch_id, public_url, vault)
    title = f"{TITLE_ZH} · batch {batch_id}"
    return print_file(faces, seal, title=title, workers=workers, progress=progress)


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
