"""Camera decoding on real photographs (zxing-cpp test samples), the frame sources, and photos."""

from __future__ import annotations

import hashlib
import io
import queue
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp
from PIL import Image

from floorkiosk.devices.camera import (
    CameraScanner,
    Decoder,
    Deduper,
    FolderCamera,
    OpenCvCamera,
    decode_image,
    open_camera,
)
from floorkiosk.devices.photos import PhotoStore
from floorkiosk.errors import FloorkioskError, NotFound, Refused

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
IMAGES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".png", ".webp", ".jpg"))


def expected(image: Path) -> str:
    # newline="" keeps the CR LF the codes hold
    with open(image.with_suffix(".txt"), encoding="utf-8", newline="") as f:
        return f.read()


@pytest.mark.parametrize("image", IMAGES, ids=[f"{p.parent.name}/{p.name}" for p in IMAGES])
def test_decodes_real_photo(image):
    found = decode_image(image)
    assert expected(image) in [d.text for d in found]
    fmt = "Code128" if image.parent.name.startswith("code128") else "QRCode"
    assert fmt in [d.format for d in found]


def test_decodes_at_least_what_the_raw_library_does():
    ours = raw = 0
    for image in IMAGES:
        want = expected(image)
        ours += want in [d.text for d in decode_image(image)]
        img = cv2.imread(str(image))
        raw += want in [r.text for r in zxingcpp.read_barcodes(img, text_mode=zxingcpp.TextMode.Plain)]
    assert ours >= raw
    assert ours == len(IMAGES)  # qrcode-2/12, 13, 28 defeat the raw library's first pass


def test_accepts_arrays_bgr_and_gray():
    img = cv2.imread(str(CORPUS / "qrcode-1" / "1.webp"))
    assert decode_image(img)[0].text == expected(CORPUS / "qrcode-1" / "1.webp")
    assert decode_image(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))[0].format == "QRCode"


def test_nothing_found_and_not_an_image(tmp_path):
    blank = np.full((200, 300), 255, np.uint8)
    assert decode_image(blank) == []
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    with pytest.raises(FloorkioskError, match="not an image"):
        decode_image(bad)
    with pytest.raises(FloorkioskError, match="no such image"):
        decode_image(tmp_path / "missing.png")


def test_pyzbar_backend_is_optional():
    try:
        import pyzbar  # noqa: F401
    except ImportError:
        with pytest.raises(FloorkioskError, match="pyzbar"):
            decode_image(CORPUS / "qrcode-1" / "1.webp", backend="pyzbar")
    else:
        assert decode_image(CORPUS / "qrcode-1" / "1.webp", backend="pyzbar")


def test_deduper_counts_a_code_once_while_in_view():
    now = [0.0]
    d = Deduper(2.0, clock=lambda: now[0])
    assert d.is_new("A")
    now[0] = 1.5
    assert not d.is_new("A")  # still in view
    now[0] = 3.0
    assert not d.is_new("A")  # seen 1.5 s ago: the window renews while it stays
    assert d.is_new("B")
    now[0] = 5.5
    assert d.is_new("A")  # gone for 2.5 s, shown again: a new scan


def test_camera_scanner_over_a_folder(tmp_path):
    for name in ("1.webp", "13.webp"):
        (tmp_path / name).write_bytes((CORPUS / "qrcode-1" / name).read_bytes())
    got: queue.Queue[str] = queue.Queue()
    sc = CameraScanner(tmp_path, got.put, dedupe_seconds=60, fps=100).start()
    try:
        first, second = got.get(timeout=5), got.get(timeout=5)
        with pytest.raises(queue.Empty):
            got.get(timeout=0.3)  # the folder cycles, but each code counts once
    finally:
        sc.stop()
    assert {first, second} == {expected(CORPUS / "qrcode-1" / "1.webp"), expected(CORPUS / "qrcode-1" / "13.webp")}
    assert sc.frames > 2


def test_camera_scanner_over_a_video_file(tmp_path):
    """cv2.VideoCapture on a real video file (the same path a network stream URL takes)."""
    frame = cv2.imread(str(CORPUS / "qrcode-1" / "8.webp"))
    h, w = frame.shape[:2]
    canvas = np.full((480, 640, 3), 255, np.uint8)
    canvas[50 : 50 + h, 60 : 60 + w] = frame
    video = tmp_path / "bench.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(10):
        writer.write(canvas)
    writer.release()
    got: queue.Queue[str] = queue.Queue()
    errors: list[str] = []
    sc = CameraScanner(str(video), got.put, fps=100, on_error=errors.append).start()
    try:
        assert got.get(timeout=5) == expected(CORPUS / "qrcode-1" / "8.webp")
    finally:
        sc.stop()


def test_open_camera_picks_the_source(tmp_path):
    (tmp_path / "a.png").write_bytes((CORPUS / "code128-1" / "1.png").read_bytes())
    cam = open_camera(tmp_path)
    assert isinstance(cam, FolderCamera)
    jpeg = cam.capture()
    assert jpeg[:2] == b"\xff\xd8"  # PNG re-encoded as JPEG for a stage photo
    with pytest.raises(FloorkioskError, match="could not be opened"):
        open_camera(tmp_path / "no-such-device.mjpg")
    with pytest.raises(FloorkioskError, match="no images"):
        FolderCamera(tmp_path / "empty")


def _jpeg(w: int, h: int, color=(200, 170, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), color).save(out, "JPEG", quality=90)
    return out.getvalue()


def test_photo_store_names_by_hash_and_is_idempotent(tmp_path):
    store = PhotoStore(tmp_path / "photos")
    data = _jpeg(1600, 1200)
    p = store.save(data)
    assert p.sha256 == hashlib.sha256(data).hexdigest()
    assert p.path.read_bytes() == data  # full resolution, bytes untouched
    assert (p.width, p.height) == (1600, 1200)
    with Image.open(p.thumb_path) as t:
        assert max(t.size) == 320
    assert store.has(p.sha256) and store.path_for(p.sha256) == p.path
    again = store.save(data)
    assert again == p
    assert len(list((tmp_path / "photos").rglob("*.jpg"))) == 2  # one photo, one thumbnail
    assert store.load(p.sha256) == data


def test_photo_store_refuses_what_is_not_a_jpeg(tmp_path):
    store = PhotoStore(tmp_path)
    png = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png, "PNG")
    with pytest.raises(Refused, match="JPEG"):
        store.save(png.getvalue())
    with pytest.raises(Refused, match="not a readable image"):
        store.save(b"\xff\xd8 garbage")
    with pytest.raises(Refused, match="not a photo hash"):
        store.path_for("../../etc/passwd")
    with pytest.raises(NotFound):
        store.load("0" * 64)


def test_photo_store_detects_a_swapped_file(tmp_path):
    store = PhotoStore(tmp_path)
    p = store.save(_jpeg(64, 48))
    p.path.write_bytes(_jpeg(64, 48, (0, 0, 0)))
    with pytest.raises(Refused, match="does not match"):
        store.load(p.sha256)


def test_folder_camera_photo_goes_into_the_store(tmp_path):
    src = tmp_path / "cam"
    src.mkdir()
    (src / "piece.jpg").write_bytes(_jpeg(800, 600))
    store = PhotoStore(tmp_path / "photos")
    p = store.save(open_camera(src).capture())
    assert p.sha256 == hashlib.sha256((src / "piece.jpg").read_bytes()).hexdigest()


def test_opencv_camera_reads_a_video_file(tmp_path):
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (320, 240))
    for _ in range(3):
        writer.write(np.full((240, 320, 3), 128, np.uint8))
    writer.release()
    cam = OpenCvCamera(str(video))
    try:
        jpeg = cam.capture()
    finally:
        cam.close()
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.format == "JPEG" and im.size == (320, 240)


# -- low contrast: the same photographs, washed out --------------------------------------------------

def squeeze(gray: np.ndarray, levels: int, base: int = 100) -> np.ndarray:
    """The picture's greys (0.5th to 99.5th percentile) put on `levels` grey levels from `base` up:
    the same scene, washed out or dim (as benchmarks/bench_decode.py makes them)."""
    g = gray.astype(np.float32)
    lo, hi = np.percentile(g, (0.5, 99.5))
    return np.clip(base + (g - lo) * (levels / max(1.0, hi - lo)), 0, 255).round().astype(np.uint8)


def _gray(image: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(image)), cv2.COLOR_BGR2GRAY)


def _reads(decoder: Decoder, levels: int) -> int:
    return sum(expected(p) in [d.text for d in decoder.decode(squeeze(_gray(p), levels))] for p in IMAGES)


@pytest.mark.parametrize("levels", [20, 15, 10])
def test_the_camera_decoder_reads_washed_out_photos_that_it_could_not_before(levels):
    full = sum(expected(p) in [d.text for d in Decoder("zxing").decode(_gray(p))] for p in IMAGES)
    assert full == len(IMAGES) - 2  # qrcode-2/12 and 13 need the still-image passes at any contrast
    assert _reads(Decoder("zxing"), levels) >= full - 1
    assert _reads(Decoder("zxing", stretch=False), levels) <= len(IMAGES) // 2  # without the stretch: lost


@pytest.mark.parametrize("levels", [20, 15, 10])
def test_the_still_image_decoder_reads_washed_out_photos(levels):
    assert _reads(Decoder("zxing", thorough=True), levels) >= len(IMAGES) - 1
    assert _reads(Decoder("zxing", thorough=True, stretch=False), levels) <= len(IMAGES) // 2


def test_finder_patterns_seen_but_not_read_are_read_again_on_their_place():
    """At 20 grey levels, zxing's first pass sees this QR code's finder patterns and reads nothing;
    the camera decoder goes back to that place with the still-image passes."""
    image = CORPUS / "qrcode-2" / "28.webp"
    low = squeeze(_gray(image), 20)
    lo, hi = np.percentile(low, (1, 99))  # spread as the decoder spreads a washed-out frame
    spread = np.clip((low.astype(np.float32) - lo) * (255 / (hi - lo)), 0, 255).astype(np.uint8)
    first = zxingcpp.read_barcodes(spread, formats=zxingcpp.BarcodeFormat.QRCode,
                                   binarizer=zxingcpp.Binarizer.GlobalHistogram, try_invert=False,
                                   try_downscale=False, return_errors=True)
    assert first and not any(r.valid for r in first)
    assert expected(image) in [d.text for d in Decoder("zxing").decode(low)]


def test_a_camera_scanner_reads_a_label_at_ten_grey_levels(tmp_path):
    image = CORPUS / "qrcode-1" / "1.webp"
    cv2.imwrite(str(tmp_path / "dim.png"), squeeze(_gray(image), 10))
    got: queue.Queue[str] = queue.Queue()
    sc = CameraScanner(tmp_path, got.put, dedupe_seconds=60, fps=100).start()
    try:
        assert got.get(timeout=5) == expected(image)
    finally:
        sc.stop()


def test_a_dim_flat_frame_holds_no_code():
    """The stretch spreads noise too: a dim, noisy bench top with nothing on it still reads as nothing."""
    rng = np.random.default_rng(4)
    bench = np.tile(np.linspace(90, 140, 1280, dtype=np.float32), (720, 1)) + rng.normal(0, 6, (720, 1280))
    cv2.circle(bench, (400, 300), 80, 200, 12)  # a tray
    cv2.line(bench, (700, 100), (1100, 500), 30, 18)  # pliers
    frame = squeeze(np.clip(bench, 0, 255).astype(np.uint8), 10)
    assert Decoder("zxing").decode(frame) == []
    assert Decoder("zxing", thorough=True).decode(frame) == []
