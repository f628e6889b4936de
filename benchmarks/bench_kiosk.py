"""Kiosk benchmark: start-up, badge to worklist, and a job scan to its card, beside a bare Textual app.

On a copy of gen_site's 100,000-job site (benchmarks/gen_site.py, cached), with the bench's devices
simulated (a balance on a pty), at two terminal sizes: 100x32, below the 110-column layout switch
(narrow: no thumbnails), and 160x48 (wide: the card draws up to three photo thumbnails, decoded in
a worker; the photos of the scanned jobs are given thumbnail files on the copy).

  * start-up, as a person meets it: a fresh `python -m floorkiosk --site … kiosk --bench …` on a
    pseudo-terminal of that size, from the process's start (Python's own start included) to the
    idle screen's "SCAN YOUR BADGE" on the terminal; then the badge, typed as a scanner types it,
    to the worklist ("… jobs waiting") on the terminal, in that same fresh process. Baseline: a
    bare Textual app started the same way, to its first label on the terminal. Each over --runs
    fresh processes (median and range);
  * scan to card, headless: the keys of "FK:J:J0xxxxx" are posted as a scanner types them; the
    clock runs from posting the final Enter to the first screen refresh after the card is filled;
    p50/p99 over 200 scans of random jobs. At 160x48 also the Enter to the thumbnails on screen.
    Baseline, same run, same method, same size: a bare Textual app that, on Enter, updates a label
    and replaces the 20 rows of a table;
  * badge to worklist, headless, in the process that has just started (the first badge);
  * resident memory of a fresh process after 50 scans, with its devices simulated.

  * the worklist read itself for every bench and person of the site, cold and warm.

Targets: scan to card p99 <= 50 ms and within 1.5x of the baseline; start-up <= 1.5 s; RSS <= 150 MB;
badge -> worklist on the terminal <= 0.2 s (baseline: a bare app pushing a screen of a 30-row table).

    python benchmarks/bench_kiosk.py [--jobs 100000] [--events 2000000] [--scans 200] [--runs 5]
                                     [--bench casting] [--sizes 100x32,160x48] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import random
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

IDLE_MARK = "SCAN YOUR BADGE"
WORKLIST_MARK = "waiting"  # "12 jobs waiting for …"
BARE_MARK = "bare app ready"


def _keys(text: str):
    from textual import events
    from textual.keys import _character_to_key

    out = [events.Key(ch if ch.isalnum() else _character_to_key(ch), ch) for ch in text]
    return out


async def _measure(app, codes: list[str], shown: list[float], settle: float = 0.01,
                   thumbs: list[float] | None = None, thumb_waits: list[float] | None = None) -> list[float]:
    """Post each code's keys and Enter at once (a scanner's burst); the time from the Enter to the refresh
    that showed the result. Times are the key events' own clock (monotonic), as a terminal stamps them.

    With `thumbs` (refresh times after thumbnails were drawn), also wait for the card's thumbnails
    and add the time from the Enter to them to `thumb_waits`, for the scans whose job has photos."""
    from textual import events

    samples = []
    for code in codes:
        n = len(shown)
        nt = len(thumbs) if thumbs is not None else 0
        keys = _keys(code)
        enter = events.Key("enter", "\r")
        for k in keys + [enter]:
            app.post_message(k)
        deadline = enter.time + 5
        while len(shown) == n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{code}: not shown within 5 s (last message {getattr(app, 'last_message', '')}; "
                                   f"scans {getattr(app, 'scans', [])[-3:]})")
            await asyncio.sleep(0.0005)
        samples.append(shown[-1] - enter.time)
        if thumbs is not None and thumb_waits is not None and getattr(app.card_screen, "_thumbs_for", None):
            wanted = app.card_screen._thumbs_for
            if wanted and wanted[1]:
                while len(thumbs) == nt:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{code}: thumbnails not shown within 5 s")
                    await asyncio.sleep(0.0005)
                thumb_waits.append(thumbs[-1] - enter.time)
        await asyncio.sleep(settle)
    return samples


def baseline_app(rows_for):
    """A bare Textual app: a label and a 20-row table, both replaced on Enter."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Label

    class Bare(App):
        def __init__(self) -> None:
            super().__init__()
            self.shown: list[float] = []
            self.typed = ""

        def compose(self) -> ComposeResult:
            yield Label("scan something", id="label")
            yield DataTable(id="table")

        def on_mount(self) -> None:
            self.query_one(DataTable).add_columns("when", "what", "who", "where")

        def on_key(self, event) -> None:
            if event.key == "enter":
                code, self.typed = self.typed, ""
                self.query_one(Label).update(code)
                t = self.query_one(DataTable)
                t.clear()
                for row in rows_for(code):
                    t.add_row(*row)
                self.call_after_refresh(lambda: self.shown.append(time.monotonic()))
            elif event.character:
                self.typed += event.character

    return Bare()


async def run_baseline(codes: list[str], size: tuple[int, int]) -> list[float]:
    rows = [(f"03-{i:02d} 10:{i:02d}", f"event {i}", "someone", "a bench") for i in range(20)]
    app = baseline_app(lambda code: [(a, f"{b} of {code}", c, d) for a, b, c, d in rows])
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        return await _measure(app, codes, app.shown)


async def run_kiosk(site: Path, bench: str, codes: list[str], person: str, size: tuple[int, int]) -> tuple[list[float], dict]:
    from floorkiosk.domain import payloads
    from floorkiosk.kiosk.app import make_app

    app = make_app(site, bench)
    shown: list[float] = []
    thumbs: list[float] = []
    thumb_waits: list[float] = []
    card = app.card_screen
    original = card.show

    def show(c):
        original(c)
        app.call_after_refresh(lambda: shown.append(time.monotonic()))

    card.show = show  # type: ignore[method-assign]
    original_thumbs = card._show_thumbs

    def show_thumbs(job_id, texts):
        original_thumbs(job_id, texts)
        app.call_after_refresh(lambda: thumbs.append(time.monotonic()))

    card._show_thumbs = show_thumbs  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        # The badge, as a scanner types it: the first worklist of this process, read in a worker.
        badge = payloads.encode(payloads.Kind.BADGE, app.shop.person(person).badge)
        from textual import events

        enter = events.Key("enter", "\r")
        for k in _keys(badge) + [enter]:
            app.post_message(k)
        while app.worklist_screen._loaded_for != person:
            if time.monotonic() > enter.time + 60:
                raise RuntimeError(f"the worklist did not come within 60 s (last message {app.last_message})")
            await asyncio.sleep(0.001)
        worklist_s = time.monotonic() - enter.time
        samples = await _measure(app, codes, shown, thumbs=thumbs, thumb_waits=thumb_waits)
        info = {"screen": type(app.screen).__name__, "last_job": card.job_id, "scale": app.devices.cells["scale"].text,
                "worklist_s": worklist_s, "thumbs": thumb_waits}
    return samples, info


PROBE = r"""
import time, sys, asyncio
t0 = time.perf_counter()
sys.path.insert(0, {here!r})
from floorkiosk.kiosk.app import make_app
import bench_kiosk

async def main():
    app = make_app({site!r}, {bench!r})
    ready = []
    async with app.run_test(size={size!r}) as pilot:
        deadline = time.perf_counter() + 30
        while not (app.screen is app.idle_screen and app.idle_screen.is_mounted):
            if time.perf_counter() > deadline:
                raise SystemExit("the idle screen did not come up")
            await asyncio.sleep(0.001)
        app.call_after_refresh(lambda: ready.append(time.perf_counter()))
        while not ready:
            await asyncio.sleep(0.001)
        startup = ready[0] - t0
        bench_kiosk.set_person(app, app.shop.person({person!r}))
        shown = []
        card = app.card_screen
        o = card.show
        def show(c):
            o(c)
            app.call_after_refresh(lambda: shown.append(time.monotonic()))
        card.show = show
        await bench_kiosk._measure(app, {codes!r}, shown)
        await pilot.pause(1.0)  # the balance keeps reading meanwhile
        rss = 0
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        print("RESULT", startup, rss, app.devices.cells["scale"].text, flush=True)

asyncio.run(main())
"""


def probe(site: Path, bench: str, person: str, codes: list[str], size: tuple[int, int]) -> dict:
    code = PROBE.format(here=str(HERE), site=str(site), bench=bench, person=person, codes=codes, size=size)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            _, startup, rss, *scale = line.split(" ")
            return {"startup_s": float(startup), "rss_mb": float(rss), "scale": " ".join(scale), "process_s": wall}
    raise RuntimeError(f"start-up probe failed:\n{out.stdout}\n{out.stderr[-3000:]}")


# -- fresh processes on a pseudo-terminal ---------------------------------------------------------

_ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|[@-Z\\-_])")

BARE_APP = f"""
from textual.app import App
from textual.widgets import Label
class Bare(App):
    def compose(self):
        yield Label({BARE_MARK!r})
Bare().run()
"""

# The badge's baseline: a bare Textual app that, on Enter, pushes a screen of a title and a 30-row table
# (the worklist's shape), measured on the terminal the same way as the kiosk's badge -> worklist.
BARE_LIST_APP = f"""
from textual.app import App
from textual.screen import Screen
from textual.widgets import DataTable, Label
class Listed(Screen):
    def compose(self):
        yield Label("30 jobs {WORKLIST_MARK} for you")
        yield DataTable()
    def on_mount(self):
        t = self.query_one(DataTable)
        t.add_columns("Job", "Stage", "Status", "Due", "Design")
        for i in range(30):
            t.add_row(f"J{{i:06d}}", "Stone setting", "todo", "2026-03-01", "Solitaire engagement ring")
class Bare(App):
    def compose(self):
        yield Label({BARE_MARK!r})
    def on_key(self, event):
        if event.key == "enter":
            self.push_screen(Listed())
Bare().run()
"""


def on_terminal(argv: list[str], size: tuple[int, int], steps: list[tuple[bytes, str]], timeout: float = 120) -> list[float]:
    """Run argv on a new pseudo-terminal of `size` (columns, rows), as a person's terminal runs it.

    steps: (keys to type, text to wait for); the keys are written at once, as a scanner sends them
    (nothing is typed for the first step: it times the start). Returns, for each step, the seconds
    from typing its keys (the process's start, for the first) to its text on the terminal. The
    process is sent Ctrl+Q after the last step, and ended if it does not exit.
    """
    cols, rows = size
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("TEXTUAL", None)
    t_step = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                            close_fds=True)
    os.close(slave)
    marks: list[float] = []
    seen = b""
    try:
        i = 0
        while i < len(steps):
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 1 << 16)
                except OSError:
                    data = b""
                if not data:
                    raise RuntimeError(f"{argv[-4:]}: exited before {steps[i][1]!r}: {_ANSI.sub(b'', seen)[-800:]!r}")
                seen += data
                if steps[i][1].encode() in _ANSI.sub(b"", seen):
                    marks.append(time.perf_counter() - t_step)
                    seen = b""
                    i += 1
                    if i < len(steps):
                        time.sleep(0.3)  # the screen settles, as before a person's first scan
                        t_step = time.perf_counter()
                        os.write(master, steps[i][0])
            if time.perf_counter() - t_step > timeout:
                raise RuntimeError(f"{argv[-4:]}: {steps[i][1]!r} not seen within {timeout:.0f} s: "
                                   f"{_ANSI.sub(b'', seen)[-800:]!r}")
    finally:
        try:
            os.write(master, b"\x11")  # Ctrl+Q
            proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        os.close(master)
    return marks


def fresh_processes(site: Path, bench: str, badge: str, size: tuple[int, int], runs: int) -> dict:
    kiosk_argv = [sys.executable, "-m", "floorkiosk", "--site", str(site), "kiosk", "--bench", bench]
    starts, worklists, bare, bare_lists = [], [], [], []
    for _ in range(runs):  # the kiosk and the bare apps in turn, so that a slow minute hits both
        s, w = on_terminal(kiosk_argv, size, [(b"", IDLE_MARK), (badge.encode() + b"\r", WORKLIST_MARK)])
        starts.append(s)
        worklists.append(w)
        bare.append(on_terminal([sys.executable, "-c", BARE_APP], size, [(b"", BARE_MARK)])[0])
        bare_lists.append(on_terminal([sys.executable, "-c", BARE_LIST_APP], size,
                                      [(b"", BARE_MARK), (badge.encode() + b"\r", WORKLIST_MARK)])[1])
    return {"startup": starts, "worklist": worklists, "bare_startup": bare, "bare_list": bare_lists}


def worklist_reads(site: Path) -> tuple[list[float], int]:
    """cards.worklist for every bench and every person who works there, twice each (cold, then warm): seconds.

    Benches with thousands of pieces waiting and benches with a few: the read must not grow with either."""
    from floorkiosk.workshop import cards
    from floorkiosk.workshop.site import open_shop

    shop = open_shop(site)
    times: list[float] = []
    try:
        for bench in shop.site.benches.values():
            for p in shop.site.people.values():
                if not (bench.qc or any(shop.site.stages[s].skill in p.skills for s in bench.stages)):
                    continue
                for _ in range(2):
                    t = time.perf_counter()
                    cards.worklist(shop, bench.id, p.id)
                    times.append(time.perf_counter() - t)
        waiting = shop.journal.query("SELECT count(*) FROM job_stages WHERE ready = 1")[0][0]
    finally:
        shop.close()
    return times, waiting


def add_thumbnails(site: Path, codes: list[str]) -> tuple[int, int]:
    """Thumbnail files for the photos the scanned jobs' cards show (the generated site has only their hashes)."""
    from PIL import Image

    from floorkiosk.workshop import cards
    from floorkiosk.workshop.site import open_shop

    shop = open_shop(site)
    rng = random.Random(1)
    with_photos = made = 0
    try:
        for code in set(codes):
            card = cards.job_card(shop, code.rsplit(":", 1)[1])
            with_photos += bool(card.photos)
            for sha, _, _ in card.photos[:3]:
                f = shop.photos_dir / sha[:2] / f"{sha}.thumb.jpg"
                if f.exists():
                    continue
                f.parent.mkdir(parents=True, exist_ok=True)
                im = Image.linear_gradient("L").resize((320, 240)).convert("RGB")
                tint = Image.new("RGB", im.size, tuple(rng.randint(60, 255) for _ in range(3)))
                Image.blend(im, tint, 0.5).save(f, "JPEG", quality=85)
                made += 1
    finally:
        shop.close()
    return with_photos, made


def set_person(app, person) -> None:
    """Log a person in without a badge scan (the probe's scans are what it measures)."""
    holder = getattr(app, "station", None)
    if holder is not None and hasattr(holder, "person"):
        holder.person = person
    else:
        app.person = person


def _ms(x: float) -> str:
    return f"{x * 1000:7.2f} ms"


def _range(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.2f} s ({min(xs):.2f}-{max(xs):.2f} s over {len(xs)} runs)"


def main() -> int:
    from common import machine, pct

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--scans", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5, help="fresh processes for the start-up figures, at each size")
    ap.add_argument("--bench", default="casting", help="a bench with a simulated balance")
    ap.add_argument("--person", default="ana")
    ap.add_argument("--sizes", default="100x32,160x48", help="terminal sizes, columns x rows")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",")]

    import gen_site
    from floorkiosk.domain import payloads
    from floorkiosk.workshop.site import open_shop

    t = time.perf_counter()
    # A copy of the cached site: the badges write their logins into it, and thumbnails are added.
    site = gen_site.working_copy(f"{gen_site.cache_dir(a.jobs, a.events).name}-kiosk", a.jobs, a.events)
    print(f"site: {site} ({a.jobs:,} jobs; ready in {time.perf_counter() - t:.1f} s)")
    print(f"machine: {machine()}")
    rng = random.Random(3)
    codes = [f"FK:J:J{rng.randint(1, a.jobs):06d}" for _ in range(a.scans + 10)]
    warm, codes = codes[:10], codes[10:]
    with_photos, made = add_thumbnails(site, warm + codes)
    print(f"{with_photos} of the {len(set(warm + codes))} scanned jobs have photos ({made} thumbnail files added)")
    shop = open_shop(site)
    badge = payloads.encode(payloads.Kind.BADGE, shop.person(a.person).badge)
    shop.close()

    reads, waiting = worklist_reads(site)
    print(f"worklist read (cards.worklist), every bench x person, cold and warm, {len(reads)} reads over "
          f"{waiting:,} stage rows waiting: p50 {_ms(pct(reads, 50))}  max {_ms(max(reads))}")
    figures: dict = {"machine": machine(), "sizes": {}, "worklist_reads": reads}
    ok = True
    for size in sizes:
        label = f"{size[0]}x{size[1]}"
        fresh = fresh_processes(site, a.bench, badge, size, a.runs)
        base = asyncio.run(run_baseline(warm + codes, size))[len(warm):]
        kiosk, info = asyncio.run(run_kiosk(site, a.bench, warm + codes, a.person, size))
        kiosk = kiosk[len(warm):]
        b50, b99, k50, k99 = pct(base, 50), pct(base, 99), pct(kiosk, 50), pct(kiosk, 99)
        ratio = k99 / b99 if b99 else float("inf")
        startup = statistics.median(fresh["startup"])
        print(f"\n== terminal {label} ({'wide: thumbnails' if size[0] >= 110 else 'narrow: no thumbnails'}) ==")
        print(f"start-up, fresh `python -m floorkiosk … kiosk` to the idle screen on the terminal: "
              f"{_range(fresh['startup'])}   (target <= 1.5 s)")
        print(f"  baseline: a bare Textual app, fresh process to its first label: {_range(fresh['bare_startup'])}")
        print(f"badge -> worklist on the terminal, in that fresh process: {_range(fresh['worklist'])}   (target <= 0.2 s)")
        print(f"  baseline: a bare Textual app, Enter -> a pushed screen of a 30-row table: {_range(fresh['bare_list'])}")
        print(f"badge -> worklist, headless, the first badge of the process: {info['worklist_s']:.2f} s")
        print(f"scan Enter -> job card on screen, {len(kiosk)} scans, bench {a.bench} ({info['scale']}):")
        print(f"  kiosk     p50 {_ms(k50)}   p99 {_ms(k99)}   max {_ms(max(kiosk))}")
        print(f"  baseline  p50 {_ms(b50)}   p99 {_ms(b99)}   (bare app: label + 20-row table, same size)")
        print(f"  kiosk / baseline at p99: {ratio:.2f}x   (target <= 1.5x and p99 <= 50 ms)")
        th = info["thumbs"]
        if th:
            print(f"  scan Enter -> thumbnails on screen ({len(th)} scans of jobs with photos): "
                  f"p50 {_ms(pct(th, 50))}   p99 {_ms(pct(th, 99))}")
        ok = ok and k99 <= 0.050 and ratio <= 1.5 and startup <= 1.5 and statistics.median(fresh["worklist"]) <= 0.2
        figures["sizes"][label] = {"kiosk_p50": k50, "kiosk_p99": k99, "baseline_p50": b50, "baseline_p99": b99,
                                   "ratio_p99": ratio, "worklist_headless_s": info["worklist_s"],
                                   "thumbs": th, **fresh}
    pr = probe(site, a.bench, a.person, codes[:50], sizes[0])
    print(f"\nresident memory after 50 scans, devices simulated ({pr['scale']}): {pr['rss_mb']:.0f} MB   "
          f"(target <= 150 MB); that process reached its idle screen {pr['startup_s']:.2f} s after its first line")
    ok = ok and pr["rss_mb"] <= 150
    print("targets: " + ("all met" if ok else "NOT all met"))
    if a.json:
        a.json.write_text(json.dumps({**figures, **pr}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
