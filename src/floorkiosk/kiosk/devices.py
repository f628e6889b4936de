"""The bench's devices as the kiosk sees them: started in threads, reporting back through callbacks.

Nothing here touches Textual: the app hands in thread-safe callbacks (its post_message) and gets
readings, scans and device states back. A device that is missing, unplugged or slow only changes
what its cell in the device strip says; it never holds up the screen.

Bench config read here (site.toml, under each [[benches]]):

    [benches.scale]    url = "/dev/ttyUSB0" | "socket://host:port" | "sim:PROFILE" (a simulated balance
                       on a pty), profile = "mt-sics", readability = 0.001 (grams), unit = "g" (what
                       the balance is set to show; a Sartorius SBI line gives none while it moves)
    [benches.camera]   source = 0 | "/dev/video0" | "rtsp://…" | "folder:PATH" (images of a folder,
                       relative to the site folder)
    [benches.scanner]  type = "keyboard" (default) | "serial" | "hid" | "camera"; url (serial), device
                       (hid: /dev/input/by-id/…-event-kbd, read with an exclusive grab) or source
                       (camera); prefix, suffix: text the scanner sends around each code;
                       max_key_gap_ms: keys closer than this are a scanner (default: the site's)
    [benches.printer]  uri = "tcp://host:9100" | "cups:QUEUE" | "file:PATH"
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from floorkiosk.devices.profiles import ProfileError, load_profile
from floorkiosk.devices.scaleparse import Reading
from floorkiosk.errors import FloorkioskError
from floorkiosk.workshop import verbs

OK, WARN, OFF, NONE = "ok", "warn", "off", "none"


@dataclass(frozen=True)
class Cell:
    """What the device strip shows for one device: its state and a few words."""

    device: str  # scanner, scale, camera, printer, hub
    state: str  # ok, warn, off (configured but not working), none (not configured)
    text: str


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class BenchDevices:
    """The scale, camera, scanners, printer and hub link of one bench.

    on_scale(event)        a Reading or ScaleStatus from the balance (~10 a second), device thread
    on_scan(text, source)  a scan from a serial or camera scanner, device thread
    on_cell(cell)          a device's state changed, any thread
    """

    def __init__(self, shop: Any, bench_id: str, *, demo: bool = False, enabled: bool = True) -> None:
        self.shop = shop
        self.bench = shop.bench(bench_id)
        self.demo = demo
        self.enabled = enabled
        self.sim: Any = None  # the ScaleSimulator behind a "sim:" scale
        self.monitor: Any = None
        self.readability: Decimal = verbs.readability(shop, bench_id)
        self._scanners: list[Any] = []
        self._sync: Any = None  # the hub's background sync, when the site has a hub
        self._camera: Any = None
        self._camera_lock = threading.Lock()
        self.cells: dict[str, Cell] = {}
        self.on_scale: Callable[[Any], None] = lambda e: None
        self.on_scan: Callable[[str, str], None] = lambda text, source: None
        self.on_cell: Callable[[Cell], None] = lambda c: None
        self._init_cells()

    @classmethod
    def none(cls, shop: Any, bench_id: str) -> "BenchDevices":
        """No devices at all (the keyboard still scans): for screenshots and for a bench being set up."""
        return cls(shop, bench_id, enabled=False)

    # -- state -------------------------------------------------------------------------------------
    def _set(self, device: str, state: str, text: str) -> None:
        cell = Cell(device, state, text)
        if self.cells.get(device) != cell:
            self.cells[device] = cell
            self.on_cell(cell)

    def _init_cells(self) -> None:
        b = self.bench
        scanner = b.scanner.get("type", "keyboard") if b.scanner else "keyboard"
        self.cells["scanner"] = Cell("scanner", OK, "keyboard" if scanner == "keyboard" else f"{scanner} + keyboard")
        if not self.enabled or b.scale is None:
            self.cells["scale"] = Cell("scale", NONE, "no scale")
        else:
            self.cells["scale"] = Cell("scale", WARN, "connecting")
        self.cells["camera"] = self._camera_cell()
        self.cells["printer"] = (Cell("printer", OK, "printer") if b.printer and self.enabled
                                 else Cell("printer", NONE, "no printer"))
        if self.shop.site.settings.hub is None:
            self.cells["hub"] = Cell("hub", NONE, "hub: none")
        elif not _has("floorkiosk.workshop.sync"):
            self.cells["hub"] = Cell("hub", OFF, "hub: not installed")
        else:
            self.cells["hub"] = Cell("hub", WARN, "hub: checking")

    def camera_source(self) -> str | int | None:
        if not self.enabled or self.bench.camera is None:
            return None
        src = self.bench.camera.get("source")
        if src is None:
            return None
        if isinstance(src, int):
            return src
        src = str(src)
        if src.startswith("folder:"):
            p = Path(src[len("folder:"):])
            return str(p if p.is_absolute() else self.shop.dir / p)
        return int(src) if src.isdigit() else src

    def _camera_cell(self) -> Cell:
        src = self.camera_source()
        if src is None:
            return Cell("camera", NONE, "no camera")
        if not _has("floorkiosk.devices.camera"):
            return Cell("camera", OFF, "camera: no driver")
        if isinstance(src, str) and not src.startswith(("rtsp:", "http:", "https:")) and not Path(src).exists():
            return Cell("camera", OFF, "camera: not found")
        return Cell("camera", OK, "camera")

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        if not self.enabled:
            return
        self._start_scale()
        self._start_scanners()
        self._start_sync()

    def _start_sync(self) -> None:
        if self.shop.site.settings.hub is None or not _has("floorkiosk.workshop.sync"):
            return
        try:
            from floorkiosk.workshop import sync  # start-up cost: psycopg (~150 ms), hub sites only

            self._sync = sync.start_background_sync(self.shop, self.bench.id)
        except Exception as exc:  # an unreachable or misconfigured hub: the bench works on, locally
            self._set("hub", OFF, f"hub: {exc}"[:40])

    def stop(self) -> None:
        if self._sync is not None:
            try:
                self._sync.stop(2.0)
            except Exception:
                pass
            self._sync = None
        for s in self._scanners:
            try:
                s.stop()
            except Exception:
                pass
        self._scanners = []
        if self.monitor is not None:
            self.monitor.stop()
            self.monitor = None
        if self.sim is not None:
            self.sim.stop()
            self.sim = None
        with self._camera_lock:
            if self._camera is not None:
                try:
                    self._camera.close()
                except Exception:
                    pass
                self._camera = None

    def _start_scale(self) -> None:
        cfg = self.bench.scale
        if cfg is None:
            return
        url = str(cfg.get("url", ""))
        profile = str(cfg.get("profile") or (url[4:] if url.startswith("sim:") else ""))
        if not url or not profile:
            self._set("scale", OFF, "scale: no url or profile in site.toml")
            return
        try:
            from floorkiosk.devices.scales import ScaleMonitor  # start-up cost: pyserial loads only where the bench has a scale

            try:
                load_profile(profile)
            except ProfileError:
                # the full list of known profiles is in `floorkiosk devices`; the strip has room for the name
                self._set("scale", OFF, f"scale: unknown profile {profile!r}")
                return
            if url.startswith("sim:"):
                from floorkiosk.devices.sim import ScaleSimulator  # the demo's simulated balance only

                self.sim = ScaleSimulator(url[4:] or profile, settle_time=0.8, readability=self.readability or None)
                if cfg.get("unit"):
                    self.sim.set_unit(str(cfg.get("unit")))  # the simulated balance is set as the bench says
                url = self.sim.start()
            self.monitor = ScaleMonitor(url, profile, self._scale_event, readability=self.readability or None,
                                        unit=str(cfg.get("unit")) if cfg.get("unit") else None)
        except (FloorkioskError, OSError, ImportError) as exc:
            self._set("scale", OFF, f"scale: {exc}")
            return
        self.monitor.start()

    def _scale_event(self, event: Any) -> None:

        self.on_scale(event)
        if isinstance(event, Reading):
            self._set("scale", OK, "scale")
        else:
            state = OFF if event.kind.value in ("disconnected", "silent", "unparseable") else WARN
            self._set("scale", state, f"scale: {event.kind.value.replace('_', ' ')}")

    def _start_scanners(self) -> None:
        cfg = self.bench.scanner
        if cfg is None:
            return
        kind = cfg.get("type", "keyboard")
        try:
            if kind == "serial" and cfg.get("url"):
                from floorkiosk.devices.scanners import SerialScanner  # start-up cost: pyserial, for a bench with a serial scanner

                s = SerialScanner(str(cfg.get("url")), lambda text: self.on_scan(text, "serial"),
                                  prefix=str(cfg.get("prefix", "")), suffix=str(cfg.get("suffix", "\r")),
                                  baudrate=int(cfg.get("baudrate", 9600)),
                                  on_state=lambda st: self._set("scanner", OK if st == "connected" else OFF,
                                                                "serial" if st == "connected" else f"scanner: {st}"))
                self._scanners.append(s.start())
            elif kind == "hid" and (cfg.get("device") or cfg.get("url")):
                from floorkiosk.devices.scanners import HidScanner  # start-up cost: evdev, for a bench with a HID scanner

                s = HidScanner(str(cfg.get("device") or cfg.get("url")), lambda text: self.on_scan(text, "hid"),
                               prefix=str(cfg.get("prefix", "")), suffix=str(cfg.get("suffix", "\n")),
                               on_state=lambda st: self._set("scanner", OK if st == "connected" else OFF,
                                                             "hid" if st == "connected" else f"scanner: {st}"))
                self._scanners.append(s.start())
            elif kind == "camera" and cfg.get("source") is not None:
                from floorkiosk.devices.camera import CameraScanner  # start-up cost: OpenCV and zxing-cpp (~200 ms), for a camera bench

                src = cfg.get("source")
                if isinstance(src, str) and src.startswith("folder:"):
                    src = str(self.shop.dir / src[len("folder:"):])
                s = CameraScanner(src, lambda text: self.on_scan(text, "camera"),
                                  on_error=lambda msg: self._set("scanner", OFF, f"scanner: {msg}"))
                self._scanners.append(s.start())
        except (FloorkioskError, OSError, ImportError) as exc:
            self._set("scanner", OFF, f"scanner: {exc}")

    # -- the scale -----------------------------------------------------------------------------------
    @property
    def has_scale(self) -> bool:
        return self.monitor is not None

    def demo_put(self, grams: Decimal | str | float) -> bool:
        """Demo only: put a load on the simulated pan (it moves, then settles). False if no simulator."""
        if self.sim is None:
            return False
        self.sim.put(grams)
        return True

    # -- the camera and photos (blocking: call from a worker) ----------------------------------------
    def capture(self) -> bytes:
        """A JPEG from the bench camera; FloorkioskError with a message a person can act on."""
        src = self.camera_source()
        if src is None:
            raise FloorkioskError("this bench has no camera: a supervisor may override the photo (DEVICE-DOWN)")
        try:
            from floorkiosk.devices.camera import open_camera  # start-up cost: OpenCV, on the first photo
        except ImportError:
            raise FloorkioskError("the camera driver is not installed in this build") from None
        with self._camera_lock:
            try:
                if self._camera is None:
                    self._camera = open_camera(src)
                data = self._camera.capture()
            except FloorkioskError as exc:
                self._camera = None
                self._set("camera", OFF, "camera: no picture")
                raise FloorkioskError(f"{exc}") from None
        self._set("camera", OK, "camera")
        return data

    def save_photo(self, jpeg: bytes) -> Any:
        """Store a photo under its SHA-256 in the site's photo folder; returns the StoredPhoto."""
        from floorkiosk.devices.photos import PhotoStore  # start-up cost: Pillow, on the first photo

        return PhotoStore(self.shop.photos_dir).save(jpeg)

    def photo_file(self, sha256: str, thumb: bool = True) -> Path | None:
        """Where a stored photo (or its thumbnail) is, if it is here."""
        root = self.shop.photos_dir
        candidates = []
        if thumb:
            candidates.append(root / sha256[:2] / f"{sha256}.thumb.jpg")
        candidates += [root / sha256[:2] / f"{sha256}.jpg", root / f"{sha256}.jpg"]
        for p in candidates:
            if p.is_file():
                return p
        return None

    # -- printing (blocking: call from a worker) -----------------------------------------------------
    def reprint_label(self, job: str, person_id: str, reason: str) -> str:
        """Reprint a job bag's label on this bench's printer; the reprint is recorded once it printed."""
        if self.bench.printer is None or not self.enabled:
            raise FloorkioskError("this bench has no printer; reprint the label at a bench that has one")
        try:
            from floorkiosk.workshop.labelling import reprint_job_bag  # start-up cost: the label renderer (fonts, Pillow), on the first reprint
        except ImportError:
            raise FloorkioskError("label printing is not installed in this build") from None
        try:
            result, _ = reprint_job_bag(self.shop, job, person_id=person_id, bench_id=self.bench.id, reason=reason)
        except FloorkioskError:
            self._set("printer", OFF, "printer: failed")
            raise
        except OSError as exc:
            self._set("printer", OFF, "printer: offline")
            raise FloorkioskError(f"the printer did not take the label: {exc}") from None
        self._set("printer", OK, "printer")
        return str(result)

    def print_batch_bag(self, batch: str) -> str:
        """Print a batch bag's label (its number, pieces, design) on this bench's printer; where it went."""
        if self.bench.printer is None or not self.enabled:
            raise FloorkioskError(f"this bench has no printer: print the batch bag at a bench that has one "
                                  f"(floorkiosk label print --batch {batch} --bench BENCH)")
        try:
            from floorkiosk.workshop.labelling import print_batch_bag  # start-up cost: the label renderer, on the first print
        except ImportError:
            raise FloorkioskError("label printing is not installed in this build") from None
        try:
            result = print_batch_bag(self.shop, batch, bench_id=self.bench.id)
        except FloorkioskError:
            self._set("printer", OFF, "printer: failed")
            raise
        except OSError as exc:
            self._set("printer", OFF, "printer: offline")
            raise FloorkioskError(f"the printer did not take the label: {exc}") from None
        self._set("printer", OK, "printer")
        return str(result)

    # -- the hub (blocking: call from a worker) ------------------------------------------------------
    def poll_hub(self) -> None:
        if self.shop.site.settings.hub is None or not _has("floorkiosk.workshop.sync"):
            return
        try:
            from floorkiosk.workshop import sync  # start-up cost: psycopg (~150 ms), hub sites only

            st = sync.status(self.shop)
        except Exception as exc:  # the hub module's failure must not take the kiosk down
            self._set("hub", OFF, f"hub: {exc}"[:40])
            return
        if not st.enabled:
            self._set("hub", NONE, "hub: none")
            return
        queued = st.queued
        if st.stopped:  # a refusal a retry cannot mend: `floorkiosk sync status` says what to do
            self._set("hub", OFF, f"hub: sync stopped, {queued} queued")
            return
        if st.online:
            self._set("hub", OK if not queued else WARN, "hub: online" + (f", {queued} queued" if queued else ""))
        else:
            self._set("hub", OFF, f"hub: offline, {queued} event{'s' if queued != 1 else ''} queued")
