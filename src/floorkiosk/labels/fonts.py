"""The label typeface for PNG and PDF, and text fitting shared by every renderer.

DejaVu Sans Condensed (Debian's fonts-dejavu-core) is narrow like the Zebra's own font 0, so a
line that fits on the PNG also fits on the printer. Without it, Pillow's built-in font is used.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/local/share/fonts"),
    Path("/usr/share/fonts/TTF"),
    Path("/Library/Fonts"),
)
_FILES = {False: "DejaVuSansCondensed.ttf", True: "DejaVuSansCondensed-Bold.ttf"}
_REFERENCE = 200  # widths are measured once at this pixel size and scaled
ELLIPSIS = "…"
# FreeType faces are not safe to use from two threads at once: the print worker and the kiosk may
# both lay out labels. Held only while measuring or rasterising, never while printing.
LOCK = threading.Lock()
MIN_SCALE = 0.7


@lru_cache(maxsize=2)
def font_path(bold: bool) -> Path | None:
    for folder in _DIRS:
        path = folder / _FILES[bold]
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=64)
def pil_font(bold: bool, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path(bold)
    if path is not None:
        return ImageFont.truetype(str(path), size=size)
    return ImageFont.load_default(size=size)


class _Advances(dict):
    """Advance width of each character at the reference size, measured on first use."""

    def __init__(self, bold: bool) -> None:
        super().__init__()
        self.font = pil_font(bold, _REFERENCE)

    def __missing__(self, char: str) -> float:
        with LOCK:
            width = float(self.font.getlength(char))
        self[char] = width
        return width


_ADVANCES = {False: _Advances(False), True: _Advances(True)}


def text_width(text: str, size: int, bold: bool) -> float:
    """Width in dots of `text` at `size` dots (kerning ignored, which errs on the wide side)."""
    adv = _ADVANCES[bold]
    return sum(adv[c] for c in text) * size / _REFERENCE


@lru_cache(maxsize=8192)
def fit(text: str, size: int, width: int, bold: bool) -> tuple[int, str]:
    """Shrink the text (to 70 % at most), then cut it short with '…', so it fits `width` dots."""
    natural = text_width(text, size, bold)
    if natural <= width:
        return size, text
    smaller = math.floor(size * width / natural)
    floor_size = max(1, math.ceil(size * MIN_SCALE))
    if smaller >= floor_size and text_width(text, smaller, bold) <= width:
        return smaller, text
    size = floor_size
    room = width - text_width(ELLIPSIS, size, bold)
    cut = text
    while cut and text_width(cut, size, bold) > room:
        cut = cut[:-1]
    cut = cut.rstrip()
    return size, (cut + ELLIPSIS) if cut else ""
