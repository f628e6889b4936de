"""Helpers for the label tests: sample records, barcode decoding, PDF rasterising, a TCP printer."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

IN_CI = os.environ.get("CI", "").lower() == "true"

# One realistic record per shipped template, as the shop (or the CLI's --field) supplies them.
RECORDS = {
    "job_bag": dict(job="J000123", design="Pear solitaire, 1.2 ct", alloy="18K yellow gold", due="2026-12-24",
                    rush=True, client_initials="MK", route="custom-ring"),
    "batch_bag": dict(batch="B0042", count=12, design="Signet ring, oval face", jobs=["J000101", "J000102", "J000103"]),
    "badge_card": dict(badge="B1003", name="Chloé Martin", roles=["artisan"]),
    "command_card": dict(command="FINISH", hint="Finish the stage: evidence is checked"),
    "stone_parcel": dict(parcel="SP0007", stones="12 x round 1.5 mm", weight="0.62 ct", job="J000123",
                         setter="Ben Okafor"),
    "tool_tag": dict(tool="M12", kind_name="Rubber mold", name="Solitaire ring, size 6"),
}
PAYLOADS = {
    "job_bag": "FK:J:J000123",
    "batch_bag": "FK:B:B0042",
    "badge_card": "FK:P:B1003",
    "command_card": "FK:C:FINISH",
    "stone_parcel": "FK:S:SP0007",
    "tool_tag": "FK:T:M12",
}


def decode(img: Image.Image) -> list[tuple[str, str]]:
    """Every symbol zxing-cpp finds, as (format, text), sorted."""
    if img.mode != "L":
        img = img.convert("L")
    return sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(img))


def decode_png(data: bytes) -> list[tuple[str, str]]:
    return decode(Image.open(io.BytesIO(data)))


def need_pdftoppm() -> str:
    path = shutil.which("pdftoppm")
    if path is None:
        if IN_CI:
            pytest.fail("pdftoppm is missing in CI: .ci/cups.sh installs poppler-utils")
        pytest.skip("pdftoppm (Debian's poppler-utils) is not installed: PDF labels cannot be rasterised")
    return path


def rasterise(pdf: bytes, dpi: int, tmp_path: Path) -> list[Image.Image]:
    """Every page of a PDF as a greyscale image at `dpi`, by poppler's pdftoppm."""
    tool = need_pdftoppm()
    src = tmp_path / "in.pdf"
    src.write_bytes(pdf)
    subprocess.run([tool, "-r", str(dpi), "-gray", str(src), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.pgm"), key=lambda p: int(p.stem.split("-")[-1]))
    return [Image.open(p) for p in pages]


class PrinterServer:
    """A printer's raw port on 127.0.0.1: takes connections and keeps every byte each one sent.

    With `status`, it answers "~HS" the way a Zebra does (three STX…ETX CR LF strings)."""

    def __init__(self, status: bytes | None = None, silent_status: bool = False) -> None:
        self.status = status
        self.silent_status = silent_status
        self.jobs: list[bytes] = []
        self.received = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(10)
                data = b""
                while True:
                    try:
                        chunk = conn.recv(65536)
                    except (TimeoutError, OSError):
                        break
                    if not chunk:
                        break
                    data += chunk
                    if data == b"~HS":
                        if self.status is not None and not self.silent_status:
                            conn.sendall(self.status)
                        data = b""
                        break
                if data:
                    self.jobs.append(data)
                    self.received.set()

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.jobs) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.jobs

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def hs_reply(paper_out: bool = False, paused: bool = False, head_open: bool = False, ribbon_out: bool = False) -> bytes:
    """A Zebra's ~HS answer with the given flags (ZPL II guide, ~HS)."""
    one = f"030,{int(paper_out)},{int(paused)},0812,000,0,0,0,000,0,0,0"
    two = f"001,0,{int(head_open)},{int(ribbon_out)},0,2,4,0,00000000,1,000"
    three = "1234,0"
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (one, two, three))


def zpl_symbols_image(zpl: str, width: int, height: int) -> Image.Image:
    """Draw the barcodes of one ZPL label as a Zebra reads them (ZPL II guide: ^FO, ^BY, ^BC mode N
    with invocation codes, ^BQ with manual-input field data), text left out, so the printer's
    bytes themselves can be scanned. Only what floorkiosk writes is understood."""
    import re

    import numpy as np
    import qrcode
    import qrcode.util
    from barcode.charsets import code128 as c128

    img = Image.new("L", (width, height), 255)
    by_module, by_height = 2, 10
    origin = (0, 0)
    pending = None
    for cmd in re.findall(r"\^([A-Z0-9@]{2})([^\^]*)", zpl):
        name, args = cmd
        if name == "BY":
            parts = args.split(",")
            by_module, by_height = int(parts[0]), int(parts[2])
        elif name == "FO":
            x, y = args.split(",")[:2]
            origin = (int(x), int(y))
        elif name == "BC":
            bc_height = int(args.split(",")[1])
            pending = ("BC", origin, by_module, bc_height)
        elif name == "BQ":
            pending = ("BQ", origin, int(args.split(",")[2]), by_height)
        elif name == "FD" and pending is not None:
            kind, (x0, y0), a, b = pending
            if kind == "BC":
                values = list(read_back_code128(args))
                check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
                pattern = "".join(c128.CODES[v] for v in values + [check]) + c128.STOP + "11"
                row = np.array([0 if c == "1" else 255 for c in pattern], dtype=np.uint8).repeat(a)
                img.paste(Image.fromarray(np.tile(row, (b, 1))), (x0, y0))
            else:
                ecl = {"L": 1, "M": 0, "Q": 3, "H": 2}[args[0]]
                assert args[1:3] == "M,", "floorkiosk always writes manual input"
                mode_letter, data = args[3], args[4:]
                if mode_letter == "B":
                    data = data[4:]
                mode = qrcode.util.MODE_ALPHA_NUM if mode_letter == "A" else qrcode.util.MODE_8BIT_BYTE
                q = qrcode.QRCode(error_correction=ecl, border=0)
                q.add_data(qrcode.util.QRData(data.encode(), mode=mode))
                q.make(fit=True)
                m = (~np.array(q.modules, dtype=bool)).astype(np.uint8) * 255
                big = Image.fromarray(m).resize((m.shape[1] * a, m.shape[0] * a), Image.Resampling.NEAREST)
                # The firmware sets a ^FO-placed QR lower by the ^BY bar height.
                img.paste(big, (x0, y0 + b))
            pending = None
    return img


def read_back_code128(zpl_data: str) -> tuple[int, ...]:
    """Zebra ^BC mode-N field data read into Code 128 symbol values (ZPL II guide, table of
    Code 128 invocation characters)."""
    starts = {">9": (103, "A"), ">:": (104, "B"), ">;": (105, "C")}
    switches = {">5": (99, "C"), ">6": (100, "B"), ">7": (101, "A")}
    value, subset = starts[zpl_data[:2]]
    values, i = [value], 2
    while i < len(zpl_data):
        two = zpl_data[i:i + 2]
        if two in switches:
            v, subset = switches[two]
            values.append(v)
            i += 2
        elif subset == "C":
            values.append(int(two))
            i += 2
        else:
            char = ">" if two == "><" else zpl_data[i]
            values.append(ord(char) - 32)
            i += 2 if two == "><" else 1
    return tuple(values)
