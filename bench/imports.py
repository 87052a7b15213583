"""Reading results files: what the worst-shaped file costs per MB next to a normal one.

``section()`` returns the markdown lines for bench/results.md; ``python -m bench.imports``
prints them. Each hostile shape is generated at about the size of the largest normal file
of its format (10,000 rows, the batch limit), so seconds per MB compare like with like;
a few are small on purpose (a few KB that used to cost seconds) and are shown with their
absolute time. Times are CPU time (``time.process_time``) of ``read_results_file`` — the
file layer of an import — the median of a few rounds.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
import zipfile
from collections.abc import Callable

import openpyxl
from openpyxl.utils import get_column_letter

from certsvc.errors import BadFile
from certsvc.issuance.columns import COLUMNS
from certsvc.issuance.rows import read_results_file

ROUNDS = 3
ROWS = 10_000
HEADERS = [c.header for c in COLUMNS]
PERSON = [
    "王小明",
    "居民身份证",
    "11010519491231002X",
    "91350100M000100Y43",
    "福州示范机械有限公司",
    "6-18-01-01",
    "车工",
    "中级工",
    "2024-06-30",
    "",
    "",
    "",
    "",
]
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHARED_STRINGS_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)


def normal_csv() -> bytes:
    lines = [",".join(HEADERS)]
    lines += [",".join([f"王{i}", *PERSON[1:]]) for i in range(ROWS)]
    return ("\r\n".join(lines) + "\r\n").encode()


def normal_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for i in range(ROWS):
        sheet.append([f"王{i}", *PERSON[1:]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _header_csv(size: int, body: str) -> bytes:
    head = ",".join(HEADERS) + "\n"
    repeat = max(1, (size - len(head.encode())) // len(body.encode()))
    return (head + body * repeat).encode()


def _workbook(rows_xml: str, shared_strings: bytes | None = None) -> bytes:
    """A workbook with the template header and the given raw rows (and shared strings)."""
    header = "".join(
        f'<c r="{get_column_letter(i + 1)}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for i, h in enumerate(HEADERS)
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{SHEET_NS}"><sheetData>'
        f'<row r="1">{header}</row>{rows_xml}</sheetData></worksheet>'
    )
    template = openpyxl.Workbook()
    buffer = io.BytesIO()
    template.save(buffer)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = sheet.encode()
            if info.filename == "[Content_Types].xml" and shared_strings is not None:
                body = body.replace(b"</Types>", SHARED_STRINGS_TYPE + b"</Types>")
            target.writestr(info.filename, body)
        if shared_strings is not None:
            target.writestr(
                "xl/sharedStrings.xml", f'<sst xmlns="{SHEET_NS}">'.encode() + shared_strings
            )
    return out.getvalue()


def _sized(size: int, make: Callable[[int], bytes], start: int = 1_000) -> bytes:
    """Grow ``make(n)`` until it is about ``size`` bytes."""
    n, data = start, make(start)
    while len(data) < size * 0.9:
        n = int(n * max(1.1, size / max(1, len(data))))
        data = make(n)
    return data


def xfd_rows(n: int) -> bytes:
    return _workbook("".join(f'<row r="{r}"><c r="XFD{r}" s="0"/></row>' for r in range(2, n)))


def empty_rows(n: int) -> bytes:
    return _workbook("".join(f'<row r="{r}"/>' for r in range(2, min(n, 1_048_576))))


def shared_strings(n: int) -> bytes:
    strings = "".join(f"<si><t>{i * 7919 % 1_000_003:07d}</t></si>" for i in range(n))
    return _workbook("", strings.encode() + b"</sst>")


def repeated_shared_strings(n: int) -> bytes:
    return _workbook("", b"<si><t>x</t></si>" * n + b"</sst>")


def far_row() -> bytes:
    cells = "".join(
        f'<c r="{get_column_letter(i + 1)}1048576" t="inlineStr"><is><t>{v}</t></is></c>'
        for i, v in enumerate(PERSON)
        if v
    )
    return _workbook(f'<row r="1048576">{cells}</row>')


def cost(data: bytes, filename: str) -> tuple[float, str]:
    """Median CPU seconds to read ``data``, and what the reader answered."""
    times = []
    answer = ""
    for _ in range(ROUNDS):
        start = time.process_time()
        try:
            parsed = read_results_file(data, filename)
            answer = f"{len(parsed.rows):,} rows, {len(parsed.errors):,} row errors"
        except BadFile as exc:
            answer = "refused: " + exc.message.split(":")[0]
        times.append(time.process_time() - start)
    return statistics.median(times), answer


def section() -> list[str]:
    """Seconds per MB of hostile CSV and XLSX shapes next to a normal file of each format."""
    csv_normal, xlsx_normal = normal_csv(), normal_xlsx()
    csv_size, xlsx_size = len(csv_normal), len(xlsx_normal)
    cases: list[tuple[str, str, bytes, bytes]] = [
        ("CSV", f"normal: {ROWS:,} rows (baseline)", csv_normal, csv_normal),
        ("CSV", "one line of separators only", _header_csv(csv_size, ","), csv_normal),
        (
            "CSV",
            "lines of 16,000 separators",
            _header_csv(csv_size, "," * 16_000 + "\n"),
            csv_normal,
        ),
        ("CSV", "empty lines (`\\n` only)", _header_csv(csv_size, "\n"), csv_normal),
        (
            "CSV",
            "many blank rows (`,,,,,,,,,,,,`)",
            _header_csv(csv_size, "," * 12 + "\n"),
            csv_normal,
        ),
        (
            "CSV",
            "very long lines (100,000-character cells)",
            _header_csv(csv_size, "字" * 100_000 + "\n"),
            csv_normal,
        ),
        ("XLSX", f"normal: {ROWS:,} rows (baseline)", xlsx_normal, xlsx_normal),
        ("XLSX", "blank rows reaching column XFD", _sized(xlsx_size, xfd_rows), xlsx_normal),
        ("XLSX", "many empty row elements", _sized(xlsx_size, empty_rows), xlsx_normal),
        ("XLSX", "huge shared strings", _sized(xlsx_size, shared_strings, 100_000), xlsx_normal),
        (
            "XLSX",
            "huge repeated shared strings (packs 300 times)",
            repeated_shared_strings(3_000_000),
            xlsx_normal,
        ),
        ("XLSX", "6 KB: blank rows reaching XFD (the reported file)", xfd_rows(1_000), xlsx_normal),
        ("XLSX", "one row at row 1,048,576 (a million-row gap)", far_row(), xlsx_normal),
    ]
    baselines: dict[str, float] = {}
    lines = [
        "## Reading results files",
        "",
        "`read_results_file` (format, encoding, header, rows) on a normal file of each format "
        f"with {ROWS:,} rows — the batch limit — and on hostile shapes of about the same size. "
        f"CPU time, median of {ROUNDS} rounds; the last column compares seconds per MB with "
        "the normal file of the same format, measured in the same run.",
        "",
        "| format | file | size | CPU time | s per MB | vs normal | answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for fmt, name, data, _ in cases:
        seconds, answer = cost(data, f"results.{fmt.lower()}")
        per_mb = seconds / (len(data) / 1e6)
        if name.startswith("normal"):
            baselines[fmt] = per_mb
        ratio = per_mb / baselines[fmt]
        print(f"{fmt} {name}: {seconds:.3f} s, {per_mb:.2f} s/MB ({ratio:.1f}x)", file=sys.stderr)
        lines.append(
            f"| {fmt} | {name} | {len(data) / 1e6:.3f} MB | {seconds:.3f} s | {per_mb:.2f} "
            f"| {ratio:.1f}× | {answer} |"
        )
    lines += [
        "",
        "Before the bounds (issue #13), on this machine, the XFD file took 23 s and a 10 MB "
        "CSV of separators on one line 14.5 s. Now only the first 64 columns are read, "
        "blank records cost no cell, "
        "a file may be at most ten rows long per data row it may carry (blank rows included), "
        "and an XLSX over 1 MB unpacked may unpack to at most 50 times its size. The last two "
        "files are a few KB: per MB they weigh more than they cost in absolute time.",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(section()))
