"""Audit benchmark: `audit verify` and `db rebuild` on a large site, time and peak memory, beside a bare read.

The site comes from benchmarks/gen_site.py (by default 100,000 jobs, about 2,000,000 events; one job
every five minutes, so the open jobs are those of the last weeks whatever the size). Each figure is
measured in a fresh process, one at a time (the machine has two cores):

    bare read         SELECT every row of the events table and decode its payload (the baseline)
    verify --full     the chains, the photos, the derived tables against a fold of the whole journal;
                      on a copy of the site, which then holds a signed snapshot of its derived tables
    audit verify      the same copy after a tail of new jobs (--tail events, 1% of the site by default):
                      the chains and photos as before, the derived tables against the snapshot with
                      only the tail folded onto it
    db rebuild        on the intact site: the same fold, compared, nothing to rewrite
    full rebuild      every derived table thrown away and derived again (Journal.rebuild, with its
                      helper process on two cores); the state digest before and after must be equal

Peak memory is the resident set's high-water mark (getrusage maxrss) of the process itself and,
apart, of its children (the rebuild's helper). Targets: audit verify <= 30 s on 2M events; every
process <= 1 GB; memory flat from 0.5M to 10M events (--events 500000,2000000,10000000; the 10M site
takes a while to generate once, then stays cached under benchmarks/out/ for the day; above 2M only the
bare read and audit verify run). The generated sites hold no photo files, so audit verify says every
photo missing (and exits 1): that check is measured all the same (each photo looked up in the store).

    python benchmarks/bench_audit.py [--events 2000000[,...]] [--jobs N] [--tail N] [--skip verify,check,rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402
import gen_site  # noqa: E402

# Each measured step runs in its own interpreter, which reports its wall time and the high-water
# marks of its own resident set and of its children's.
PROBE = textwrap.dedent("""
    import json, resource, sys, time
    t0 = time.perf_counter()
    out = {}
    what, site = sys.argv[1], sys.argv[2]
    if what == "bare":
        import sqlite3
        from floorkiosk.domain import events as ev
        conn = sqlite3.connect(site + "/journal.db")
        cur = conn.execute("SELECT seq, id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash, hash"
                           " FROM events ORDER BY seq")
        n = 0
        while True:
            rows = cur.fetchmany(20000)
            if not rows:
                break
            for r in rows:
                ev.loads(r[9])
            n += len(rows)
        out["events"] = n
    elif what == "rebuild":
        from floorkiosk.workshop.site import open_shop
        shop = open_shop(site)
        before = shop.journal.state_digest()
        t1 = time.perf_counter()
        bad = shop.journal.rebuild()
        out["rebuild_s"] = time.perf_counter() - t1
        out["same"] = shop.journal.state_digest() == before
        out["bad"] = len(bad)
        out["events"] = shop.journal.count()
        shop.close()
    else:
        import contextlib, io
        from floorkiosk.cli import main
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            out["rc"] = main(["--site", site, *what.split()])
        out["said"] = buf.getvalue().strip().splitlines()
    out["wall_s"] = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu_s"] = me.ru_utime + me.ru_stime
    out["children_cpu_s"] = kids.ru_utime + kids.ru_stime
    out["self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out))
""")


def measure(what: str, site: Path) -> dict:
    """Run one step in a fresh process; its figures, and the harness's own view of that process's
    peak (RUSAGE_CHILDREN is the high-water mark over every child waited for, helper included)."""
    proc = subprocess.run([sys.executable, "-c", PROBE, what, str(site)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    if proc.stderr.strip():
        r["stderr_all"] = proc.stderr.strip().splitlines()
        r["stderr"] = r["stderr_all"][-5:]
    return r


def line(name: str, r: dict, bare: dict | None = None) -> str:
    text = (f"{name:14} {r['wall_s']:7.1f} s (CPU {r['cpu_s']:.1f} s"
            + (f" + helper {r['children_cpu_s']:.1f} s" if r.get("children_cpu_s", 0) > 0.5 else "")
            + f")   peak {r['self_mb']:6.0f} MB"
            + (f", helper {r['children_mb']:5.0f} MB" if r.get("children_mb", 0) > 1 else ""))
    if bare is not None:
        text += f"   ({r['wall_s'] / bare['wall_s']:.1f}x the bare read's time)"
    return text


def _ram() -> str:
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        return f"{kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        return "RAM unknown"


def _load() -> str:
    try:
        return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "load unknown"


def _verify(name: str, what: str, site: Path, bare: dict) -> dict:
    r = measure(what, site)
    # the generated site's photo events name no file in its store: every photo is said missing
    missing = sum("EVIDENCE:" in x and "missing from the photo store" in x for x in r.get("stderr_all", []))
    print(line(name, r, bare) + ("" if r["rc"] == 0 else
          f"   exit {r['rc']}" + (f" ({missing:,} photos missing: the generator writes no photo files)"
                                  if missing else f": {r.get('stderr')}")))
    for x in [*r.get("said", []), *(x for x in r.get("stderr_all", []) if x.startswith(("note:", "SNAPSHOT:",
                                                                                     "DERIVED:")))]:
        print(f"    {x}")
    return r


def add_tail(site: Path, events: int, jobs: int) -> int:
    """New jobs appended to the site, as work goes on after a check: about `events` events."""
    from floorkiosk.workshop.site import open_shop  # the harness only; each measured step has its own process

    shop = open_shop(site)
    rng = random.Random(7)
    t = gen_site._now() - gen_site.timedelta(days=30)
    cut = gen_site._ts(gen_site._now())
    out, i = [], 0
    while len(out) < events:
        i += 1
        t += gen_site.timedelta(minutes=5)
        out += [e for e in gen_site.job_events(shop.site, f"T{jobs + i:06d}", rng, t, 20) if e.ts <= cut]
    shop.journal.append_many(out[:events])
    shop.close()
    return min(len(out), events)


def run_site(events: int, jobs: int | None, skip: set[str], tail: int | None = None) -> dict:
    jobs = jobs or max(1, events // 20)
    site = gen_site.cached(jobs, events)
    print(f"\nsite: {site} ({jobs:,} jobs); {_load()} on {os.cpu_count()} cores")
    bare = measure("bare", site)
    print(f"events: {bare['events']:,}")
    print(line("bare read", bare))
    results = {"bare": bare}
    if "verify" not in skip:
        copy = site.with_name(site.name + "-snapshot")
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(site, copy)  # the checks below write a snapshot into the site: not into the cache
        try:
            results["full"] = _verify("verify --full", "audit verify --full", copy, bare)
            added = add_tail(copy, tail if tail is not None else max(1, bare["events"] // 100), jobs)
            print(f"(a tail of {added:,} events appended to the copy after that check)")
            results["verify"] = _verify("audit verify", "audit verify", copy, bare)
        finally:
            shutil.rmtree(copy)
    if "check" not in skip:
        r = results["check"] = measure("db rebuild", site)
        print(line("db rebuild", r, bare) + ("" if r["rc"] == 0 else f"   EXIT {r['rc']}: {r.get('stderr')}"))
    if "rebuild" not in skip:
        r = results["rebuild"] = measure("rebuild", site)
        print(line("full rebuild", r, bare) + f"   state {'identical' if r['same'] else 'DIFFERS'} after it")
    print(f"({_load()} at the end)")
    results["events"] = bare["events"]
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", default="2000000",
                    help="the site's size, or sizes separated by commas (e.g. 500000,2000000,10000000)")
    ap.add_argument("--jobs", type=int, default=None, help="default: one job per 20 events, as the 2M site has")
    ap.add_argument("--tail", type=int, default=None,
                    help="events appended after the full check, before the incremental one (default: 1%% of the site)")
    ap.add_argument("--skip", default="", help="comma-separated steps to leave out: verify, check, rebuild")
    ap.add_argument("--only-verify-above", type=int, default=2_000_000,
                    help="on larger sites only the bare read and audit verify run (default 2000000)")
    a = ap.parse_args()
    sizes = [int(x.replace("_", "")) for x in a.events.split(",") if x.strip()]
    skip = set(filter(None, a.skip.split(",")))
    print(f"machine: {machine()}, {_ram()}")
    runs = {}
    for n in sizes:
        runs[n] = run_site(n, a.jobs, skip | ({"check", "rebuild"} if n > a.only_verify_above else set()), a.tail)
    print("\npeak resident memory by site size (MB; the process, and its helper process):")
    print(f"{'events':>12} {'bare read':>10} {'verify --full':>16} {'audit verify':>16} {'db rebuild':>16}"
          f" {'full rebuild':>16}")
    for n, res in runs.items():
        def cell(k: str) -> str:
            r = res.get(k)
            return "-" if r is None else f"{r['self_mb']:.0f}" + (f" + {r['children_mb']:.0f}" if r["children_mb"] > 1 else "")
        print(f"{res['events']:>12,} {cell('bare'):>10} {cell('full'):>16} {cell('verify'):>16} {cell('check'):>16}"
              f" {cell('rebuild'):>16}")
    for n, res in runs.items():
        peak = max([max(r["self_mb"], r["children_mb"]) for k, r in res.items() if k not in ("bare", "events")] or [0])
        v = res.get("verify", {}).get("wall_s")
        line_ = f"{res['events']:,} events: every process <= 1024 MB ({'met' if peak <= 1024 else 'MISSED'}: {peak:.0f} MB)"
        if v is not None and 1_500_000 <= res["events"] <= 2_500_000:
            line_ += f"; audit verify <= 30 s ({'met' if v <= 30 else 'MISSED'}: {v:.1f} s wall)"
        print("targets: " + line_)
    return 0


if __name__ == "__main__":
    sys.exit(main())
