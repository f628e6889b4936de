"""Photos drawn in the terminal with half-block characters: two pixels per cell, top and bottom.

Works in any terminal that shows colour (Textual lowers true colour to what the terminal has);
decoding and scaling run in a worker, so a big JPEG never slows the scan path.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.style import Style
from rich.text import Text

UPPER_HALF = "\u2580"


def halfblock(source: Path | bytes, width: int, height: int) -> Text:
    """The picture scaled to fit width x height cells (aspect kept), as rich Text of half blocks."""
    from PIL import Image

    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
        im = im.convert("RGB")
        # A cell is about twice as tall as wide, and holds two pixel rows: pixels are square.
        im.thumbnail((max(1, width), max(2, height * 2)))
        w, h = im.size
        px = im.load()
    text = Text(no_wrap=True, overflow="crop")
    for y in range(0, h - 1, 2):
        for x in range(w):
            top, bottom = px[x, y], px[x, y + 1]
            text.append(UPPER_HALF, Style(color=f"rgb({top[0]},{top[1]},{top[2]})",
                                          bgcolor=f"rgb({bottom[0]},{bottom[1]},{bottom[2]})"))
        if y + 2 < h - 1:
            text.append("\n")
    return text
