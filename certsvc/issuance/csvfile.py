"""Reading a CSV results file: encoding, Excel's ``sep=`` line, delimiter, quotes.

The bytes are decoded as UTF-8 (with or without BOM) or GB18030 — what Excel in China
writes — and split into numbered records of :class:`~certsvc.issuance.cells.Cell`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from certsvc.errors import BadFile
from certsvc.i18n import N_, Message
from certsvc.issuance.cells import (
    MAX_COLUMNS,
    SAVE_AS,
    Cell,
    Record,
)
from certsvc.issuance.columns import column_letter


def decode_csv(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or GB18030, or raise BadFile."""
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as utf8_error:
        if encoding == "utf-8-sig" or _mostly_utf8(data):
            # UTF-8 with a stray byte: GB18030 would "succeed" and turn every name into
            # other, wrong characters, so refuse instead of guessing.
            raise _undecodable(
                data, utf8_error, Message(N_("UTF-8 text with an invalid byte"))
            ) from None
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            raise _undecodable(
                data, utf8_error, Message(N_("neither UTF-8 nor GB18030 text"))
            ) from None


def _mostly_utf8(data: bytes) -> bool:
    """True when valid non-ASCII UTF-8 characters outnumber the invalid bytes."""
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - invalid
    return valid > invalid


def _undecodable(data: bytes, error: UnicodeDecodeError, what: Message) -> BadFile:
    offset = error.start
    line = data.count(b"\n", 0, offset) + 1
    return BadFile(
        N_(
            "the file is {what} (unreadable byte at offset {offset}, line {line}): "
            "open it in Excel and save it as “CSV UTF-8 (逗号分隔)”, or as .xlsx"
        ),
        what=what,
        offset=offset,
        line=line,
    )


def csv_records(text: str) -> Iterator[Record]:
    """Yield (row number, cells) for each CSV record, blank ones included.

    The work per record is bounded by what it holds, not by how many separators it has: a
    record with nothing but spaces and separators (``,,,,`` to any length) is blank without
    a cell being made, and only the first :data:`~certsvc.issuance.cells.MAX_COLUMNS`
    fields become cells — a value further right refuses the file, since it cannot be any
    column of the results.
    """
    text = _strip_sep_line(text)
    # strict: a quote left open would otherwise swallow the rest of the file into one cell.
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_detect_delimiter(text), strict=True
    )
    row_number = 0
    try:
        for record in reader:
            row_number += 1
            if not "".join(record).strip():
                yield row_number, []  # blank; the caller skips it
                continue
            if len(record) > MAX_COLUMNS and "".join(record[MAX_COLUMNS:]).strip():
                raise BadFile(
                    N_(
                        "row {row} has values beyond column {column} (column {count}): a "
                        "results file has the template's columns only; delete the values far "
                        "to the right (or the extra separators in that line) and upload again"
                    ),
                    row=row_number,
                    column=column_letter(MAX_COLUMNS - 1),
                    count=MAX_COLUMNS,
                )
            yield row_number, [Cell(value) for value in record[:MAX_COLUMNS]]
    except csv.Error as exc:
        raise BadFile(
            N_(
                "the CSV file cannot be read near row {row}: {detail}; "
                "check the quotes in that row, or {advice}"
            ),
            row=row_number + 1,
            detail=str(exc),
            advice=SAVE_AS,
        ) from None


def _strip_sep_line(text: str) -> str:
    """Drop Excel's optional first line ``sep=;``: Excel hides it, so rows keep their numbers."""
    match = re.match(r"sep=[,;\t][ \t]*(\r\n|\n|\r)", text)
    return text if match is None else text[match.end() :]


def _detect_delimiter(text: str) -> str:
    """Pick comma, tab or semicolon: whichever occurs most in the first non-blank line."""
    for line in text.splitlines():
        if line.strip(" \t,;"):
            counts = {d: _count_unquoted(line, d) for d in (",", "\t", ";")}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] > 0 else ","
    return ","


def _count_unquoted(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count
