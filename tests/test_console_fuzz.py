"""Fuzzing the console import: any bytes give a clear page, never a 500, never a half batch."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certsvc.issuance.columns import COLUMNS
from certsvc.models import Batch, Certificate
from certsvc.runtime import Runtime
from tests.conftest import (
    Console,
    console_app,
    count,
    csv_file,
    logged_in,
    row,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def issuer(runtime: Runtime, body: str) -> Console:
    return logged_in(console_app(runtime), runtime, "issuer1", "issuer", body)


HEADER = ",".join(c.header for c in COLUMNS).encode()
_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

cells = st.one_of(
    st.text(max_size=25),
    st.sampled_from(["四级", "三级", "9-99-99-99", "110105194912310021", "=1+1", "直接认定", ""]),
)
fuzzed_rows = st.lists(
    st.builds(
        lambda n, changes: {**row(n), **changes},
        st.integers(1, 50),
        st.dictionaries(st.sampled_from([c.key for c in COLUMNS]), cells, max_size=3),
    ),
    min_size=1,
    max_size=4,
)
raw_files = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: HEADER + b"\r\n" + b),
    st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
    st.text(max_size=300).map(lambda t: t.encode("utf-8")),
)


@_SETTINGS
@given(content=raw_files, name=st.sampled_from(["r.csv", "r.xlsx", "r.txt", ""]))
def test_any_bytes_give_a_clear_answer(
    runtime: Runtime, issuer: Console, content: bytes, name: str
) -> None:
    response = issuer.upload(content, name or "upload")
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    if response.status_code == 422:
        assert 'role="alert"' in html  # the reason is on the page
    assert count(runtime, Certificate) == 0


@_SETTINGS
@given(rows=fuzzed_rows)
def test_fuzzed_rows_issue_all_or_nothing(
    runtime: Runtime, issuer: Console, rows: list[dict[str, str]]
) -> None:
    before = count(runtime, Certificate), count(runtime, Batch)
    preview = issuer.upload(csv_file(rows))
    assert preview.status_code in (200, 422)
    if preview.status_code == 200 and "confirm-issue" in preview.get_data(as_text=True):
        issued = issuer.confirm(preview)
        assert issued.status_code in (303, 422)
        after = count(runtime, Certificate), count(runtime, Batch)
        if issued.status_code == 303:
            assert after == (before[0] + len(rows), before[1] + 1)
        else:
            assert after == before
    else:
        assert (count(runtime, Certificate), count(runtime, Batch)) == before
