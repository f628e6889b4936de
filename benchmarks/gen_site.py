"""Generate a large site (100,000 jobs, about 2,000,000 events) for the benchmarks, and cache it.

The events follow each job's route in order, as the kiosk would record them (start, weigh-in,
weigh-out, photos, finish, verification by another person), with a few holds and rejections, so
that lookups, rebuilds and reports run on realistic data. They are written through the journal's
bulk append, which is itself one of the measured figures.

The history ends on the day it is generated: a job is created every five minutes up to then, and
what would come after the moment of generation is not recorded (those jobs are in progress). So
the reports' default period (the last 30 days) holds work, and the jobs created in the last weeks
are not yet due. The cache is keyed by that day as well as by its parameters: a site generated on
an earlier day is generated again, as its "today" would lie in the past.

Benchmarks that write to the site (appends, a badge's login, the metal they add) work on a copy
of the cache (`working_copy`), made again whenever the cache is.

    python benchmarks/gen_site.py [--jobs 100000] [--events 2000000] [--out DIR]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import random
import shutil
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from floorkiosk.domain import events as ev
from floorkiosk.workshop.shop import Shop
from floorkiosk.workshop.site import init_site, open_shop

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out" / "site-100k"
VERSION = "4"  # bump when the generated content changes, so caches are made again

DOER = {"design": "dev", "casting": "ana", "cleanup": "ana", "fabrication": "ana", "setting": "ben",
        "polishing": "chloe", "plating": "chloe", "qc": "eva", "dispatch": "dev"}
DESIGNS = ["Solitaire ring", "Halo ring", "Signet ring", "Eternity band", "Stacking ring", "Pear earrings",
           "Tennis bracelet", "Bezel pendant", "Wedding band"]
ROUTES = ["custom-ring", "casting-line", "fabrication"]


def _ts(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_events(site, jid: str, rng: random.Random, t: datetime, budget: int) -> list[ev.Event]:
    """The events of one job, following its route, at most about `budget` of them."""
    route_id = rng.choice(ROUTES)
    route = site.routes[route_id]
    alloy = rng.choice(list(site.alloys))
    due = (t + timedelta(days=rng.randint(10, 40))).date().isoformat()
    out = [ev.Event(ev.JOB_CREATED, jid, "dev", "design",
                    {"route": route_id, "design": rng.choice(DESIGNS), "alloy": alloy, "due": due,
                     "client": f"Client {rng.randint(1, 5000)}", "client_initials": "CL",
                     "priority": "rush" if rng.random() < 0.1 else "normal",
                     "spec": "matte shank, mirror bezel, no rhodium"}, ts=_ts(t))]
    weight = Decimal(rng.randint(2000, 15000)) / 1000
    bench_of = {s: b.id for b in site.benches.values() for s in b.stages}
    for step in route.steps:
        stage = site.stages[step.stage]
        who, bench = DOER[stage.skill], bench_of[step.stage]
        n = 2 + stage.needs("weigh-in") + stage.needs("weigh-out") + stage.photos_needed + stage.verify
        if len(out) + n > budget:
            break

        def add(type_: str, payload: dict, person: str = who, b: str = bench) -> None:
            nonlocal t
            t += timedelta(minutes=rng.randint(5, 240))
            out.append(ev.Event(type_, jid, person, b, {"stage": step.stage, **payload}, ts=_ts(t)))

        add(ev.STAGE_STARTED, {})
        if stage.needs("weigh-in"):
            add(ev.WEIGHT_RECORDED, {"phase": "in", "grams": str(weight), "raw": "", "unit": "g"})
        if stage.needs("weigh-out"):
            limit = float(stage.max_loss_pct or 1)
            weight = (weight * Decimal(str(1 - rng.uniform(0, limit * 0.9) / 100))).quantize(Decimal("0.001"))
            add(ev.WEIGHT_RECORDED, {"phase": "out", "grams": str(weight), "raw": "", "unit": "g"})
        for _ in range(stage.photos_needed):
            add(ev.PHOTO_ATTACHED, {"sha256": hashlib.sha256(f"{jid}{step.stage}{len(out)}".encode()).hexdigest()})
        add(ev.STAGE_FINISHED, {"checklist": list(stage.checklist)})
        if stage.verify:
            if rng.random() < 0.08:
                add(ev.STAGE_REJECTED, {"defect": "LOOSE-STONE", "reason": "stone moves", "redo": step.stage}, "eva", "qc")
                break
            add(ev.STAGE_VERIFIED, {}, "eva", "qc")
    return out


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def generate(site_dir: str | Path = DEFAULT_OUT, jobs: int = 100_000, events: int = 2_000_000, seed: int = 1,
             chunk_jobs: int = 500, quiet: bool = False, end: datetime | None = None) -> dict:
    """Create the site at site_dir (replacing it) and return figures about the bulk append.

    The history ends at `end` (now): the last job is created a few hours before it, and the events
    that would fall after it are left out.
    """
    site_dir = Path(site_dir)
    if site_dir.exists():
        shutil.rmtree(site_dir)
    init_site(site_dir, origin="gen")
    shop = open_shop(site_dir)
    rng = random.Random(seed)
    per_job = events / jobs
    end = end or _now()
    start = end - timedelta(minutes=jobs * 5, hours=4)
    cut = _ts(end)
    total, t_append, pending = 0, 0.0, []
    for i in range(jobs):
        # budgets spread around the mean so that the total lands near `events`
        budget = max(1, int(rng.uniform(0.2, 2.4) * per_job))
        t = start + timedelta(minutes=i * 5)
        pending.extend(e for e in job_events(shop.site, f"J{i + 1:06d}", rng, t, budget) if e.ts <= cut)
        if (i + 1) % chunk_jobs == 0 or i + 1 == jobs:
            t0 = time.perf_counter()
            shop.journal.append_many(pending)
            t_append += time.perf_counter() - t0
            total += len(pending)
            pending = []
            if not quiet and (i + 1) % (chunk_jobs * 20) == 0:
                print(f"  {i + 1} jobs, {total} events, {total / t_append:,.0f} events/s", file=sys.stderr)
    shop.journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shop.close()
    (site_dir / "GENERATED").write_text(f"{key(jobs, events, end.date())} {seed} {total}\n")
    return {"events": total, "seconds": t_append, "events_per_s": total / t_append}


def key(jobs: int, events: int, day: date | None = None) -> str:
    """What a cached site must match to be reused: this generator's version, its size, the day it ends."""
    return f"{VERSION} {jobs} {events} {(day or _now().date()).isoformat()}"


def _current(site_dir: Path, jobs: int, events: int) -> bool:
    marker = site_dir / "GENERATED"
    return marker.exists() and marker.read_text().split()[:4] == key(jobs, events).split()


def cache_dir(jobs: int, events: int) -> Path:
    """Where the site of these parameters is cached (the default one at DEFAULT_OUT)."""
    if (jobs, events) == (100_000, 2_000_000):
        return DEFAULT_OUT
    return HERE / "out" / f"site-{jobs}-{events}"


def cached(jobs: int = 100_000, events: int = 2_000_000, site_dir: Path | None = None, quiet: bool = False,
           fresh: bool = False) -> Path:
    """The generated site, made once and reused while its parameters and its day match (or made
    again when `fresh`).

    Two benchmarks started together wait for one another here rather than both generating it.
    """
    site_dir = Path(site_dir) if site_dir else cache_dir(jobs, events)
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(site_dir.parent / f".{site_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if fresh or not _current(site_dir, jobs, events):
            t0 = time.perf_counter()
            r = generate(site_dir, jobs, events, quiet=quiet)
            print(f"generated {r['events']:,} events for {jobs:,} jobs at {site_dir} in {time.perf_counter() - t0:.0f} s "
                  f"(bulk append with every projector: {r['events_per_s']:,.0f} events/s)", file=sys.stderr)
    return site_dir


def working_copy(name: str, jobs: int = 100_000, events: int = 2_000_000, *, fresh: bool = False) -> Path:
    """A copy of the cached site under benchmarks/out/<name>, for a benchmark that writes to it.

    Made again when the cache was made again since (the copy carries the cache's key), or when
    `fresh`; otherwise the copy of an earlier run is reused, with what that run wrote.
    """
    src = cached(jobs, events)
    dst = HERE / "out" / name
    want = (src / "GENERATED").read_text()
    if fresh or not (dst / "GENERATED").exists() or (dst / "GENERATED").read_text() != want:
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
    return dst


def open_cached(jobs: int = 100_000, events: int = 2_000_000) -> Shop:
    return open_shop(cached(jobs, events))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = ap.parse_args()
    r = generate(a.out, a.jobs, a.events)
    print(f"generated {r['events']:,} events for {a.jobs:,} jobs in {r['seconds']:.1f} s of appends "
          f"({r['events_per_s']:,.0f} events/s) at {a.out}")


if __name__ == "__main__":
    main()
