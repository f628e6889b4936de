"""The bench camera: decoding QR / Code 128 from images and video frames, and taking stage photos.

    decode_image("bag.jpg")                     -> [Decoded(text='FK1:J:…', format='QRCode')]
    CameraScanner(0, on_scan).start()           # a thread over cv2.VideoCapture, one scan per code
    open_camera("demo/photos").capture()        # JPEG bytes for a stage photo (folder or device)
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import zxingcpp

from floorkiosk.devices.worker import DeviceLost, DeviceWorker
from floorkiosk.errors import FloorkioskError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
DEFAULT_FORMATS = ("QRCode", "Code128")
BACKENDS = ("zxing", "pyzbar")


@dataclass(frozen=True)
class Decoded:
    """One code found in an image: its text (as a hardware scanner would send it) and symbology."""

    text: str
    format: str  # "QRCode", "Code128"


def _zxing_formats(names: Sequence[str]) -> zxingcpp.BarcodeFormats:
    try:
        return zxingcpp.barcode_formats_from_str(",".join(names))
    except ValueError as exc:
        raise FloorkioskError(f"unknown barcode format in {list(names)}: {exc}") from None


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as a grayscale array (OpenCV; Pillow for what OpenCV cannot read)."""
    p = Path(path)
    data = np.fromfile(str(p), dtype=np.uint8) if p.is_file() else None
    if data is None:
        raise FloorkioskError(f"{path}: no such image file")
    img = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if img is None:
        try:
            from PIL import Image

            with Image.open(p) as im:
                img = np.asarray(im.convert("L"))
        except Exception as exc:  # Pillow raises many kinds for a file that is not an image
            raise FloorkioskError(f"{path}: not an image this kiosk can read ({exc})") from None
    return img


def _gray(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


class Decoder:
    """A reusable decoder for one backend and set of formats.

    backend  "zxing" (zxing-cpp, the default) or "pyzbar" (where installed)
    formats  symbologies to look for; fewer is faster
    thorough for still images: when the first pass finds nothing, try again on a smoothed image
             with a global-histogram binarizer (rescues low-contrast and screened prints), and
             on a washed-out or dim picture, again with its greys spread over the full range.
             Camera frames use the fast passes: most frames hold no code at all.
    stretch  spread the greys of a low-contrast picture or place before reading it (zxing's
             binarizers see under ~24 grey levels as blank paper). False is the decoder as it was
             before, for benchmarks/bench_decode.py to measure beside.
    """

    def __init__(self, backend: str = "zxing", formats: Sequence[str] = DEFAULT_FORMATS, thorough: bool = False,
                 *, stretch: bool = True) -> None:
        if backend not in BACKENDS:
            raise FloorkioskError(f"unknown decoder backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.formats = tuple(formats)
        self.thorough = thorough
        self.stretch = stretch
        if backend == "zxing":
            self._zx_formats = _zxing_formats(self.formats)
            matrix = [f for f in self.formats if f in ("QRCode", "MicroQRCode", "DataMatrix", "Aztec")]
            self._zx_matrix = _zxing_formats(matrix) if matrix else None
        else:
            try:
                from pyzbar import pyzbar
            except ImportError:
                raise FloorkioskError(
                    "the pyzbar backend needs the 'pyzbar' package and the zbar library: "
                    "pip install 'floorkiosk[pyzbar]' (or use backend zxing)"
                ) from None
            self._pyzbar = pyzbar
            want = {"QRCode": "QRCODE", "Code128": "CODE128"}
            self._zbar_types = [getattr(pyzbar.ZBarSymbol, want.get(f, f.upper())) for f in self.formats]

    def _zxing(
        self,
        gray: np.ndarray,
        binarizer: zxingcpp.Binarizer,
        formats: zxingcpp.BarcodeFormats | None = None,
        try_invert: bool = True,
        try_downscale: bool = True,
    ) -> list[Decoded]:
        return self._zxing_all(gray, binarizer, formats, try_invert, try_downscale)[0]

    def _zxing_all(
        self,
        gray: np.ndarray,
        binarizer: zxingcpp.Binarizer,
        formats: zxingcpp.BarcodeFormats | None = None,
        try_invert: bool = True,
        try_downscale: bool = True,
        errors: bool = False,
    ) -> tuple[list[Decoded], list[tuple[int, int, int, int]]]:
        """The codes read, and (errors=True) where zxing saw a symbol it could not read: (x0, y0, x1, y1).

        return_errors costs little on the global-histogram pass (+7 %), much on local-average (+40 %,
        it keeps decoding every candidate), so it is asked for only where it pays.
        """
        found = zxingcpp.read_barcodes(
            gray,
            formats=self._zx_formats if formats is None else formats,
            binarizer=binarizer,
            try_invert=try_invert,
            try_downscale=try_downscale,
            text_mode=zxingcpp.TextMode.Plain,
            return_errors=errors,
        )
        seen: list[tuple[int, int, int, int]] = []
        for r in found:
            if not r.valid:
                p = r.position
                xs, ys = (p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x), (
                    p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y)
                seen.append((min(xs), min(ys), max(xs), max(ys)))
        return [Decoded(r.text, r.format.name) for r in found if r.valid], seen

    def _fast(self, gray: np.ndarray) -> list[Decoded]:
        # Camera frames, measured in benchmarks/bench_decode.py (1280x720, one core). Most frames
        # hold no code, so what a frame without one costs is what counts:
        #  1. a global-histogram pass for QR alone at full size, without zxing's downscaled retries
        #     (~0.5 ms): it finds most printed labels, and a frame holding one returns here. A
        #     washed-out or dim frame (its greys span under LOW_CONTRAST levels, ~30 µs to tell)
        #     has it again with its greys spread over 0-255, since zxing's binarizers take a code of
        #     under ~24 levels for blank paper, and is read so from here on; that pass also says
        #     where it saw a QR code's finder patterns but could not read the code (4.). Its places
        #     (2.) are still found on the frame as it came, where the edge count allows for a dim
        #     frame; spread, its noise would be edges everywhere;
        #  2. where could a code be (code_regions, ~1 ms): the places dense with sharp edges, found
        #     on a half-size copy. A bench top, tools, hands and pieces have none; a frame without
        #     any place returns [] here;
        #  3. only those places, cut out with a margin, are read for every format: a global-
        #     histogram pass (the label fills the cut-out, so one threshold suits it), and when it
        #     finds nothing the local-average pass, the one that cost ~8 ms over a whole frame;
        #  4. nothing read, but finder patterns seen in 1.: the still-image passes on that place
        #     alone, its greys spread. A frame without a code seldom gets here.
        # Inverted (light-on-dark) codes are skipped: our labels are printed dark on light, and
        # that retry doubles the cost. A frame holding a QR code returns after the first pass, so a
        # second, different code in the same frame is read once the first leaves the view.
        as_it_came = gray
        h, w = gray.shape[:2]
        found, seen = self._first_pass(gray)
        if found:
            return found
        if self.stretch and _span(gray) < LOW_CONTRAST:
            gray = _stretched(gray)
            found, seen = self._first_pass(gray, errors=True)
            if found:
                return found
        boxes = code_regions(as_it_came, floor=_EDGE_FLOOR if self.stretch else _EDGE_FLOOR_BEFORE)
        if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) > 0.6 * w * h:
            boxes = [(0, 0, w, h)]
        out: list[Decoded] = []
        for x0, y0, x1, y1 in boxes:
            crop = gray[y0:y1, x0:x1]
            found = (self._zxing(crop, zxingcpp.Binarizer.GlobalHistogram, try_invert=False)
                     or self._zxing(crop, zxingcpp.Binarizer.LocalAverage, try_invert=False))
            out += [d for d in found if d not in out]
        if out:
            return out
        for x0, y0, x1, y1 in _merged([_around(b, w, h) for b in seen]):
            found = self._thorough(_stretched(gray[y0:y1, x0:x1]), try_invert=False)
            out += [d for d in found if d not in out]
        return out

    def _first_pass(self, gray: np.ndarray, errors: bool = False) -> tuple[list[Decoded], list[tuple[int, int, int, int]]]:
        if self._zx_matrix is None:
            return [], []
        return self._zxing_all(gray, zxingcpp.Binarizer.GlobalHistogram, self._zx_matrix, try_invert=False,
                               try_downscale=False, errors=errors)

    def _thorough(self, gray: np.ndarray, try_invert: bool = True) -> list[Decoded]:
        """The still-image passes: local-average; then, smoothed, global-histogram and local-average."""
        found = self._zxing(gray, zxingcpp.Binarizer.LocalAverage, try_invert=try_invert)
        if not found:
            smooth = cv2.GaussianBlur(gray, (3, 3), 0)
            found = (self._zxing(smooth, zxingcpp.Binarizer.GlobalHistogram, try_invert=try_invert)
                     or self._zxing(smooth, zxingcpp.Binarizer.LocalAverage, try_invert=try_invert))
        return found

    def _zbar(self, gray: np.ndarray) -> list[Decoded]:
        found = self._pyzbar.decode(gray, symbols=self._zbar_types)
        names = {"QRCODE": "QRCode", "CODE128": "Code128"}
        return [Decoded(r.data.decode("utf-8", errors="replace"), names.get(r.type, r.type)) for r in found]

    def decode(self, image: np.ndarray) -> list[Decoded]:
        gray = _gray(image)
        if self.backend == "pyzbar":
            found = self._zbar(gray)
            if not found and self.thorough:
                found = self._zbar(cv2.GaussianBlur(gray, (3, 3), 0))
            return found
        if not self.thorough:
            return self._fast(gray)
        found = self._thorough(gray)
        if not found and self.stretch and _span(gray) < LOW_CONTRAST:
            found = self._thorough(_stretched(gray))  # a washed-out or dim picture: spread its greys first
        return found


LOW_CONTRAST = 48  # grey levels from a picture's dark to its light (1st to 99th percentile) under which its greys are spread


def _ends(gray: np.ndarray) -> tuple[int, int]:
    """The 1st and 99th percentile of a picture's greys, from a few thousand of its pixels."""
    step = max(1, min(gray.shape[:2]) // 64)
    cum = cv2.calcHist([gray[::step, ::step]], [0], None, [256], [0, 256]).ravel().cumsum()  # ~30 µs a frame
    n = float(cum[-1])
    return int(np.searchsorted(cum, 0.01 * n)), int(np.searchsorted(cum, 0.99 * n))


def _span(gray: np.ndarray) -> int:
    lo, hi = _ends(gray)
    return hi - lo


def _stretched(gray: np.ndarray) -> np.ndarray:
    """The same picture with its greys spread over 0-255 (1st and 99th percentile to the ends)."""
    lo, hi = _ends(gray)
    if hi - lo < 2:
        return gray
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    return cv2.LUT(gray, lut)


def _around(box: tuple[int, int, int, int], w: int, h: int) -> tuple[int, int, int, int]:
    """A symbol's box as a place in a w x h frame, with its quiet zone around it."""
    x0, y0, x1, y1 = box
    mx, my = int((x1 - x0) * _MARGIN) + 8, int((y1 - y0) * _MARGIN) + 8
    return (max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my))


def _merged(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Overlapping places as one: a code the edge count split in pieces is read whole."""
    boxes = sorted(boxes)
    changed = True
    while changed:
        changed = False
        out: list[tuple[int, int, int, int]] = []
        for b in boxes:
            for i, a in enumerate(out):
                if b[0] < a[2] and a[0] < b[2] and b[1] < a[3] and a[1] < b[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    changed = True
                    break
            else:
                out.append(b)
        boxes = out
    return boxes


# Where a camera frame could hold a code (see code_regions): the edges counted on a half-size copy,
# in windows of 15 x 15 of its pixels (30 x 30 of the frame's).
_EDGE_LEVEL = 40         # a pixel is on an edge when its 3x3 neighbourhood spans this many grey levels ...
_EDGE_LEVEL_SHARE = 0.25  # ... or this share of the frame's own span, when the frame is dim or flat
_EDGE_FLOOR = 4.0        # ... but never under this: a code in a picture of only 10 grey levels still shows (bench_decode.py)
_EDGE_FLOOR_BEFORE = 10.0  # the floor of the decoder without the stretch, as it was
_EDGE_DENSITY = 0.55     # a place could hold a code when this share of a window is edges
_COARSE_DENSITY = 0.80   # the same, at an eighth of the size, for codes too large for the windows
_WINDOW, _COARSE_WINDOW = 15, 7
_MARGIN = 0.25           # each place is cut out with this share of its size around it (the quiet zone)
_K3 = np.ones((3, 3), np.uint8)


def _dense(small: np.ndarray, level: float, window: int, density: float) -> np.ndarray | None:
    edges = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, _K3)
    edges = cv2.threshold(edges, level, 255, cv2.THRESH_BINARY)[1]
    dense = cv2.threshold(cv2.blur(edges, (window, window)), int(255 * density), 255, cv2.THRESH_BINARY)[1]
    if not cv2.countNonZero(dense):
        return None
    return cv2.dilate(dense, np.ones((window, window), np.uint8))


def code_regions(gray: np.ndarray, floor: float = _EDGE_FLOOR) -> list[tuple[int, int, int, int]]:
    """The places of a grayscale frame that could hold a code: (x0, y0, x1, y1), margins included.

    A QR code or a barcode is a patch where nearly every pixel is on a sharp edge; a bench top,
    tools, a hand or a piece have edges only along their outlines. [] means no code can be there.
    Printed text is dense with edges too, and is offered (reading it finds nothing, at the cost of
    its area only). A frame too small to look at this way is offered whole.
    """
    h, w = gray.shape[:2]
    if min(h, w) < 64:
        return [(0, 0, w, h)]
    small = cv2.resize(gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    lo, hi = np.percentile(small[::4, ::4], (1, 99))
    level = max(floor, min(_EDGE_LEVEL, _EDGE_LEVEL_SHARE * float(hi - lo)))
    dense, scale = _dense(small, level, _WINDOW, _EDGE_DENSITY), 2
    if dense is None and min(h, w) >= 256:
        # a code filling much of the view has modules wider than the windows: look again, coarser
        tiny = cv2.resize(small, (small.shape[1] // 4, small.shape[0] // 4), interpolation=cv2.INTER_AREA)
        dense, scale = _dense(tiny, level, _COARSE_WINDOW, _COARSE_DENSITY), 8
    if dense is None:
        return []
    out = []
    for contour in cv2.findContours(dense, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
        x, y, cw, ch = cv2.boundingRect(contour)
        mx, my = int(cw * _MARGIN) + 4, int(ch * _MARGIN) + 4
        out.append((max(0, (x - mx) * scale), max(0, (y - my) * scale),
                    min(w, (x + cw + mx) * scale), min(h, (y + ch + my) * scale)))
    return out


_decoders: dict[tuple[str, tuple[str, ...], bool], Decoder] = {}


def decode_image(
    image: str | Path | np.ndarray,
    backend: str = "zxing",
    formats: Sequence[str] = DEFAULT_FORMATS,
    thorough: bool = True,
) -> list[Decoded]:
    """Every QR / Code 128 code in an image file or array (BGR or grayscale); [] when none."""
    key = (backend, tuple(formats), thorough)
    dec = _decoders.get(key)
    if dec is None:
        dec = _decoders[key] = Decoder(backend, formats, thorough)
    arr = image if isinstance(image, np.ndarray) else load_image(image)
    return dec.decode(arr)


class Deduper:
    """Counts a code once while it stays in view: seen again within `seconds`, it is not new.

    Each sighting renews the window, so a job bag held under the camera is one scan; taken away
    for longer than `seconds` and shown again, it is a new scan.
    """

    def __init__(self, seconds: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._seen: dict[str, float] = {}

    def is_new(self, text: str) -> bool:
        now = self.clock()
        last = self._seen.get(text)
        self._seen[text] = now
        if len(self._seen) > 256:  # forget codes long out of view
            self._seen = {t: s for t, s in self._seen.items() if now - s < self.seconds}
        return last is None or now - last >= self.seconds


# -- frame sources -------------------------------------------------------------------------------


class Camera(Protocol):
    """What the kiosk needs from a camera: frames to scan and JPEG stills for stage photos."""

    def read(self) -> np.ndarray | None: ...

    def capture(self) -> bytes: ...

    def close(self) -> None: ...


class FolderCamera:
    """A 'camera' that shows the images of a folder one after another, cycling (demo and tests).

    capture() returns the next image as JPEG bytes (JPEG files unchanged, others re-encoded);
    read() returns the next image as a BGR array, like a video frame.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if self.folder.is_dir() else []
        if not self.files:
            raise FloorkioskError(f"{folder}: no images to show (looked for {', '.join(IMAGE_SUFFIXES)})")
        self._i = 0
        self._lock = threading.Lock()

    def _next(self) -> Path:
        with self._lock:
            p = self.files[self._i % len(self.files)]
            self._i += 1
            return p

    def capture(self) -> bytes:
        p = self._next()
        data = p.read_bytes()
        if p.suffix.lower() in (".jpg", ".jpeg"):
            return data
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            out = io.BytesIO()
            im.convert("RGB").save(out, "JPEG", quality=95)
            return out.getvalue()

    def read(self) -> np.ndarray | None:
        p = self._next()
        img = cv2.imdecode(np.fromfile(str(p), dtype=np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            from PIL import Image

            with Image.open(p) as im:
                img = cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)
        return img

    def close(self) -> None:
        pass


class OpenCvCamera:
    """A camera through cv2.VideoCapture: a device index (0), a device path, a file or a stream URL."""

    def __init__(self, source: int | str, width: int | None = None, height: int | None = None) -> None:
        self.source = source
        self._cap = cv2.VideoCapture(source)
        if not self._cap.isOpened():
            raise FloorkioskError(f"camera {source!r} could not be opened (unplugged, busy, or a wrong address?)")
        if width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._lock = threading.Lock()

    def read(self) -> np.ndarray | None:
        with self._lock:
            ok, frame = self._cap.read()
        return frame if ok else None

    def capture(self, quality: int = 95) -> bytes:
        frame = self.read()
        if frame is None:
            raise FloorkioskError(f"camera {self.source!r} gave no picture")
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise FloorkioskError("the picture could not be encoded as JPEG")
        return buf.tobytes()

    def close(self) -> None:
        with self._lock:
            self._cap.release()


def _source(source: int | str | Path) -> int | str:
    if isinstance(source, str) and source.isdigit():
        return int(source)
    return source if isinstance(source, int) else str(source)


def open_camera(source: int | str | Path) -> FolderCamera | OpenCvCamera:
    """A FolderCamera for a folder of images, otherwise an OpenCV camera (index, path, URL)."""
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        return FolderCamera(source)
    return OpenCvCamera(_source(source))


class CameraScanner(DeviceWorker):
    """A daemon thread that reads camera frames, decodes them, and calls on_scan(text) once per code.

    source          device index, device path, video file, stream URL, or a folder of images
                    (opened by the scanner, and opened again when it stops giving pictures), or
                    a Camera the caller owns (read again after `retry` when it gives none)
    on_scan         called from this thread with the code's text (the kiosk marshals it to the UI)
    dedupe_seconds  the same code seen again within this time counts once
    backend         "zxing" or "pyzbar"
    fps             at most this many frames decoded per second (leave the CPU to the kiosk)
    on_state        optional: called with "connected" / "disconnected: …" when that changes
    on_error        optional: called with the message when the camera fails (then it retries)
    """

    device_errors = (FloorkioskError, OSError)

    def __init__(
        self,
        source: int | str | Path | Camera,
        on_scan: Callable[[str], None],
        dedupe_seconds: float = 2.0,
        backend: str = "zxing",
        *,
        formats: Sequence[str] = DEFAULT_FORMATS,
        fps: float = 15.0,
        on_state: Callable[[str], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        retry: float = 0.5,
    ) -> None:
        self.source = source
        self.on_scan = on_scan
        self.on_error = on_error
        self.decoder = Decoder(backend, formats)
        self.dedupe = Deduper(dedupe_seconds)
        self.fps = fps
        self.retry = retry
        self.frames = 0
        self._owned = isinstance(source, (int, str, Path))
        self._init_worker(on_state)

    def _thread_name(self) -> str:
        return "camera scanner"

    def _set_state(self, state: str) -> None:
        changed = state != self.state
        super()._set_state(state)
        if changed and self.on_error and state.startswith("disconnected: "):
            self.on_error(state[len("disconnected: "):])

    def _open_device(self) -> Camera:
        return open_camera(self.source) if self._owned else self.source  # type: ignore[arg-type,return-value]

    def _close_device(self, camera: Camera) -> None:
        if self._owned:
            super()._close_device(camera)

    def _serve(self, camera: Camera) -> None:
        period = 1.0 / self.fps if self.fps else 0.0
        while not self._stop.is_set():
            started = time.monotonic()
            frame = camera.read()
            if frame is None:
                raise DeviceLost(f"camera {self.source!r} gave no picture; reopening")
            self.frames += 1
            for code in self.decoder.decode(frame):
                if self.dedupe.is_new(code.text):
                    try:
                        self.on_scan(code.text)
                    except Exception:  # a broken listener must not stop the camera
                        pass
            self._stop.wait(max(0.0, period - (time.monotonic() - started)))
