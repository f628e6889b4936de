"""Stage photos: full-resolution JPEGs stored under their SHA-256, each with a thumbnail beside it.

The event in the journal records only the hash; the hash names the file, so a photo cannot be
swapped without the journal noticing, and saving the same bytes twice stores them once.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path


from floorkiosk.errors import NotFound, Refused

THUMB_SIZE = (320, 320)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredPhoto:
    """A photo in the store: its hash, the JPEG, the thumbnail, and the picture's size in pixels."""

    sha256: str
    path: Path
    thumb_path: Path
    width: int
    height: int


def _atomic_write(path: Path, data: bytes) -> None:
    # Write beside, then rename: a power cut leaves either no file or the whole file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PhotoStore:
    """Photos under `root`, as root/ab/<sha256>.jpg and root/ab/<sha256>.thumb.jpg."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _check(self, sha256: str) -> str:
        if not _HEX64.match(sha256):
            raise Refused(f"not a photo hash: {sha256!r}")
        return sha256

    def path_for(self, sha256: str) -> Path:
        """Where the photo with this hash is (or would be) stored."""
        sha256 = self._check(sha256)
        return self.root / sha256[:2] / f"{sha256}.jpg"

    def thumb_path_for(self, sha256: str) -> Path:
        sha256 = self._check(sha256)
        return self.root / sha256[:2] / f"{sha256}.thumb.jpg"

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def save(self, jpeg: bytes) -> StoredPhoto:
        """Store a JPEG (bytes kept exactly as given) and its thumbnail; idempotent for equal bytes."""
        from PIL import Image, ImageOps, UnidentifiedImageError  # here: every CLI call imports this module

        try:
            with Image.open(io.BytesIO(jpeg)) as im:
                if im.format != "JPEG":
                    raise Refused(f"a stage photo must be a JPEG, this is {im.format or 'unknown'}")
                im.load()
                upright = ImageOps.exif_transpose(im)
                width, height = upright.size
                thumb = upright.convert("RGB")
                thumb.thumbnail(THUMB_SIZE)
                buf = io.BytesIO()
                thumb.save(buf, "JPEG", quality=85)
        except (UnidentifiedImageError, OSError) as exc:
            raise Refused(f"the photo is not a readable image ({exc})") from None
        sha = hashlib.sha256(jpeg).hexdigest()
        path, thumb_path = self.path_for(sha), self.thumb_path_for(sha)
        if not path.is_file():
            _atomic_write(path, jpeg)
        if not thumb_path.is_file():
            _atomic_write(thumb_path, buf.getvalue())
        return StoredPhoto(sha, path, thumb_path, width, height)

    def load(self, sha256: str) -> bytes:
        """The JPEG bytes of a stored photo, checked against their hash."""
        path = self.path_for(sha256)
        if not path.is_file():
            raise NotFound(f"no photo {sha256[:12]}… in {self.root}")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise Refused(f"photo {sha256[:12]}… does not match its hash: the file was changed")
        return data
