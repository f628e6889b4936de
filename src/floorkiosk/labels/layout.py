"""Placing a template's elements for one record at one printer resolution, in printer dots.

Every renderer (ZPL, PNG, PDF) draws the same layout, so a label looks and scans the same whichever
way it is printed. Symbols are snapped to whole dots per module: a module of 2.4 dots prints as a
mix of 2- and 3-dot bars, which cheap laser scanners misread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from floorkiosk.domain.payloads import encode
from floorkiosk.errors import FloorkioskError, Refused
from floorkiosk.labels import fonts, symbols
from floorkiosk.labels.templates import QR, Box, Template, Text

SUPPORTED_DPI = (203, 300, 600)
MM_PER_INCH = 25.4
# The narrowest module a cheap 1D laser scanner reads reliably: 0.25 mm, i.e. 2 dots at 203 dpi,
# 3 at 300 and 6 at 600.
MIN_MODULE_MM = 0.25
MAX_MODULE_DOTS = 10  # the largest ^BY module width and ^BQ magnification a Zebra accepts
MIN_TEXT_SCALE = 0.7  # text shrinks to 70 % to fit its box before it is cut short with '…'


class LabelError(FloorkioskError):
    """A label that cannot be made as asked: the message says which template, field or printer."""


def check_dpi(dpi: Any) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi not in SUPPORTED_DPI:
        raise Refused(f"printer resolution {dpi!r} dpi is not supported; use 203, 300 or 600")
    return dpi


def dots(mm: float, dpi: int) -> int:
    return int(round(mm * dpi / MM_PER_INCH))


def min_module(dpi: int) -> int:
    return math.ceil(MIN_MODULE_MM * dpi / MM_PER_INCH - 1e-9)


# Placed items are NamedTuples: a label has a dozen of them and ZPL is made at thousands of labels
# a second, where a frozen dataclass's slower construction shows.
class PlacedText(NamedTuple):
    x: int
    y: int
    w: int
    size: int  # character height in dots
    text: str
    align: str
    bold: bool
    reverse: bool


class PlacedBox(NamedTuple):
    x: int
    y: int
    w: int
    h: int
    line: int
    fill: bool


class PlacedQR(NamedTuple):
    x: int  # top-left of the symbol itself; the quiet zone lies around it
    y: int
    module: int  # dots per module
    side: int  # modules per side
    payload: str


class PlacedCode128(NamedTuple):
    x: int  # first bar; the quiet zones lie left and right of [x, x + width)
    y: int
    module: int
    width: int  # dots from first to last bar
    height: int
    payload: str
    values: tuple[int, ...]  # the Code 128 symbol values, start code first (see symbols.py)


Placed = PlacedText | PlacedBox | PlacedQR | PlacedCode128


class Layout(NamedTuple):
    template: Template
    dpi: int
    width: int  # stock size in dots
    height: int
    payload: str
    items: tuple[Placed, ...]


def payload_for(template: Template, fields: Mapping[str, Any]) -> str:
    """The scan payload the label's symbols carry, from the template's kind and key field."""
    value = fields.get(template.key_field)
    if value is None or value == "":
        raise LabelError(f"template {template.name!r} needs the field {template.key_field!r} for its barcode")
    try:
        return encode(template.payload_kind, str(value))
    except ValueError as exc:
        raise LabelError(f"template {template.name!r}: {exc}") from None


# Fields every template may print without the record supplying them.
DERIVED_FIELDS = frozenset({"payload"})


def _text_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_text_value(v) for v in value)
    return str(value)


class _Values(dict):
    def __missing__(self, key: str) -> str:
        raise LabelError(f"label field {key!r} is missing")


def layout(template: Template, fields: Mapping[str, Any], dpi: int) -> Layout:
    """Place every element of `template` for one record. Raises LabelError naming what is wrong."""
    plan = _plan(template, dpi)
    for name in plan.required:
        if name not in fields:
            missing = sorted(f for f in plan.required if f not in fields)
            raise LabelError(f"template {template.name!r} needs field(s) {', '.join(missing)} that the record lacks")
    payload = payload_for(template, fields)
    values = _Values((k, _text_value(v)) for k, v in fields.items())
    values["payload"] = payload
    items: list[Placed] = []
    for el, geo in plan.elements:
        if el.when is not None and not fields.get(el.when):
            continue
        if type(el) is Text:
            x, y, w, size = geo
            text = el.text.format_map(values) if "{" in el.text else el.text
            if "\n" in text or "  " in text or "\t" in text:
                text = " ".join(text.split())  # a newline in a design name must not break the field
            size, text = fonts.fit(text, size, w, el.bold)
            if text:
                items.append(PlacedText(x, y, w, size, text, el.align, el.bold, el.reverse))
        elif type(el) is Box:
            items.append(PlacedBox(*geo, el.fill))
        elif type(el) is QR:
            items.append(_place_qr(template, el, geo, payload, dpi))
        else:
            items.append(_place_code128(template, geo, payload, dpi))
    return Layout(template, dpi, plan.width, plan.height, payload, tuple(items))


class _Plan(NamedTuple):
    width: int
    height: int
    required: tuple[str, ...]  # fields the record must have
    elements: tuple[tuple[Any, tuple[int, ...]], ...]  # each element with its position in dots


def _plan(template: Template, dpi: int) -> _Plan:
    """Everything about a template at one resolution that no record changes, worked out once."""
    # Only a true int finds its plan: 300.0 or True would match the key 300 or 1 and slip past check_dpi.
    plan = template.cache.get(dpi) if type(dpi) is int else None
    if plan is not None:
        return plan
    check_dpi(dpi)
    out = []
    for el in template.elements:
        if isinstance(el, Text):
            geo: tuple[int, ...] = (dots(el.x, dpi), dots(el.y, dpi), dots(el.w, dpi), max(1, dots(el.size, dpi)))
        elif isinstance(el, Box):
            w, h = max(1, dots(el.w, dpi)), max(1, dots(el.h, dpi))
            line = min(w, h) if el.fill else max(1, dots(el.line, dpi))
            geo = (dots(el.x, dpi), dots(el.y, dpi), w, h, min(line, w, h))
        elif isinstance(el, QR):
            geo = (dots(el.x, dpi), dots(el.y, dpi), dots(el.size, dpi))
        else:
            geo = (dots(el.x, dpi), dots(el.y, dpi), dots(el.w, dpi), max(1, dots(el.h, dpi)))
        out.append((el, geo))
    required = tuple(sorted(template.fields - DERIVED_FIELDS))
    plan = _Plan(dots(template.width_mm, dpi), dots(template.height_mm, dpi), required, tuple(out))
    template.cache[dpi] = plan
    return plan


def _place_qr(template: Template, el: QR, geo: tuple[int, ...], payload: str, dpi: int) -> PlacedQR:
    x, y, size = geo
    try:
        side = symbols.qr_side(payload)
    except symbols.SymbolError as exc:
        raise LabelError(f"template {template.name!r}: {exc}") from None
    total = side + 2 * symbols.QR_QUIET
    module = min(size // total, MAX_MODULE_DOTS)
    if module < min_module(dpi):
        raise LabelError(
            f"template {template.name!r}: the QR code for {payload!r} needs a {el.size:g} mm square of at least "
            f"{total * min_module(dpi) * MM_PER_INCH / dpi:.1f} mm at {dpi} dpi"
        )
    off = (size - side * module) // 2  # centred: the quiet zone is what is left around it
    return PlacedQR(x + off, y + off, module, side, payload)


def _place_code128(template: Template, geo: tuple[int, ...], payload: str, dpi: int) -> PlacedCode128:
    x, y, w, h = geo
    try:
        values = symbols.code128_values(payload)
    except symbols.SymbolError as exc:
        raise LabelError(f"template {template.name!r}: {exc}") from None
    modules = symbols.code128_width(values)
    total = modules + 2 * symbols.CODE128_QUIET
    module = min(w // total, MAX_MODULE_DOTS)
    if module < min_module(dpi):
        need = total * min_module(dpi) * MM_PER_INCH / dpi
        raise LabelError(
            f"template {template.name!r}: the Code 128 for {payload!r} needs {need:.1f} mm with its quiet zones "
            f"at {dpi} dpi; the template gives it {w * MM_PER_INCH / dpi:.1f} mm"
        )
    width = modules * module
    return PlacedCode128(x + (w - width) // 2, y, module, width, h, payload, values)
