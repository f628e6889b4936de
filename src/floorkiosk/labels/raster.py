"""PNG labels: a 1-bit image at the printer's own resolution, one image pixel per printer dot."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from floorkiosk.labels import fonts, symbols
from floorkiosk.labels.layout import Layout, PlacedBox, PlacedCode128, PlacedQR, PlacedText

WHITE, BLACK = 1, 0


def _qr_image(item: PlacedQR) -> Image.Image:
    matrix = symbols.qr_matrix(item.payload)
    side = len(matrix)
    # Mode "1" packs 8 pixels a byte, most significant first; dark modules are 0 bits.
    rows = bytearray()
    for row in matrix:
        bits = 0
        for dark in row:
            bits = (bits << 1) | (not dark)
        pad = (-side) % 8
        rows += (bits << pad).to_bytes((side + pad) // 8, "big")
    small = Image.frombytes("1", (side, side), bytes(rows))
    return small.resize((side * item.module, side * item.module), Image.Resampling.NEAREST)


def _code128_image(item: PlacedCode128) -> Image.Image:
    pattern = symbols.code128_modules(item.payload)
    n = len(pattern)
    pad = (-n) % 8
    line = int(pattern.translate(_INVERT) + "1" * pad, 2).to_bytes((n + pad) // 8, "big")
    row = Image.frombytes("1", (n, 1), line)
    return row.resize((n * item.module, item.height), Image.Resampling.NEAREST)


_INVERT = str.maketrans("10", "01")


def draw(lay: Layout) -> Image.Image:
    """The label as a 1-bit PIL image, lay.width x lay.height pixels."""
    img = Image.new("1", (lay.width, lay.height), WHITE)
    pen = ImageDraw.Draw(img)
    for item in lay.items:
        if isinstance(item, PlacedText):
            font = fonts.pil_font(item.bold, item.size)
            x = item.x
            if item.align != "left":
                spare = item.w - pen.textlength(item.text, font=font)
                x += int(spare / 2) if item.align == "center" else int(spare)
            pen.text((x, item.y), item.text, font=font, fill=WHITE if item.reverse else BLACK)
        elif isinstance(item, PlacedBox):
            x1, y1 = item.x + item.w - 1, item.y + item.h - 1
            if item.fill:
                pen.rectangle((item.x, item.y, x1, y1), fill=BLACK)
            else:
                pen.rectangle((item.x, item.y, x1, y1), outline=BLACK, width=item.line)
        elif isinstance(item, PlacedQR):
            img.paste(_qr_image(item), (item.x, item.y))
        elif isinstance(item, PlacedCode128):
            img.paste(_code128_image(item), (item.x, item.y))
    return img


def png_bytes(lay: Layout) -> bytes:
    buf = io.BytesIO()
    # Level 1: labels are mostly white and compress well anyway; the kiosk prints while people wait.
    draw(lay).save(buf, "PNG", dpi=(lay.dpi, lay.dpi), compress_level=1)
    return buf.getvalue()
