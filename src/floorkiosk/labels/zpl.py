"""ZPL II for Zebra printers: the printer draws the barcodes itself (^BC, ^BQ), crisp at any dpi.

Building the bytes is a pure function of the layout; golden files in tests/labels/golden pin them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from floorkiosk.labels import symbols
from floorkiosk.labels.layout import Layout, PlacedBox, PlacedCode128, PlacedQR, PlacedText

_ALIGN = {"left": "L", "center": "C", "right": "R"}
# ^FH hex escapes for characters ZPL would read as commands (^, ~), as the ^FH escape itself (_),
# or as a ^FB line break (\&).
_ESCAPE = {c: f"_{ord(c):02X}" for c in "^~_\\"}
_NEEDS_ESCAPE = re.compile(r"[\^~_\\]")
# ^BQ placed with ^FO prints lower by the current ^BY bar height (a firmware quirk that the
# emulators reproduce); the height is pinned here and the field origin raised by as much.
_QR_BY_HEIGHT = 10


def _field_data(text: str) -> str:
    if _NEEDS_ESCAPE.search(text):
        return "^FH^FD" + "".join(_ESCAPE.get(c, c) for c in text)
    return "^FD" + text


def label_zpl(lay: Layout, copies: int = 1) -> str:
    """One ^XA … ^XZ format for one label."""
    out = [f"^XA^CI28^PW{lay.width}^LL{lay.height}^LH0,0"]
    for item in lay.items:
        if isinstance(item, PlacedText):
            rev = "^FR" if item.reverse else ""
            out.append(
                f"^FO{item.x},{item.y}^A0N,{item.size},{item.size}^FB{item.w},1,0,{_ALIGN[item.align]},0"
                f"{rev}{_field_data(item.text)}^FS"
            )
        elif isinstance(item, PlacedBox):
            out.append(f"^FO{item.x},{item.y}^GB{item.w},{item.h},{item.line},B,0^FS")
        elif isinstance(item, PlacedCode128):
            # Mode N with explicit invocation codes; no interpretation line (the label prints its own).
            out.append(
                f"^FO{item.x},{item.y}^BY{item.module},2,{item.height}"
                f"^BCN,{item.height},N,N,N,N^FD{symbols.zpl_code128_data(item.payload, item.values)}^FS"
            )
        elif isinstance(item, PlacedQR):
            out.append(
                f"^BY2,2,{_QR_BY_HEIGHT}^FO{item.x},{max(0, item.y - _QR_BY_HEIGHT)}"
                f"^BQN,2,{item.module}^FD{symbols.zpl_qr_data(item.payload)}^FS"
            )
    if copies > 1:
        out.append(f"^PQ{copies}")
    out.append("^XZ\n")
    return "\n".join(out)


def render_layouts(layouts: Iterable[Layout], copies: int = 1) -> bytes:
    return "".join(label_zpl(lay, copies) for lay in layouts).encode("utf-8")
