"""Process control benchmark on the 2,000,000-event site: charts updated inside the append, a year recomputed.

The site comes from benchmarks/gen_site.py (100,000 jobs, about 2,000,000 events over about a
year); each weighed stage run is a point of its stage's loss characteristic. A copy of it gets its
SPC tables folded once (when the site was made without them), then:

    one inspection's numeric checks folded into their charts, rules judged   target p99 <= 5 ms
      (SpcProjector.apply inside the write transaction, beside the same inspection's whole append)
    a year of SPC for every characteristic recomputed (points read, limits,
      all eight Nelson rules, Cpk)                                           target <= 2 s
      beside a bare numpy pass over the same series (mean, moving range, limits, rule 1)

    python benchmarks/bench_spc.py [--jobs 100000] [--events 2000000] [--runs 300] [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, ms, pct, summary  # noqa: E402
import gen_site  # noqa: E402

from floorkiosk.domain import events as ev  # noqa: E402
from floorkiosk.domain import qc as dq  # noqa: E402
from floorkiosk.workshop import spc  # noqa: E402
from floorkiosk.workshop.site import open_shop  # noqa: E402


def fold_once(shop) -> float:
    """Fold the SPC tables from the journal where the site was made before they existed (seconds)."""
    conn = shop.journal.conn
    if conn.execute("SELECT count(*) FROM spc_chars").fetchone()[0]:
        return 0.0
    proj = next(p for p in shop.journal.projectors if isinstance(p, spc.SpcProjector))
    t = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    proj.rebuild(conn, shop.journal.events(types=proj.rebuild_types))
    conn.execute("COMMIT")
    return time.perf_counter() - t


def inspection(rng: random.Random) -> dict:
    """A passing final inspection with three numeric checks and two pass/fail ones."""
    shank = 1.4 + rng.random() * 0.5
    return {"stage": "qc", "plan": "final-ring", "result": dq.PASS, "selection": "every piece", "sampled": False,
            "checks": [
                {"id": "weight", "name": "Weight", "kind": "weight", "result": dq.PASS, "text": "5.2", "source": "scale",
                 "value": "5.214", "tolerance_pct": "2", "deviation_pct": f"{rng.gauss(0, 0.5):.2f}"},
                {"id": "shank", "name": "Shank thickness", "kind": "measure", "unit": "mm", "result": dq.PASS,
                 "text": f"{shank:.2f}", "source": "typed", "value": f"{shank:.2f}", "min": "1.4", "max": "1.9"},
                {"id": "alignment", "name": "Stone alignment", "kind": "measure", "unit": "°", "result": dq.PASS,
                 "text": "1", "source": "typed", "value": f"{abs(rng.gauss(0, 1)):.1f}", "max": "3"},
                {"id": "secure", "name": "Stones secure", "kind": "visual", "result": dq.PASS, "text": "pass",
                 "source": "typed"},
                {"id": "finish", "name": "Finish", "kind": "visual", "result": dq.PASS, "text": "pass", "source": "typed"},
            ]}


def bare_numpy(series: dict[str, list[float]]) -> float:
    """The floor: mean, moving range, limits and the beyond-3-sigma points of each series, nothing else."""
    import numpy as np

    t = time.perf_counter()
    for values in series.values():
        x = np.asarray(values, dtype=float)
        if len(x) < 2:
            continue
        sigma = np.abs(np.diff(x)).mean() / 1.128
        _ = np.flatnonzero(np.abs(x - x.mean()) > 3 * sigma)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="a 5,000-job site, for a first look")
    a = ap.parse_args()
    if a.quick:
        a.jobs, a.events, a.runs = 5_000, 100_000, 100
    print(f"machine: {machine()}")
    root = gen_site.working_copy(f"site-{a.jobs}-{a.events}-spc", a.jobs, a.events)
    shop = open_shop(root)
    try:
        took = fold_once(shop)
        conn = shop.journal.conn
        n_points = conn.execute("SELECT count(*) FROM spc_points").fetchone()[0]
        print(f"site: {shop.journal.count():,} events, {n_points:,} SPC points"
              + (f" (SPC tables folded once in {took:.1f} s)" if took else ""))

        # 1. an inspection: its charts and rules inside the append
        rng = random.Random(1)
        jobs = [r[0] for r in conn.execute("SELECT id FROM jobs ORDER BY random() LIMIT ?", (a.runs,))]
        proj = next(p for p in shop.journal.projectors if isinstance(p, spc.SpcProjector))
        fold, whole, bare = [], [], []
        for j in jobs:
            e = shop.event(dq.QC_INSPECTED, j, "eva", "qc", inspection(rng))
            conn.execute("BEGIN IMMEDIATE")
            t = time.perf_counter()
            proj.apply(conn, [e])
            fold.append(time.perf_counter() - t)
            conn.execute("ROLLBACK")
            t = time.perf_counter()
            shop.journal.append(e)
            whole.append(time.perf_counter() - t)
            # baseline in the same run: an append the SPC projector does not look at
            b = shop.event(ev.LABEL_REPRINTED, j, "eva", "qc", {"reason": "bench"})
            t = time.perf_counter()
            shop.journal.append(b)
            bare.append(time.perf_counter() - t)
        print(f"SPC fold of one inspection (3 numeric checks), inside the append: {summary(fold)}"
              f"   target p99 <= 5 ms: {'met' if pct(fold, 99) <= 0.005 else 'MISSED'}")
        print(f"  the inspection's whole append (all projectors, durable commit):  {summary(whole)}")
        print(f"  baseline, an append SPC ignores (label reprinted):               {summary(bare)}")

        # 2. a year of SPC, every characteristic
        since = (datetime.now(timezone.utc) - timedelta(days=365)).isoformat()[:19]
        runs = 5
        recompute, reads = [], []
        for _ in range(runs):
            t = time.perf_counter()
            charts = spc.charts(shop, since=since)
            recompute.append(time.perf_counter() - t)
        t = time.perf_counter()
        series = {name: s.values for name, s in spc.read_series(conn, shop.site, since=since, full=False).items()}
        reads.append(time.perf_counter() - t)
        npass = [bare_numpy(series) for _ in range(runs)]
        points = sum(len(v) for v in series.values())
        alerts = sum(len(c.alerts) for c in charts)
        print(f"a year of SPC, {len(charts)} characteristics, {points:,} points, {alerts:,} open alerts:")
        print(f"  recomputed (read, limits, eight Nelson rules, Cpk): p50 {ms(pct(recompute, 50))}"
              f"  max {ms(max(recompute))}   target <= 2 s: {'met' if max(recompute) <= 2 else 'MISSED'}")
        print(f"  of which reading the points' values: {ms(reads[0])}")
        print(f"  baseline, a bare numpy pass over the same series (mean, MR, limits, rule 1): "
              f"p50 {ms(pct(npass, 50))}")
    finally:
        shop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
