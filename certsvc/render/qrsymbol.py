"""The certificate's QR symbol: the module matrix from the ``qrcode`` library, drawn by
reportlab as one vector path.

DESIGN.md's QR contract: one https URL, error correction level Q, a 4-module quiet zone,
vector-drawn. ``qrcode`` chooses the smallest version that holds the URL and the mask with the
lowest penalty (ISO/IEC 18004 §7.8.3); this module only turns the dark modules into rectangles,
one per horizontal run, filled together so the printer sees one shape and no seams.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.pdfgen.canvas import FILL_NON_ZERO, Canvas

#: Modules of light margin around the symbol (the standard's minimum).
QUIET_ZONE = 4


@dataclass(frozen=True)
class QrSymbol:
    """A QR symbol at level Q: its version and its rows of modules (quiet zone excluded)."""

    version: int
    rows: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        """Modules per side, quiet zone excluded."""
        return len(self.rows)

    @property
    def width(self) -> int:
        """Modules per side with the quiet zone on both sides."""
        return self.size + 2 * QUIET_ZONE

    def runs(self) -> list[tuple[int, int, int]]:
        """``(x, y, length)`` of every horizontal run of dark modules, top row first."""
        found = []
        for y, row in enumerate(self.rows):
            x = 0
            while x < len(row):
                if row[x]:
                    start = x
                    while x < len(row) and row[x]:
                        x += 1
                    found.append((start, y, x - start))
                else:
                    x += 1
        return found


def encode(text: str) -> QrSymbol:
    """The QR symbol for ``text`` at level Q, the smallest version that holds it."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_Q

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    code.add_data(text.encode())
    code.make(fit=True)
    rows = tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())
    assert code.version is not None  # set by make(fit=True)
    return QrSymbol(code.version, rows)


def draw(canvas: Canvas, symbol: QrSymbol, x: float, y: float, module: float) -> None:
    """Draw ``symbol`` with its quiet zone's lower-left corner at (x, y), ``module`` points
    per module, as one filled vector path in black."""
    top = y + (symbol.width - QUIET_ZONE) * module
    path = canvas.beginPath()
    for col, row, length in symbol.runs():
        left = x + (QUIET_ZONE + col) * module
        path.rect(left, top - (row + 1) * module, length * module, module)
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1, fillMode=FILL_NON_ZERO)
    canvas.restoreState()
