"""PNG labels: a 1-bit image at the printer's own resolution, one image pixel per printer dot."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from floorkiosk.labels import fonts, symbols
from floorkiosk.labels.layout import Layout, PlacedBox, PlacedCode128, PlacedQR, PlacedText

WHITE, BLACK = 1, 0


def _qr_image(item: PlacedQR) -> Image.Image:
    matrix = symbols.qr_array(item.payload)
    side = matrix.shape[0]
    # Mode "1" packs 8 pixels a byte, most significant first; dark modules are 0 bits.
    small = Image.frombytes("1", (side, side), np.packbits(~matrix, axis=1).tobytes())
    return small.resize((side * item.module, side * item.module), Image.Resampling.NEAREST)


def _code128_image(item: PlacedCode128) -> Image.Image:
    pattern = symbols.code128_modules(item.payload)
    n = len(pattern)
    pad = (-n) % 8
    line = int(pattern.translate(_INVERT) + "1" * pad, 2).to_bytes((n + pad) // 8, "big")
    row = Image.frombytes("1", (n, 1), line)
    return row.resize((n * item.module, item.height), Image.Resampling.NEAREST)


_INVERT = str.maketrans("10", "01")


@lru_cache(maxsize=512)
def _text_image(text: str, size: int, bold: bool) -> tuple[Image.Image, int, int, int]:
    """The text's glyphs as a 1-bit mask, with its offset from the text origin and its advance.

    Kept: design names, alloys and due dates repeat from label to label, and rasterising glyphs
    is a good part of a PNG label's time.
    """
    font = fonts.pil_font(bold, size)
    with fonts.LOCK:
        left, top, right, bottom = font.getbbox(text)
        mask = Image.new("1", (max(1, right - left), max(1, bottom - top)), 0)
        ImageDraw.Draw(mask).text((-left, -top), text, font=font, fill=1)
        return mask, left, top, int(font.getlength(text))


def draw(lay: Layout) -> Image.Image:
    """The label as a 1-bit PIL image, lay.width x lay.height pixels."""
    img = Image.new("1", (lay.width, lay.height), WHITE)
    pen = ImageDraw.Draw(img)
    for item in lay.items:
        if isinstance(item, PlacedText):
            mask, left, top, advance = _text_image(item.text, item.size, item.bold)
            x = item.x
            if item.align == "center":
                x += int((item.w - advance) / 2)
            elif item.align == "right":
                x += item.w - advance
            img.paste(WHITE if item.reverse else BLACK, (x + left, item.y + top), mask)
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


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(lay: Layout) -> bytes:
    """The label as a 1-bit greyscale PNG carrying its resolution (pHYs), so it prints to scale.

    Written directly rather than through Pillow's PNG encoder, which spends more time on a bilevel
    label than drawing it does: a mode "1" image's bytes already are PNG's 1-bit rows (1 = white).
    """
    img = draw(lay)
    raw = img.tobytes()
    stride = (lay.width + 7) // 8
    # Filter type 0 (none) on every row; level 1 because labels are mostly white and compress
    # well anyway, and the kiosk prints while a person waits.
    rows = b"".join(b"\0" + raw[i : i + stride] for i in range(0, len(raw), stride))
    ppm = round(lay.dpi / 0.0254)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", struct.pack(">IIBBBBB", lay.width, lay.height, 1, 0, 0, 0, 0)),
        _chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)),
        _chunk(b"IDAT", zlib.compress(rows, 1)),
        _chunk(b"IEND", b""),
    ))
