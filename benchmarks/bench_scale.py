"""Scale latency: from the stable line's last byte on the pty to the Reading delivered to on_event.

A real pty; the far end plays the balance. Measured for a streaming balance (continuous mode)
and for a polled one (the reply written when the poll arrives), beside a bare pyserial
readline() loop on the same pty (the floor any driver stands on).

    python benchmarks/bench_scale.py [--lines 500]

Target (issue 4): p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import sys
import threading
import time
import tty
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import serial

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from floorkiosk.devices.scales import Reading, ScaleMonitor, load_profile


def line_for(i: int) -> bytes:
    return f"S S {Decimal(i) / 100:>10} g\r\n".encode()


def open_pty() -> tuple[int, int, str]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    return master, slave, os.ttyname(slave)


def report(name: str, lat_ms: list[float], n: int) -> float:
    lat = sorted(lat_ms)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
    p99 = q[98]
    print(f"  {name:38} n={len(lat)}/{n}  p50 {q[49]:6.2f} ms  p90 {q[89]:6.2f} ms  p99 {p99:6.2f} ms  max {lat[-1]:6.2f} ms")
    return p99


def stream(lines: int, gap: float) -> tuple[list[float], int]:
    master, slave, path = open_pty()
    profile = replace(load_profile("mt-sics"), mode="continuous")  # SIR: the balance streams
    sent: dict[Decimal, float] = {}
    got: dict[Decimal, float] = {}
    done = threading.Event()

    def on_event(ev: object) -> None:
        if isinstance(ev, Reading) and ev.stable:
            got[ev.value] = time.monotonic()
            if len(got) >= lines:
                done.set()

    mon = ScaleMonitor(path, profile, on_event).start()
    time.sleep(0.3)  # let it open the port (opening flushes what was there)
    for i in range(1, lines + 1):
        data = line_for(i)
        os.write(master, data)
        sent[Decimal(i) / 100] = time.monotonic()  # the last byte is on the pty now
        time.sleep(gap)
    done.wait(2)
    mon.stop()
    os.close(master)
    os.close(slave)
    return [1000 * (got[k] - sent[k]) for k in got if k in sent], lines


def poll(lines: int) -> tuple[list[float], int]:
    master, slave, path = open_pty()
    sent: dict[Decimal, float] = {}
    got: dict[Decimal, float] = {}
    done = threading.Event()
    stop = threading.Event()

    def balance() -> None:
        i = 0
        while not stop.is_set() and i < lines:
            r, _, _ = select.select([master], [], [], 0.05)
            if not r:
                continue
            cmd = os.read(master, 64)
            if cmd.startswith(b"SI"):
                i += 1
                os.write(master, line_for(i))
                sent[Decimal(i) / 100] = time.monotonic()

    def on_event(ev: object) -> None:
        if isinstance(ev, Reading):
            got[ev.value] = time.monotonic()
            if len(got) >= lines:
                done.set()

    t = threading.Thread(target=balance, daemon=True)
    t.start()
    mon = ScaleMonitor(path, "mt-sics", on_event, interval=0.01).start()
    done.wait(lines * 0.05 + 5)
    mon.stop()
    stop.set()
    t.join(1)
    os.close(master)
    os.close(slave)
    return [1000 * (got[k] - sent[k]) for k in got if k in sent], lines


def bare_readline(lines: int, gap: float) -> tuple[list[float], int]:
    master, slave, path = open_pty()
    port = serial.Serial(path, 9600, timeout=1)
    lat: list[float] = []

    def reader() -> None:
        for _ in range(lines):
            line = port.readline()
            if not line:
                return
            lat.append(time.monotonic())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    sent = []
    for i in range(1, lines + 1):
        os.write(master, line_for(i))
        sent.append(time.monotonic())
        time.sleep(gap)
    t.join(3)
    port.close()
    os.close(master)
    os.close(slave)
    return [1000 * (b - a) for a, b in zip(sent, lat)], lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=500)
    ap.add_argument("--gap", type=float, default=0.02, help="seconds between streamed lines")
    args = ap.parse_args()
    print(f"latency from the line's last byte on the pty to delivery ({args.lines} lines each):")
    base = report("baseline: bare pyserial readline()", *bare_readline(args.lines, args.gap))
    p_stream = report("ScaleMonitor, streaming (continuous)", *stream(args.lines, args.gap))
    p_poll = report("ScaleMonitor, polled (reply to SI)", *poll(args.lines))
    worst = max(p_stream, p_poll)
    print(f"\ntarget p99 <= 20 ms: {worst:.2f} ms {'met' if worst <= 20 else 'NOT met'} (baseline p99 {base:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
