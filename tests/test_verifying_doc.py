"""docs/verifying.md is true: its code blocks run, in order, against a live server.

Each fenced ``bash`` or ``python`` block is run as written in a scratch directory, with the
documented address ``https://cert.example.cn`` replaced by the live server's. The directory
starts with what an outside verifier holds: the certificate PDF. A block preceded by
``<!-- not run by the test … -->`` reaches the Internet (www.w3.org); the test provides what
it would fetch (the VC 2.0 context, from tests/assets/jsonld/) instead. After a revocation the
status list block must report it — so the examples are checked for meaning, not just for
running.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from certsvc.issuance.service import revoke
from certsvc.render.batch import certificate_face
from tests.conftest import LiveService, issue_rows, row

DOC = Path(__file__).parent.parent / "docs" / "verifying.md"
DOCUMENTED_URL = "https://cert.example.cn"
_BLOCK = re.compile(r"(<!-- not run[^>]*-->\n)?```(bash|python)\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str, bool]]:
    """(language, code, runs) for every fenced block of the page."""
    text = DOC.read_text("utf-8")
    return [(m.group(2), m.group(3), m.group(1) is None) for m in _BLOCK.finditer(text)]


def run(language: str, code: str, cwd: Path, url: str) -> str:
    code = code.replace(DOCUMENTED_URL, url)
    command = (
        ["bash", "-euo", "pipefail", "-c", code]
        if language == "bash"
        else [sys.executable, "-c", code]
    )
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{language} block failed:\n{code}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_every_example_on_the_page_runs(live_service: LiveService, tmp_path: Path) -> None:
    if shutil.which("pdfdetach") is None:
        pytest.skip("pdfdetach (poppler-utils) is not installed; scripts/system-deps test")
    render = pytest.importorskip("certsvc.render")
    live = live_service
    number = issue_rows(live.runtime, [row(1, name="欧阳晓明")]).certificates[0].number
    with live.runtime.db.session() as session:
        face = certificate_face(session, number, live.url, live.runtime.vault)
    (tmp_path / "certificate.pdf").write_bytes(render.render_certificate(face))
    shutil.copy(
        Path(__file__).parent / "assets" / "jsonld" / "credentials-v2.jsonld",
        tmp_path / "credentials-v2.jsonld",
    )
    found = blocks()
    assert sum(runs for _, _, runs in found) >= 6
    outputs = [run(lang, code, tmp_path, live.url) for lang, code, runs in found if runs]
    joined = "\n".join(outputs)
    assert f"{number} 欧阳晓明" in joined  # the JWS block read the signed record
    assert "holder: 欧阳晓明" in joined  # the JSON-LD block found the name by its IRI
    assert "entries: 131072" in joined and "revoked: False" in joined
    assert "included at leaf" in joined

    revoke(live.runtime, number, "考核材料不实")
    status_block = next(code for lang, code, runs in found if "statusListIndex" in code)
    assert "revoked: True" in run("python", status_block, tmp_path, live.url)
