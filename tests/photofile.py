"""Real photos for the tests: small JPEGs saved in a site's photo store, so evidence is evidence."""

from __future__ import annotations

import io
import hashlib
from pathlib import Path

from PIL import Image

from floorkiosk.devices.photos import PhotoStore


def jpeg(n: int = 0) -> bytes:
    """A small JPEG, different for each n."""
    img = Image.new("RGB", (64, 48), ((n * 37) % 256, (n * 91) % 256, (n * 53 + 90) % 256))
    for x in range(0, 64, 8):
        img.putpixel((x, (n + x) % 48), (255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def stored_photo(photos_dir: str | Path, n: int = 0) -> str:
    """The hash of photo n, saved in this photo store (as the bench camera's photos are)."""
    return PhotoStore(photos_dir).save(jpeg(n)).sha256


def photo_hash(n: int = 0) -> str:
    """The hash photo n has once stored (JPEG encoding of the same picture gives the same bytes)."""
    return hashlib.sha256(jpeg(n)).hexdigest()
