"""Sending finished printer bytes somewhere: a Zebra's TCP port 9100, a CUPS queue, or a file.

The address says which (as in a bench's [benches.printer] uri):

    tcp://zebra-casting:9100        raw socket; ?status=1 asks the Zebra (~HS) first
    cups:QUEUE                      `lp -d QUEUE`, raw (-o raw) for ZPL
    file:labels-out/casting.zpl     a file (relative to the site folder), a folder, or a device

Every failure raises FloorkioskError saying why in a person's words: printer offline, queue
unknown, out of paper (where the printer reports it).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from floorkiosk.errors import FloorkioskError

DEFAULT_PORT = 9100
CONNECT_TIMEOUT = 5.0  # seconds: a Zebra on the shop network answers in milliseconds
SEND_TIMEOUT = 30.0  # a long batch of labels still goes through
STATUS_TIMEOUT = 2.0
CLOSE_WAIT = 1.0  # how long to wait for the printer to close after the last byte
LP_TIMEOUT = 30.0


class PrintFailed(FloorkioskError):
    """The printer or its queue did not take the job; the message says why."""


@dataclass(frozen=True)
class Sent:
    where: str  # "tcp://host:9100", "cups queue NAME" or the file written
    detail: str = ""  # the CUPS request id, the number of bytes …


@dataclass(frozen=True)
class ZebraStatus:
    """What a Zebra says about itself in its ~HS reply (ZPL II guide, ~HS host status return)."""

    paper_out: bool
    paused: bool
    head_open: bool
    ribbon_out: bool
    buffer_full: bool

    def problem(self) -> str | None:
        for flag, words in (
            (self.paper_out, "is out of paper (or labels)"),
            (self.head_open, "has its print head open"),
            (self.ribbon_out, "is out of ribbon"),
            (self.paused, "is paused: press PAUSE on the printer to resume"),
            (self.buffer_full, "has a full receive buffer"),
        ):
            if flag:
                return words
        return None


def send(uri: str, data: bytes, *, raw: bool = True, title: str = "floorkiosk label",
         site_dir: str | Path | None = None, suffix: str = ".prn") -> Sent:
    """Deliver `data` to the printer at `uri`. Blocking: the kiosk calls it from a worker thread."""
    if uri.startswith("tcp://"):
        return send_tcp(uri, data)
    if uri.startswith("cups:"):
        return send_cups(uri[len("cups:"):], data, raw=raw, title=title)
    if uri.startswith("file:"):
        return send_file(uri[len("file:"):], data, site_dir=site_dir, suffix=suffix)
    raise PrintFailed(f"printer address {uri!r} is not one of tcp://host:9100, cups:QUEUE or file:/path")


# -- TCP port 9100 ---------------------------------------------------------------------------------

def _tcp_target(uri: str) -> tuple[str, int, bool]:
    parts = urlsplit(uri)
    if not parts.hostname:
        raise PrintFailed(f"printer address {uri!r} names no host (write tcp://host:9100)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise PrintFailed(f"printer address {uri!r} has a bad port number") from None
    query = parse_qs(parts.query)
    status = query.get("status", ["0"])[-1].lower() in ("1", "yes", "true", "hs")
    return parts.hostname, port, status


def _connect(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    except ConnectionRefusedError:
        raise PrintFailed(f"printer at {host}:{port} is offline (connection refused): is it on and connected?") \
            from None
    except socket.gaierror:
        raise PrintFailed(f"printer host {host!r} is unknown on this network: check the bench's printer uri") from None
    except TimeoutError:
        raise PrintFailed(f"printer at {host}:{port} is offline (no answer in {CONNECT_TIMEOUT:g} s)") from None
    except OSError as exc:
        raise PrintFailed(f"printer at {host}:{port} is unreachable: {exc.strerror or exc}") from None
    return sock


def send_tcp(uri: str, data: bytes) -> Sent:
    host, port, check_status = _tcp_target(uri)
    if check_status:
        status = query_zebra_status(host, port)
        problem = status.problem()
        if problem:
            raise PrintFailed(f"printer at {host}:{port} {problem}")
    sock = _connect(host, port)
    try:
        sock.settimeout(SEND_TIMEOUT)
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except TimeoutError:
            raise PrintFailed(f"printer at {host}:{port} stopped taking data "
                              f"(nothing moved for {SEND_TIMEOUT:g} s)") from None
        # Wait briefly for the printer to close: a printer that resets the connection is then
        # reported rather than ignored. One that keeps its side open is fine: closing ours still
        # delivers every byte.
        sock.settimeout(CLOSE_WAIT)
        deadline = time.monotonic() + CLOSE_WAIT
        try:
            while time.monotonic() < deadline and sock.recv(4096):
                pass
        except TimeoutError:
            pass
    except OSError as exc:
        raise PrintFailed(f"printer at {host}:{port} dropped the connection while printing: "
                          f"{exc.strerror or exc}") from None
    finally:
        sock.close()
    return Sent(f"tcp://{host}:{port}", f"{len(data)} bytes")


def parse_host_status(reply: bytes) -> ZebraStatus:
    """Read a ~HS reply: three <STX>…<ETX><CR><LF> strings of comma-separated flags."""
    strings = re.findall(rb"\x02([^\x03]*)\x03", reply)
    if len(strings) < 2:
        raise PrintFailed("the printer's status reply (~HS) was incomplete")
    one = strings[0].decode("ascii", "replace").split(",")
    two = strings[1].decode("ascii", "replace").split(",")
    if len(one) < 6 or len(two) < 4:
        raise PrintFailed("the printer's status reply (~HS) was not understood")
    # String 1: aaa,b(paper out),c(pause),dddd,eee,f(buffer full),...  String 2: mmm,n,o(head up),p(ribbon out),...
    return ZebraStatus(
        paper_out=one[1].strip() == "1",
        paused=one[2].strip() == "1",
        head_open=two[2].strip() == "1",
        ribbon_out=two[3].strip() == "1",
        buffer_full=one[5].strip() == "1",
    )


def query_zebra_status(host: str, port: int = DEFAULT_PORT) -> ZebraStatus:
    """Ask a Zebra for its host status. Recent firmware stays silent when out of paper or ribbon
    or with the head open, so silence is reported as exactly that."""
    sock = _connect(host, port)
    try:
        sock.settimeout(STATUS_TIMEOUT)
        sock.sendall(b"~HS")
        reply = b""
        deadline = time.monotonic() + STATUS_TIMEOUT
        while reply.count(b"\x03") < 3 and time.monotonic() < deadline:
            try:
                chunk = sock.recv(1024)
            except TimeoutError:
                break
            if not chunk:
                break
            reply += chunk
    except OSError as exc:
        raise PrintFailed(f"printer at {host}:{port} dropped the connection: {exc.strerror or exc}") from None
    finally:
        sock.close()
    if not reply:
        raise PrintFailed(
            f"printer at {host}:{port} did not answer its status query: it is probably out of paper or "
            "ribbon, or its head is open"
        )
    return parse_host_status(reply)


# -- CUPS --------------------------------------------------------------------------------------------

def send_cups(queue: str, data: bytes, *, raw: bool = True, title: str = "floorkiosk label") -> Sent:
    """Submit with `lp` (CUPS' own client): raw for ZPL, so CUPS passes the bytes through untouched."""
    if not re.match(r"^[A-Za-z0-9_.@-][^\s/#]*$", queue or ""):
        raise PrintFailed(f"CUPS queue name {queue!r} is not valid")
    lp = shutil.which("lp")
    if lp is None:
        raise PrintFailed("the CUPS client (lp) is not installed here: install Debian's cups-client")
    cmd = [lp, "-d", queue, "-t", title]
    if raw:
        cmd += ["-o", "raw"]
    try:
        done = subprocess.run(cmd, input=data, capture_output=True, timeout=LP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise PrintFailed(f"CUPS did not take the job for queue {queue!r} within {LP_TIMEOUT:g} s") from None
    out = done.stdout.decode("utf-8", "replace").strip()
    err = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        raise PrintFailed(_lp_error(queue, err or out))
    m = re.search(r"request id is (\S+)", out)
    return Sent(f"cups queue {queue}", m.group(1) if m else out)


def _scheduler_running() -> bool | None:
    lpstat = shutil.which("lpstat")
    if lpstat is None:
        return None
    try:
        out = subprocess.run([lpstat, "-r"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return "is running" in out and "not running" not in out


def _lp_error(queue: str, message: str) -> str:
    low = message.lower()
    # lp says "does not exist" also when it cannot reach the scheduler at all: ask which it is.
    if ("does not exist" in low or "not found" in low) and _scheduler_running() is False:
        return "the CUPS scheduler (cupsd) is not running on this machine"
    if "does not exist" in low or "not found" in low or "unknown" in low:
        return f"CUPS queue {queue!r} is unknown: add it with lpadmin or fix the bench's printer uri"
    if "scheduler is not running" in low or "connection refused" in low or "unable to connect" in low:
        return "the CUPS scheduler (cupsd) is not running on this machine"
    if "not accepting" in low:
        return f"CUPS queue {queue!r} is not accepting jobs (cupsaccept {queue} turns it back on)"
    first = message.splitlines()[0] if message else "no message"
    return f"CUPS refused the job for queue {queue!r}: {first}"


# -- file ---------------------------------------------------------------------------------------------

def send_file(path_text: str, data: bytes, *, site_dir: str | Path | None = None, suffix: str = ".prn") -> Sent:
    """Write to a file (replaced whole, never half-written), into a folder (a new file each time),
    or straight to a device such as /dev/usb/lp0."""
    if path_text.startswith("//"):
        path_text = path_text[2:]  # file:///tmp/x written as a URL
    if not path_text:
        raise PrintFailed("printer address file: names no file")
    path = Path(path_text).expanduser()
    if not path.is_absolute() and site_dir is not None:
        path = Path(site_dir) / path
    try:
        if path.is_dir():
            stamp = time.strftime("%Y%m%d-%H%M%S")
            fd, name = tempfile.mkstemp(prefix=f"label-{stamp}-", suffix=suffix, dir=path)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(name, 0o644)
            return Sent(name, f"{len(data)} bytes")
        if path.exists() and stat.S_ISCHR(path.stat().st_mode):
            with open(path, "wb", buffering=0) as dev:
                dev.write(data)
            return Sent(str(path), f"{len(data)} bytes")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            # mkstemp makes the file private; a label file is for the print room to read.
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise PrintFailed(f"cannot write the labels to {path}: {exc.strerror or exc}") from None
    return Sent(str(path), f"{len(data)} bytes")
