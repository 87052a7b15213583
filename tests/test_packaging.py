"""Packaging: every directory that ships files is a package, so setuptools builds the wheel
without "Package 'certsvc.domain.data' is absent from the `packages` configuration" (a data
directory that is not a listed package is shipped today only by a deprecated fallback)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools.config.setupcfg import read_configuration

ROOT = Path(__file__).resolve().parent.parent

#: What setuptools prints for a data directory missing from `packages`: the newer wording,
#: then the older banner. scripts/wheel-check fails on the same phrases.
MISSING_PACKAGE_WARNINGS = (
    "is absent from the `packages` configuration",
    "Package would be ignored",
)


def _shipped_directories() -> set[str]:
    """Dotted names of the directories under certsvc/ that hold any file to ship."""
    names = set()
    for path in (ROOT / "certsvc").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            names.add(".".join(path.parent.relative_to(ROOT).parts))
    return names


def test_every_directory_with_files_is_a_listed_package() -> None:
    packages = set(read_configuration(ROOT / "setup.cfg")["options"]["packages"])
    assert "certsvc.domain.data" in packages
    assert _shipped_directories() <= packages, sorted(_shipped_directories() - packages)
    assert not any("__pycache__" in p for p in packages)


def test_build_py_ships_the_data_without_a_missing_package_warning(tmp_path: Path) -> None:
    """Run setuptools' build_py (where it warns about data outside `packages`, and what a
    wheel's files come from) on a copy of the sources, every warning shown, and check the
    data files are in the build."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "certsvc", source / "certsvc", ignore=shutil.ignore_patterns("__pycache__")
    )
    lib = tmp_path / "lib"
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "from setuptools import setup; setup()",
            "build_py",
            "--build-lib",
            str(lib),
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    for phrase in MISSING_PACKAGE_WARNINGS:
        assert phrase not in output, output[max(output.index(phrase) - 500, 0) :][:1500]
    for data in (
        "domain/data/occupations.csv",
        "migrations/versions/0001_initial_schema.py",
        "templates/console/login.html",
        "static/verify.js",
        "alembic.ini",
    ):
        assert (lib / "certsvc" / data).is_file(), data
