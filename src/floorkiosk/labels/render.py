"""Rendering templates to printer documents: ZPL streams, PNG images, PDF pages and sheets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from floorkiosk.labels import pdf as _pdf
from floorkiosk.labels import raster as _raster
from floorkiosk.labels import zpl as _zpl
from floorkiosk.labels.layout import LabelError, Layout, check_dpi, layout
from floorkiosk.labels.templates import Template

FORMATS = ("zpl", "png", "pdf")
MAX_COPIES = 99


def _check_copies(copies: Any) -> int:
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
        raise LabelError(f"copies must be a whole number from 1 to {MAX_COPIES}, not {copies!r}")
    return copies


def _records(records: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if isinstance(records, Mapping):
        return [records]
    return list(records)


def layouts(template: Template, records: Mapping[str, Any] | Iterable[Mapping[str, Any]], dpi: int) -> list[Layout]:
    """Lay out every record first, so one bad record stops the batch before anything is printed."""
    check_dpi(dpi)
    return [layout(template, rec, dpi) for rec in _records(records)]


def render_zpl(template: Template, records: Mapping[str, Any] | Iterable[Mapping[str, Any]], dpi: int = 203,
               copies: int = 1) -> bytes:
    _check_copies(copies)
    check_dpi(dpi)
    # Laid out and written one record at a time (no list of layouts kept), still all-or-nothing:
    # a bad record raises before any byte is returned.
    return "".join(_zpl.label_zpl(layout(template, rec, dpi), copies) for rec in _records(records)).encode("utf-8")


def render_png(template: Template, fields: Mapping[str, Any], dpi: int = 300) -> bytes:
    return _raster.png_bytes(layout(template, fields, dpi))


def render_pdf(template: Template, records: Mapping[str, Any] | Iterable[Mapping[str, Any]], dpi: int = 300) -> bytes:
    return _pdf.labels_pdf(layouts(template, records, dpi))


def render_sheet_pdf(template: Template, records: Mapping[str, Any] | Iterable[Mapping[str, Any]], dpi: int = 300,
                     paper: str = "A4") -> bytes:
    _pdf.paper_size(paper)
    return _pdf.sheet_pdf(layouts(template, records, dpi), paper)


def render(template: Template, records: Sequence[Mapping[str, Any]], fmt: str, dpi: int,
           paper: str | None = None, copies: int = 1) -> list[bytes]:
    """Documents for `fmt`: one ZPL stream, one PDF (sheets when `paper` is given), or a PNG per label."""
    _check_copies(copies)
    if fmt == "zpl":
        return [render_zpl(template, records, dpi, copies)]
    if fmt == "pdf":
        recs = [r for r in _records(records) for _ in range(copies)]
        if paper:
            return [render_sheet_pdf(template, recs, dpi, paper)]
        return [render_pdf(template, recs, dpi)]
    if fmt == "png":
        lays = layouts(template, records, dpi)
        return [_raster.png_bytes(lay) for lay in lays for _ in range(copies)]
    raise LabelError(f"unknown label format {fmt!r}; use {', '.join(FORMATS)}")
