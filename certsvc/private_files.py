"""Files and directories that hold secrets or personal data: owner-only from the moment they exist.

The SQLite database (its ``-wal``, ``-shm`` and journal files take the database file's mode),
``instance/`` and ``dev.env``, the key directory, the demo log-ins, certificate PDFs and a
registry mirror are created with mode 0600 (files) or 0700 (directories), whatever the umask.
Creating a file with the right mode is the only safe way: a file created readable and narrowed
afterwards can be opened by anyone in between, and keeps that descriptor.

A directory that already exists keeps its mode (it may be ``/tmp`` or a shared volume), except
the ones certsvc owns alone — see :func:`private_directory`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "DIRECTORY_MODE",
    "FILE_MODE",
    "create_private_file",
    "narrow",
    "open_private",
    "private_directory",
    "write_private",
]

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_directory(path: Path, *, owned: bool = False) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; return it.

    Directories created here get exactly 0700. An existing one is left as it is, unless
    ``owned`` (a directory only certsvc writes, such as the key directory): then any group or
    world access is taken away.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:  # created meanwhile by another process
            continue
        os.chmod(directory, DIRECTORY_MODE)  # the umask may have taken bits away, never added
    if owned and path.is_dir() and path.stat().st_mode & 0o077:
        os.chmod(path, path.stat().st_mode & ~0o077)
    return path


def narrow(path: Path) -> bool:
    """Take group and world access away from an existing file; whether it had any.

    For files an earlier version created under the umask (``certsvc init`` narrows the
    SQLite database this way); a missing file is left missing.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    if not mode & 0o077:
        return False
    os.chmod(path, mode & ~0o077)
    return True


def create_private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (an existing file is kept)."""
    private_directory(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, FILE_MODE)
    except FileExistsError:
        return path
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def open_private(path: Path) -> BinaryIO:
    """``path`` opened for writing from the start, mode 0600 (an existing file is emptied and
    narrowed): for exports that carry personal data, such as certificate PDFs."""
    private_directory(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    out = os.fdopen(fd, "wb")
    os.fchmod(fd, FILE_MODE)
    return out


def write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` as :func:`open_private` opens it."""
    with open_private(path) as out:
        out.write(data)
    return path


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
