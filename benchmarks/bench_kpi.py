"""KPI, board and metal benchmark on the 2,000,000-event site, with a year of metal and casting added.

The site comes from benchmarks/gen_site.py (100,000 jobs, about 2,000,000 events, its history
ending on the day it was generated); to a copy of it are added in bulk, through the journal's
append: monthly lots and issues to the casters and fabricators, 5,000 casting-line pieces cast on
1,000 trees (vacuum and centrifugal) and carried to packaging, daily lemel, sweeps and polishing
dust returns, and refiner shipments. The copy is made again whenever the generated site is (each
day, as its history ends on the day it was made). Then, each figure as p50 and p99 over enough
runs for a p99 (--runs), judged at p99:

    full KPI report (all history, with the metal reconciliation)   target p99 <= 2 s
    the KPI screen's default period (the last 30 days)              (no target of its own)
    board refresh (every stage, and filtered)                       target p99 <= 100 ms
    one month's metal reconciliation                                target p99 <= 1 s

    python benchmarks/bench_kpi.py [--jobs 100000] [--events 2000000] [--runs 100] [--quick] [--fresh]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, ms, pct, summary  # noqa: E402
import gen_site  # noqa: E402
from gen_site import _ts  # noqa: E402

from floorkiosk.workshop import kpi, metal, reports  # noqa: E402
from floorkiosk.domain import events as ev  # noqa: E402
from floorkiosk.domain import metal as m  # noqa: E402
from floorkiosk.workshop.site import open_shop  # noqa: E402

HERE = Path(__file__).resolve().parent
VERSION = "1"  # bump when the added metal content changes
CASTERS = (("casting", "ana", "vacuum"), ("casting", "farid", "centrifugal"))


def with_metal(jobs: int, events: int, fresh: bool) -> Path:
    """A copy of gen_site's cached site with the metal and casting added; made again with the cache."""
    base = gen_site.cached(jobs, events, fresh=fresh)
    d = HERE / "out" / f"kpi-metal-{jobs}"
    marker = d / "METAL"
    want = f"{VERSION} {(base / 'GENERATED').read_text().strip()}"
    if not fresh and marker.exists() and marker.read_text().strip() == want:
        return d
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(base, d)
    shop = open_shop(d)
    try:
        n = shop.journal.query("SELECT count(*) FROM kpi_jobs")[0][0]
        if n == 0:  # a base made before these tables existed: derive them once
            t0 = time.perf_counter()
            _rebuild_mine(shop)
            print(f"derived the metal and flow tables in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        added = add_metal(shop, random.Random(3))
        took = time.perf_counter() - t0
        print(f"added {added:,} metal and casting events in {took:.1f} s ({added / took:,.0f} events/s)")
        shop.journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        shop.close()
    marker.write_text(want + "\n")
    return d


def _rebuild_mine(shop) -> None:
    j = shop.journal
    mine = [p for p in j.projectors if type(p).__name__ in ("MetalProjector", "FlowProjector")]
    with j.lock:
        j.conn.execute("BEGIN IMMEDIATE")
        for p in mine:
            p.rebuild(j.conn, j._all_events_unlocked())
        j.conn.execute("COMMIT")


def _ev(type_, job, person, bench, payload, t):
    return ev.Event(type_, job, person, bench, payload, ts=_ts(t))


def add_metal(shop, rng: random.Random) -> int:
    site = shop.site
    first, last = shop.journal.query("SELECT min(ts), max(ts) FROM events")[0]
    t0 = datetime.fromisoformat(first).replace(second=0, microsecond=0)
    t_end = datetime.fromisoformat(last)
    alloys = list(site.alloys)
    out: list[ev.Event] = []
    total = 0

    def flush() -> None:
        nonlocal out, total
        out = [e for e in out if e.ts <= last]  # nothing after the site's last event (its "now")
        if out:
            shop.journal.append_many(out)
            total += len(out)
            out = []

    # monthly: a lot of each alloy, issued to the casters and the fabricator
    lot_n = 0
    t = t0
    while t < t_end:
        for a in alloys:
            lot_n += 1
            out.append(_ev(m.LOT_RECEIVED, None, "farid", None,
                           {"lot": f"L{lot_n:05d}", "alloy": a, "grams": "20000", "supplier": "Bullion House"}, t))
            for bench, person, _ in CASTERS:
                out.append(_ev(m.METAL_ISSUED, None, "farid", bench,
                               {"alloy": a, "grams": "3000", "bench": bench, "person": person}, t))
            out.append(_ev(m.METAL_ISSUED, None, "farid", "cleanup",
                           {"alloy": a, "grams": "3000", "bench": "cleanup", "person": "ana"}, t))
        t += timedelta(days=30)
    flush()

    # 1,000 trees of five casting-line pieces, spread over the history, each piece carried to packaging
    start_n = shop.journal.query("SELECT count(*) FROM jobs")[0][0]
    span = (t_end - t0).total_seconds()
    route = site.routes["casting-line"]
    after_casting = route.stage_ids[route.stage_ids.index("casting") + 1:]
    n_job = start_n
    for i in range(1000):
        t = t0 + timedelta(seconds=span * i / 1000)
        alloy = rng.choice(alloys)
        bench, person, method = CASTERS[i % 2]
        jobs = []
        for _ in range(5):
            n_job += 1
            jid = f"J{n_job:06d}"
            jobs.append(jid)
            due = (t + timedelta(days=rng.randint(10, 30))).date().isoformat()
            out.append(_ev(ev.JOB_CREATED, jid, "dev", "design", {"route": "casting-line", "design": "Stacking ring",
                                                                   "alloy": alloy, "due": due, "client": "Stock"}, t))
            for st, who, b in (("wax-injection", "dev", "design"), ("tree-building", person, bench)):
                out.append(_ev(ev.STAGE_STARTED, jid, who, b, {"stage": st}, t))
                if st == "tree-building":
                    out.append(_ev(ev.WEIGHT_RECORDED, jid, who, b, {"stage": st, "phase": "in", "grams": "0.40"}, t))
                out.append(_ev(ev.STAGE_FINISHED, jid, who, b, {"stage": st, "checklist": []}, t))
        tree = f"T{i + 1:05d}"
        pieces = {j: Decimal(rng.randint(300, 900)) / 100 for j in jobs}
        sprue = Decimal(rng.randint(1200, 2000)) / 100
        buttons = Decimal(rng.randint(100, 300)) / 100
        got = sum(pieces.values()) + sprue + buttons
        metal_in = (got * Decimal(str(1 + rng.uniform(0.004, 0.035)))).quantize(Decimal("0.01"))
        t += timedelta(hours=2)
        out.append(_ev(m.TREE_BUILT, None, person, bench, {"tree": tree, "alloy": alloy, "method": method, "jobs": jobs}, t))
        out += [_ev(m.TREE_JOINED, j, person, bench, {"tree": tree}, t) for j in jobs]
        t += timedelta(hours=3)
        out.append(_ev(m.TREE_CAST, None, person, bench, {"tree": tree, "metal_in": str(metal_in),
                                                         "tree_grams": str(metal_in - Decimal("0.05"))}, t))
        t += timedelta(hours=2)
        out += [_ev(m.PIECE_CUT, j, person, bench, {"tree": tree, "grams": str(w)}, t) for j, w in pieces.items()]
        out.append(_ev(m.TREE_CUT, None, person, bench, {"tree": tree, "sprue": str(sprue), "buttons": str(buttons),
                                                        "to": "stock", "pieces": {j: str(w) for j, w in pieces.items()}}, t))
        for j, w in pieces.items():
            tj = t
            for st in ["casting", *after_casting]:
                stage = site.stages[st]
                b = next(x.id for x in site.benches.values() if x.serves(st))
                who = {"casting": person, "cleanup": "ana", "stone-setting": "ben", "polishing": "chloe",
                       "plating": "chloe", "qc": "eva", "packaging": "dev"}[st]
                tj += timedelta(minutes=rng.randint(20, 300))
                out.append(_ev(ev.STAGE_STARTED, j, who, b, {"stage": st}, tj))
                if stage.needs("weigh-in"):
                    out.append(_ev(ev.WEIGHT_RECORDED, j, who, b, {"stage": st, "phase": "in", "grams": str(w)}, tj))
                if stage.needs("weigh-out"):
                    if st != "casting":
                        limit = float(stage.max_loss_pct or 1) * 0.8
                        w = (w * Decimal(str(1 - rng.uniform(0, limit) / 100))).quantize(Decimal("0.001"))
                    out.append(_ev(ev.WEIGHT_RECORDED, j, who, b, {"stage": st, "phase": "out", "grams": str(w)}, tj))
                for _ in range(stage.photos_needed):
                    out.append(_ev(ev.PHOTO_ATTACHED, j, who, b, {"stage": st, "sha256": "cd" * 32}, tj))
                out.append(_ev(ev.STAGE_FINISHED, j, who, b, {"stage": st, "checklist": list(stage.checklist)}, tj))
                if stage.verify:
                    out.append(_ev(ev.STAGE_VERIFIED, j, "eva", "qc", {"stage": st}, tj))
        if len(out) > 20_000:
            flush()
    flush()

    # daily scrap: lemel from cleanup, polishing dust to the refiner; weekly a refiner shipment of sweeps
    t = t0
    day = 0
    while t < t_end:
        for a in alloys:
            out.append(_ev(m.METAL_RETURNED, None, "ana", "cleanup",
                           {"alloy": a, "grams": "0.350", "category": "lemel", "bench": "cleanup", "person": "ana",
                            "stage": "cleanup", "to": "stock"}, t + timedelta(hours=9)))
            out.append(_ev(m.METAL_RETURNED, None, "chloe", "polishing",
                           {"alloy": a, "grams": "0.120", "category": "polishing-dust", "bench": "polishing",
                            "person": "chloe", "stage": "polishing", "to": "refiner"}, t + timedelta(hours=9)))
            if day % 7 == 6:
                out.append(_ev(m.REFINER_SENT, None, "farid", None,
                               {"alloy": a, "grams": "2.000", "category": "lemel", "shipment": f"R{day:04d}{a}"},
                               t + timedelta(hours=10)))
        t += timedelta(days=1)
        day += 1
        if len(out) > 20_000:
            flush()
    flush()
    return total


def timed(fn, n: int) -> tuple[list[float], object]:
    out, result = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t0)
    return out, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=100, help="runs of each report (more of the cheap figures)")
    ap.add_argument("--quick", action="store_true", help="a 5,000-job site, for a smoke run")
    ap.add_argument("--fresh", action="store_true", help="generate the sites again")
    a = ap.parse_args()
    if a.quick:
        a.jobs, a.events = 5_000, 100_000
    print(f"machine: {machine()}")
    site = with_metal(a.jobs, a.events, a.fresh)
    shop = open_shop(site)
    q = shop.journal.query
    n_events = shop.journal.count()
    n_jobs, n_open = q("SELECT count(*), sum(open) FROM kpi_jobs")[0]
    today = kpi.today_of(shop)
    n_late = q("SELECT count(*) FROM kpi_jobs WHERE open = 1 AND due < ?", (today.isoformat(),))[0][0]
    first, last = kpi.history_range(shop)
    print(f"site:    {n_jobs:,} jobs ({n_open:,} open, {n_late:,} of them late today, {today}), {n_events:,} events, "
          f"{first} to {last}; {q('SELECT count(*) FROM metal_moves')[0][0]:,} metal moves, "
          f"{q('SELECT count(*) FROM metal_trees')[0][0]:,} trees")
    runs = a.runs

    # The yardstick of this run: one bare full scan of the events table, read by the same connection.
    bare, _ = timed(lambda: q("SELECT type, count(*) FROM events GROUP BY type"), max(5, runs // 10))
    print(f"baseline: bare sqlite3 scan of the {n_events:,} events (GROUP BY type): {summary(bare)}")

    # the full KPI report over all history, with the metal reconciliation
    full, r = timed(lambda: kpi.report(shop, first, last), runs)
    print(f"full KPI report (all history, with metal):  {summary(full)}  (target p99 <= 2 s; "
          f"p99 {pct(full, 99) / pct(bare, 50):.1f}x the bare scan's p50)")
    print(f"         YVR {r.yvr_total.yvr}% over {r.yvr_total.trees} trees; FTRR {r.ftrr_overall.pct}% of "
          f"{r.ftrr_overall.total} jobs; CDPA {r.cdpa.cdpa}% of {r.cdpa.promised}; {r.late_total:,} late, {r.at_risk_total:,} at risk")
    # what the KPI screen opens on: the last 30 days, without the metal
    d1, d2 = kpi.parse_period(None, None, shop)
    screen, rs = timed(lambda: kpi.report(shop, d1, d2, with_metal=False), runs)
    print(f"KPI screen, default period ({d1} to {d2}): {summary(screen)}")
    print(f"         FTRR {rs.ftrr_overall.pct}% of {rs.ftrr_overall.total} jobs completed; "
          f"{rs.throughput.delivered:,} delivered; CDPA {rs.cdpa.cdpa}% of {rs.cdpa.promised} promised")
    # a whole calendar month inside the recorded history: the one before the last event's month
    last_day = date.fromisoformat(q("SELECT max(day) FROM kpi_stage_daily")[0][0])
    month_end = last_day.replace(day=1) - timedelta(days=1)
    if month_end < first:
        month_end = last_day
    month_start = max(first, month_end.replace(day=1))
    rm, _ = timed(lambda: kpi.report(shop, month_start, month_end), runs)
    print(f"KPI report for {month_start:%B %Y}, with metal:  {summary(rm)}")

    # board refresh: what the supervisor's screen does each time the journal moves
    b_all, b = timed(lambda: kpi.board(shop), 2 * runs)
    print(f"board refresh (all stages, {b.total:,} jobs):   {summary(b_all)}  (target p99 <= 100 ms)")
    b_f, _ = timed(lambda: kpi.board(shop, bench="polishing", alloy="18KY"), 2 * runs)
    print(f"board refresh (a bench and an alloy):        {summary(b_f)}")
    pos, _ = timed(lambda: kpi.journal_position(shop), 10 * runs)
    print(f"journal position poll:                       {summary(pos)}")

    # one month's reconciliation (and a year's)
    rec, rr = timed(lambda: metal.reconcile(shop, month_start, month_end), runs)
    lines = sum(len(v) for v in rr.lines.values())
    print(f"metal reconciliation, one month:             {summary(rec)}  (target p99 <= 1 s; {lines} lines, "
          f"{len(rr.flagged())} flagged)")
    year, _ = timed(lambda: metal.reconcile(shop, max(first, last - timedelta(days=364)), last), max(5, runs // 10))
    print(f"metal reconciliation, a year:                {summary(year)}")

    tmp = Path(tempfile.mkdtemp(prefix="fk-kpi-"))
    t0 = time.perf_counter()
    files = reports.write_report(shop, month_start, month_end, tmp)
    print(f"report files for a month (CSV + HTML):       {ms(time.perf_counter() - t0)} ({len(files)} files)")
    shutil.rmtree(tmp, ignore_errors=True)
    verdict = [("full report", pct(full, 99) <= 2.0), ("board", pct(b_all, 99) <= 0.1),
               ("month reconcile", pct(rec, 99) <= 1.0)]
    print("targets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in verdict)
          + f" (p99 of {runs} runs; p99 of {2 * runs} for the board)")
    shop.close()


if __name__ == "__main__":
    main()
