"""PDF labels (fpdf2): one label per page at stock size, or sheets of many labels on A4 or Letter.

Symbols are drawn as vector rectangles on the printer's dot grid (the layout's dpi), so an office
printer at that resolution puts every module edge on a dot, as the PNG does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF

from floorkiosk.labels import fonts, symbols
from floorkiosk.labels.layout import MM_PER_INCH, LabelError, Layout, PlacedBox, PlacedCode128, PlacedQR, PlacedText

PAPERS = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
SHEET_MARGIN_MM = 8.0  # inside what office printers can reach on every side
SHEET_GAP_MM = 3.0  # between labels, room for scissors
_FAMILY = "labelsans"


@dataclass(frozen=True)
class SheetGrid:
    columns: int
    rows: int
    left: float  # mm from the page edge to the first label
    top: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


def paper_size(paper: str) -> tuple[float, float]:
    for name, size in PAPERS.items():
        if name.lower() == str(paper).lower():
            return size
    raise LabelError(f"unknown paper {paper!r}; sheets print on {' or '.join(PAPERS)}")


def sheet_grid(label_w: float, label_h: float, paper: str) -> SheetGrid:
    page_w, page_h = paper_size(paper)
    room_w, room_h = page_w - 2 * SHEET_MARGIN_MM, page_h - 2 * SHEET_MARGIN_MM
    cols = int((room_w + SHEET_GAP_MM) // (label_w + SHEET_GAP_MM))
    rows = int((room_h + SHEET_GAP_MM) // (label_h + SHEET_GAP_MM))
    if cols < 1 or rows < 1:
        raise LabelError(f"a {label_w:g} x {label_h:g} mm label does not fit on {paper} paper")
    used_w = cols * label_w + (cols - 1) * SHEET_GAP_MM
    used_h = rows * label_h + (rows - 1) * SHEET_GAP_MM
    return SheetGrid(cols, rows, (page_w - used_w) / 2, (page_h - used_h) / 2)


class _Doc(FPDF):
    def __init__(self, size: tuple[float, float]) -> None:
        super().__init__(unit="mm", format=size)
        self.set_auto_page_break(False)
        self.set_margin(0)
        self.set_producer("floorkiosk")
        regular, bold = fonts.font_path(False), fonts.font_path(True)
        if regular and bold:
            self.add_font(_FAMILY, "", str(regular))
            self.add_font(_FAMILY, "B", str(bold))
            self.family, self.unicode = _FAMILY, True
        else:
            # The PDF core font speaks Latin-1 only; other characters print as '?'.
            self.family, self.unicode = "helvetica", False

    def label(self, lay: Layout, ox: float, oy: float) -> None:
        k = MM_PER_INCH / lay.dpi
        self.set_fill_color(0)
        for item in lay.items:
            if isinstance(item, PlacedText):
                self._text(item, ox, oy, k)
            elif isinstance(item, PlacedBox):
                x, y, w, h = ox + item.x * k, oy + item.y * k, item.w * k, item.h * k
                if item.fill:
                    self.rect(x, y, w, h, "F")
                else:
                    t = item.line * k
                    # Four filled strips rather than a stroked path: a stroke straddles its line and
                    # would spill half its width outside the box the layout gave it.
                    self.rect(x, y, w, t, "F")
                    self.rect(x, y + h - t, w, t, "F")
                    self.rect(x, y, t, h, "F")
                    self.rect(x + w - t, y, t, h, "F")
            elif isinstance(item, PlacedQR):
                m = item.module * k
                x0, y0 = ox + item.x * k, oy + item.y * k
                for r, row in enumerate(symbols.qr_matrix(item.payload)):
                    for start, length in _runs(row):
                        self.rect(x0 + start * m, y0 + r * m, length * m, m, "F")
            elif isinstance(item, PlacedCode128):
                m = item.module * k
                x0, y0, h = ox + item.x * k, oy + item.y * k, item.height * k
                bars = [c == "1" for c in symbols.code128_modules(item.payload)]
                for start, length in _runs(bars):
                    self.rect(x0 + start * m, y0, length * m, h, "F")

    def _text(self, item: PlacedText, ox: float, oy: float, k: float) -> None:
        font = fonts.pil_font(item.bold, item.size)
        text = item.text if self.unicode else item.text.encode("latin-1", "replace").decode("latin-1")
        self.set_font(self.family, "B" if item.bold else "", item.size * 72 / (MM_PER_INCH / k))
        with fonts.LOCK:
            advance = font.getlength(item.text)
            ascent = font.getmetrics()[0]  # PIL places text by its top; PDF by its baseline
        x = item.x
        if item.align != "left":
            spare = item.w - advance
            x += int(spare / 2) if item.align == "center" else int(spare)
        self.set_text_color(255 if item.reverse else 0)
        self.text(ox + x * k, oy + (item.y + ascent) * k, text)


def _runs(cells: Sequence[bool]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark cells, so a bar or a row of modules is one rectangle."""
    runs, start = [], None
    for i, dark in enumerate(cells):
        if dark and start is None:
            start = i
        elif not dark and start is not None:
            runs.append((start, i - start))
            start = None
    if start is not None:
        runs.append((start, len(cells) - start))
    return runs


def labels_pdf(layouts: Sequence[Layout]) -> bytes:
    """One page per label, each page the size of the label stock."""
    if not layouts:
        raise LabelError("no labels to print")
    first = layouts[0].template
    doc = _Doc((first.width_mm, first.height_mm))
    for lay in layouts:
        doc.add_page(format=(lay.template.width_mm, lay.template.height_mm))
        doc.label(lay, 0.0, 0.0)
    return bytes(doc.output())


def sheet_pdf(layouts: Sequence[Layout], paper: str = "A4", cut_marks: bool = True) -> bytes:
    """Many labels per page, left to right and top to bottom, with a light outline to cut along."""
    if not layouts:
        raise LabelError("no labels to print")
    t = layouts[0].template
    if any((lay.template.width_mm, lay.template.height_mm) != (t.width_mm, t.height_mm) for lay in layouts):
        raise LabelError("a sheet holds labels of one size; print each template on its own sheets")
    grid = sheet_grid(t.width_mm, t.height_mm, paper)
    doc = _Doc(paper_size(paper))
    for i, lay in enumerate(layouts):
        slot = i % grid.per_page
        if slot == 0:
            doc.add_page()
        col, row = slot % grid.columns, slot // grid.columns
        ox = grid.left + col * (t.width_mm + SHEET_GAP_MM)
        oy = grid.top + row * (t.height_mm + SHEET_GAP_MM)
        if cut_marks:
            doc.set_draw_color(190)
            doc.set_line_width(0.1)
            doc.rect(ox, oy, t.width_mm, t.height_mm)
        doc.label(lay, ox, oy)
    return bytes(doc.output())
