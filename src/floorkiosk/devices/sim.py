"""Scale simulators on a real pty: each profile's balance, answering its commands or streaming.

    sim = ScaleSimulator("mt-sics")
    path = sim.start()          # a stable name (a symlink to /dev/pts/N), like /dev/serial/by-id/…
    sim.put(12.5); sim.settle() # weight on the pan, settled
    Scale(path, "mt-sics").read_stable(2)   # Reading(12.50 g, stable)
    sim.unplug(); sim.replug()  # the link vanishes, then comes back on a new pty
    sim.stop()

The lines come from the `[sim]` templates of the profile, so the simulator speaks each protocol
exactly as its profile describes it. Template fields: value (signed, '-' only), abs, sign ('+'
or '-'), sign_sp (' ' or '-'), flag (stable/unstable text), unit (balance unit text), sunit (unit,
blank while unstable), net (net/gross text), tare (tare in the unit).
"""

from __future__ import annotations

import os
import pty
import random
import select
import shutil
import tempfile
import termios
import threading
import time
import tty
from decimal import Decimal
from pathlib import Path

from floorkiosk.devices.profiles import Profile, load_profile
from floorkiosk.domain import units
from floorkiosk.errors import FloorkioskError

FAULTS = ("overload", "underload", "silent", "garbage", "error", "busy")


class ScaleSimulator:
    """A simulated balance behind a real pty, speaking one profile's protocol.

    profile      name, path or Profile
    link         where to put the stable name of the port (default: a fresh temp folder)
    settle_time  seconds a put() weight moves before it settles by itself
    seed         for the wobble and the garbage bytes, so runs repeat
    readability  grams a digit of the simulated balance is worth (the bench's scale readability)
    """

    def __init__(
        self,
        profile: str | Profile,
        *,
        link: str | Path | None = None,
        settle_time: float = 0.3,
        seed: int = 7,
        readability: Decimal | str | None = None,
    ) -> None:
        self.profile = load_profile(profile)
        # a balance of this readability shows grams to its last digit (the profile's sim decimals otherwise)
        self._g_places = units.places_of(readability)
        self.sim = self.profile.sim
        if not self.sim.get("weight"):
            raise FloorkioskError(f"profile {self.profile.name} has no [sim] weight template")
        self._own_dir: str | None = None
        self._link = Path(link) if link else None
        self.settle_time = settle_time
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self.device: str | None = None  # the /dev/pts/N currently behind the link
        self._thread: threading.Thread | None = None
        self._running = False
        self._inbuf = bytearray()
        # the balance
        self.unit = self.profile.default_unit or ("g" if "g" in self.profile.units.values() else next(iter(self.profile.units.values())))
        self._grams = Decimal(0)
        self._zero = Decimal(0)
        self._tare = Decimal(0)
        self._motion = "stable"  # stable, settling, wobble
        self._settle_at = 0.0
        self._fault: str | None = None
        self._streaming = self.profile.mode == "continuous"
        self._next_stream = 0.0
        self._pending_stable: float | None = None
        self._split = False
        self._merge = False
        self._held = b""
        self.commands_seen: list[bytes] = []
        self._cmds = self._command_table()
        self._terminated = any(c[-1:] in (b"\r", b"\n") for c in self._cmds)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The stable name clients open (a symlink to the current pty)."""
        if self._link is None:
            self._own_dir = tempfile.mkdtemp(prefix="floorkiosk-sim-")
            self._link = Path(self._own_dir) / f"scale-{self.profile.name}"
        return str(self._link)

    def start(self) -> str:
        """Open the pty, start answering, and return the path to open (a symlink to the pty)."""
        path = self.path
        self._plug()
        self._running = True
        self._thread = threading.Thread(target=self._run, name=f"sim {self.profile.name}", daemon=True)
        self._thread.start()
        return path

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self._unplug()
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)

    def __enter__(self) -> ScaleSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _plug(self) -> None:
        with self._lock:
            master, slave = pty.openpty()
            # Raw from the start: a cooked slave would echo our own output back as commands.
            tty.setraw(slave)
            tty.setraw(master)
            os.set_blocking(master, False)
            self._master, self._slave = master, slave
            self.device = os.ttyname(slave)
            tmp = Path(f"{self.path}.tmp{os.getpid()}")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.device)
            os.replace(tmp, self.path)  # atomic: the name is never half there

    def _unplug(self) -> None:
        with self._lock:
            if self._link is not None:
                self._link.unlink(missing_ok=True)
            for fd in (self._master, self._slave):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._master = self._slave = None
            self.device = None
            self._inbuf.clear()

    # -- controls ------------------------------------------------------------------------------

    def put(self, grams: Decimal | str | float) -> None:
        """Put a load on the pan (grams, gross); it moves for settle_time, then settles."""
        with self._lock:
            self._grams = units.to_decimal(grams)
            if self._fault in ("overload", "underload"):
                self._fault = None
            self._motion = "settling"
            self._settle_at = time.monotonic() + self.settle_time

    def settle(self) -> None:
        """Settle now: the next reading is stable."""
        with self._lock:
            self._motion = "stable"

    def wobble(self) -> None:
        """Keep the weight moving (a draught, a hand on the bench) until settle() or put()."""
        with self._lock:
            self._motion = "wobble"

    def set_unit(self, unit: str) -> None:
        """Switch the balance's display unit (a floorkiosk unit: g, ct, dwt …)."""
        if self.profile.device_unit(unit) is None:
            raise FloorkioskError(f"{self.profile.title} has no unit {unit!r}")
        with self._lock:
            self.unit = unit

    def _set_fault(self, fault: str | None) -> None:
        if fault is not None and fault not in ("silent", "garbage") and not self.sim.get(fault):
            raise FloorkioskError(f"the {self.profile.name} simulator has no {fault} line: the sources do not give one")
        with self._lock:
            self._fault = fault

    def overload(self) -> None:
        self._set_fault("overload")

    def underload(self) -> None:
        self._set_fault("underload")

    def error(self) -> None:
        """The balance reports a device error on every reply."""
        self._set_fault("error")

    def busy(self) -> None:
        """The balance answers 'busy / not now' (MT-SICS S I, Sartorius calibrating)."""
        self._set_fault("busy")

    def silent(self) -> None:
        """Say nothing at all (a balance switched off with its cable still plugged)."""
        self._set_fault("silent")

    def garbage(self) -> None:
        """Answer random bytes (noise on the line, another device on the port)."""
        self._set_fault("garbage")

    def normal(self) -> None:
        """Clear overload, silence, garbage and errors."""
        self._set_fault(None)

    def split_writes(self, on: bool = True) -> None:
        """Send each line in several pieces with pauses, so the reader gets it across reads."""
        self._split = on

    def merge_writes(self, on: bool = True) -> None:
        """Streaming: send two lines in one write, so the reader gets them in one read."""
        self._merge = on

    def unplug(self) -> None:
        """Pull the cable: the pty closes and its name disappears."""
        self._unplug()

    def replug(self) -> None:
        """Plug it back: a new pty under the same name."""
        if self._master is None:
            self._plug()

    @property
    def can(self) -> set[str]:
        """The faults this profile's simulator can show (others have no line in the sources)."""
        return {f for f in FAULTS if f in ("silent", "garbage") or self.sim.get(f)}

    # -- the balance's behaviour ------------------------------------------------------------------

    def _command_table(self) -> dict[bytes, str]:
        table: dict[bytes, str] = {}
        order = ["immediate", "stable"] if not self.sim.get("stable_waits") else ["stable", "immediate"]
        for name in order + ["tare", "zero", "continuous_start", "continuous_stop"]:
            cmd = self.profile.commands.get(name)
            if cmd and cmd not in table:
                table[cmd] = name
        return table

    def _stable_now(self, now: float) -> bool:
        if self._motion == "settling" and now >= self._settle_at:
            self._motion = "stable"
        return self._motion == "stable"

    def _decimals(self) -> int:
        if self.unit == "g" and self._g_places is not None:
            return self._g_places
        return int(self.sim.get("decimals", {}).get(self.unit, 2))

    def _fields(self, grams: Decimal, stable: bool) -> dict[str, str]:
        places = self._decimals()
        q = Decimal(1).scaleb(-places)
        value = units.from_grams(grams, self.unit).quantize(q)
        if not stable:
            value += q * self._rng.choice((-3, -2, -1, 1, 2, 3))
        if value == 0:
            value = abs(value)  # no "-0.00"
        unit_text = self.profile.device_unit(self.unit) or ""
        tare = units.from_grams(self._tare, self.unit).quantize(q)
        return {
            "value": f"{value:f}",
            "abs": f"{abs(value):f}",
            "sign": "-" if value < 0 else "+",
            "sign_sp": "-" if value < 0 else " ",
            "flag": self.sim.get("stable_flag" if stable else "unstable_flag", ""),
            "unit": unit_text,
            "sunit": unit_text if stable else "",
            "net": self.sim.get("net_text" if self._tare else "gross_text", ""),
            "tare": f"{tare:f}",
            "_negative": "1" if value < 0 else "",
        }

    def _weight_line(self, now: float) -> bytes | None:
        if self._fault == "silent":
            return None
        if self._fault == "garbage":
            return self._garbage()
        if self._fault:
            return self.sim[self._fault].encode("latin-1")
        stable = self._stable_now(now)
        f = self._fields(self._grams - self._zero - self._tare, stable)
        if f["_negative"] and self.sim.get("negative"):
            tpl = self.sim["negative"]
        elif not stable and self.sim.get("unstable"):
            tpl = self.sim["unstable"]
        else:
            tpl = self.sim["weight"]
        return tpl.format(**f).encode("latin-1")

    def _garbage(self) -> bytes:
        n = self._rng.randint(6, 20)
        body = bytes(self._rng.choice(b"\x00\x7f\x80\x93\xa5\xbe\xc3\xd7\xe9\xfe?#~%") for _ in range(n))
        return body + self.profile.end[-1:]

    def _reply(self, key: str) -> bytes | None:
        tpl = self.sim.get(key)
        if not tpl or self._fault == "silent":
            return None
        if self._fault == "garbage":
            return self._garbage()
        return tpl.format(**self._fields(self._grams - self._zero - self._tare, True)).encode("latin-1")

    def _handle(self, name: str, now: float) -> bytes | None:
        if name == "immediate":
            return self._weight_line(now)
        if name == "stable":
            if self._fault or self._stable_now(now):
                return self._weight_line(now)
            self._pending_stable = now + float(self.sim.get("stable_wait", 1.0))
            return None
        if name == "tare":
            self._tare = self._grams - self._zero
            return self._reply("tare_ack")
        if name == "zero":
            self._zero, self._tare = self._grams, Decimal(0)
            return self._reply("zero_ack")
        if name == "continuous_start":
            self._streaming = True
            self._next_stream = now
            return None
        if name == "continuous_stop":
            self._streaming = False
            return self._reply("stop_ack")
        return None

    def _client_baud_ok(self) -> bool:
        # The pty carries the baud rate the client set; a real line at another rate is noise.
        if self._slave is None:
            return False
        want = getattr(termios, f"B{self.profile.serial.baudrate}", None)
        try:
            return want is None or termios.tcgetattr(self._slave)[4] == want
        except termios.error:
            return True

    def _process_input(self, now: float) -> list[bytes]:
        out: list[bytes] = []
        baud_ok = self._client_baud_ok()
        if not baud_ok:
            # A balance at another baud rate reads noise: it may complain, it never understands.
            self._inbuf.clear()
            unknown = self.sim.get("unknown")
            if unknown and self._fault != "silent":
                out.append(unknown.encode("latin-1"))
            return out
        cmds = sorted(self._cmds, key=len, reverse=True)
        while self._inbuf:
            if not self._inbuf[:1].strip(b"\r\n") and not any(c.startswith(bytes(self._inbuf[:1])) for c in cmds):
                del self._inbuf[:1]  # stray terminator (ESC P with or without CR LF)
                continue
            hit = next((c for c in cmds if self._inbuf.startswith(c)), None)
            if hit is not None:
                del self._inbuf[: len(hit)]
                self.commands_seen.append(hit)
                line = self._handle(self._cmds[hit], now)
                if line:
                    out.append(line)
                continue
            if any(c.startswith(bytes(self._inbuf)) for c in cmds):
                break  # the start of a command: wait for the rest
            end = min((i for i in (self._inbuf.find(b"\r"), self._inbuf.find(b"\n")) if i >= 0), default=-1)
            if end >= 0:
                token = bytes(self._inbuf[:end])
                del self._inbuf[: end + 1]
            elif not self._terminated or len(self._inbuf) > 64:
                token = bytes(self._inbuf[:1])
                del self._inbuf[:1]
            else:
                break
            self.commands_seen.append(token)
            reply = self._reply("unknown")
            if reply:
                out.append(reply)
        return out

    def _send(self, data: bytes) -> None:
        master = self._master
        if master is None or not data:
            return
        if not self._client_baud_ok():
            data = bytes(0x80 | ((b * 37 + 11) & 0x7F) for b in data)  # framing errors: 8-bit noise
        chunks = [data]
        if self._split and len(data) > 2:
            a, b = len(data) // 3, 2 * len(data) // 3
            chunks = [data[:a], data[a:b], data[b:]]
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(0.01)
            try:
                os.write(master, chunk)
            except (BlockingIOError, OSError):
                return  # nobody reads (buffer full) or the pty is gone: a real line drops bytes too

    def _run(self) -> None:
        while self._running:
            master = self._master
            if master is None:
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.005)
            except (OSError, ValueError):
                time.sleep(0.01)
                continue
            out: list[bytes] = []
            with self._lock:
                now = time.monotonic()
                if ready:
                    try:
                        data = os.read(master, 1024)
                    except (BlockingIOError, OSError):
                        data = b""
                    self._inbuf += data
                    out += self._process_input(now)
                if self._pending_stable is not None:
                    if self._fault or self._stable_now(now):
                        self._pending_stable = None
                        line = self._weight_line(now)
                        if line:
                            out.append(line)
                    elif now >= self._pending_stable:
                        self._pending_stable = None
                        busy = self._reply("busy")
                        if busy:
                            out.append(busy)
                if self._streaming and now >= self._next_stream:
                    self._next_stream = max(self._next_stream + 1.0 / float(self.sim.get("rate", 10)), now)
                    line = self._weight_line(now)
                    if line:
                        if self._merge and not self._held:
                            self._held = line
                        else:
                            out.append(self._held + line)
                            self._held = b""
            for chunk in out:
                self._send(chunk)
