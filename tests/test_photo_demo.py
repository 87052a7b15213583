"""The demo ships placeholder photos (issue #16): drawn, marked 示例 SAMPLE, on every demo
certificate — also on a demo database made before photos existed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from certsvc.cli import demo
from certsvc.models import Certificate, CertificationBody
from certsvc.runtime import Runtime


def demo_certificates(runtime: Runtime) -> list[Certificate]:
    with runtime.db.session() as session:
        certs = list(session.scalars(select(Certificate).order_by(Certificate.batch_row)))
        session.expunge_all()
        return certs


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_demo_certificate_has_its_placeholder_photo(runtime: Runtime, tmp_path: Path) -> None:
    assert demo.placeholder_photo(1) == demo.placeholder_photo(1)
    assert demo.placeholder_photo(1) != demo.placeholder_photo(2)
    list(demo.load_demo(runtime, tmp_path / "logins.txt"))
    again = list(demo.load_demo(runtime, tmp_path / "logins.txt"))
    assert any("already issued" in line for line in again)
    certs = demo_certificates(runtime)
    assert len(certs) == len(demo.demo_rows())
    assert all(c.photo_sha256 for c in certs)
    assert len({c.photo_sha256 for c in certs}) == len(certs)
    with runtime.db.session() as session:
        body = session.scalar(
            select(CertificationBody).where(CertificationBody.code == demo.DEMO_BODY)
        )
        assert body is not None and body.photo_required


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_demo_from_before_photos_gets_them_once(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = demo.issue_batch

    def without_photos(*args: object, **kwargs: object) -> object:
        kwargs["photos"] = None  # as the demo issued before photos existed
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(demo, "issue_batch", without_photos)
    list(demo.load_demo(runtime, tmp_path / "logins.txt"))
    assert not any(c.photo_sha256 for c in demo_certificates(runtime))
    monkeypatch.setattr(demo, "issue_batch", real)
    lines = list(demo.load_demo(runtime, tmp_path / "logins.txt"))
    assert f"added placeholder photos to {len(demo.demo_rows())} demo certificates" in lines
    certs = demo_certificates(runtime)
    assert all(c.photo_sha256 and c.status == "valid" for c in certs)
    assert not any("added" in line for line in demo.load_demo(runtime, tmp_path / "logins.txt"))
