"""A kiosk as its own process, driven by scripted actions, for the hub tests and the benchmark.

    python kiosk_proc.py SITE BENCH CONTROL_DIR NAME [--rate 20] [--seconds 60] [--seed 1]

It acts at `rate` actions a second on the jobs it knows, with the background sync running, and
appends the id of every event it acknowledged to CONTROL_DIR/NAME.acks (one per line, flushed at
once: a SIGKILL loses no acknowledged id). Every 0.1 s it writes "online queued" to NAME.status.
When CONTROL_DIR/stop appears it stops acting, waits until its queue is drained and writes
NAME.drained; when CONTROL_DIR/final appears it syncs one last time and writes NAME.json with its
state digest. With --wait-go it starts acting only when CONTROL_DIR/go appears. Lines "lat <ms>" in NAME.seen record,
for the label reprints of other kiosks, the time from their recording there (the event's time, to the
millisecond) to their arrival here (the benchmark reads them).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from floorkiosk.workshop import cards, verbs
from floorkiosk.workshop import sync
from floorkiosk.domain import events as ev
from floorkiosk.errors import FloorkioskError
from floorkiosk.workshop.site import open_shop

RING = dict(route="custom-ring", design="Halo ring", alloy="18KY", due="2026-12-24")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("site")
    ap.add_argument("bench")
    ap.add_argument("control")
    ap.add_argument("name")
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--wait-go", action="store_true", help="start acting when CONTROL_DIR/go appears")
    ap.add_argument("--own-jobs", action="store_true", help="act mostly on the jobs this kiosk created")
    a = ap.parse_args()
    control = Path(a.control)
    rnd = random.Random(a.seed)
    shop = open_shop(a.site)
    origin = shop.journal.origin
    acks = open(control / f"{a.name}.acks", "a", buffering=1)
    seen = open(control / f"{a.name}.seen", "a", buffering=1)

    def on_events(events: list[ev.Event]) -> None:
        now = time.time()
        for e in events:
            if e.origin != origin and e.type == ev.LABEL_REPRINTED:  # stamped when recorded, to the ms
                sent = datetime.fromisoformat(e.ts.replace("Z", "+00:00")).timestamp()
                seen.write(f"lat {(now - sent) * 1000:.2f}\n")

    shop.journal.subscribe(on_events)
    worker = sync.start_background_sync(shop, a.bench)
    done = threading.Event()

    def report() -> None:
        while not done.is_set():
            st = sync.status(shop)
            tmp = control / f"{a.name}.status.tmp"
            tmp.write_text(f"{st.online} {st.queued}\n")
            tmp.replace(control / f"{a.name}.status")
            done.wait(0.1)

    threading.Thread(target=report, daemon=True).start()
    if a.wait_go:
        # Everyone starts together: an event made while another kiosk was still starting up would
        # count its start-up time as latency.
        while not (control / "go").exists():
            time.sleep(0.02)
    mine: list[str] = []
    known: list[str] = []
    t_end = time.monotonic() + a.seconds
    step = 1.0 / a.rate
    nxt = time.monotonic()
    i = 0
    while time.monotonic() < t_end and not (control / "stop").exists():
        if i % 20 == 0:
            known = [r[0] for r in cards.list_jobs(shop, status=None, limit=500)]
        i += 1
        ids = act(shop, a.bench, rnd, known, mine, a.own_jobs)
        for eid in ids:
            acks.write(eid + "\n")
        nxt += step
        time.sleep(max(0.0, nxt - time.monotonic()))

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        st = sync.status(shop)
        if st.online and st.queued == 0:
            break
        time.sleep(0.05)
    else:
        print(f"{a.name}: not drained: {sync.status(shop)}", file=sys.stderr)
        return 3
    (control / f"{a.name}.drained").write_text("ok\n")
    while not (control / "final").exists():
        time.sleep(0.05)
    worker.stop()
    done.set()
    s = sync.Syncer(shop, a.bench)
    s.sync_once()
    s.close()
    result = {"digest": shop.journal.state_digest(), "count": shop.journal.count(),
              "pending": shop.journal.pending_count(), "origin": origin,
              "conflicts": len(sync.conflicts(shop, status=None)),
              "verify": [str(p) for p in shop.journal.verify()]}
    (control / f"{a.name}.json").write_text(json.dumps(result))
    shop.close()
    return 0


def act(shop, bench: str, rnd: random.Random, known: list[str], mine: list[str], own_jobs: bool) -> list[str]:
    """One scripted action; the ids of the events it recorded (none when the guardrails refuse it)."""
    pool = mine if (own_jobs and mine and rnd.random() < 0.9) else known
    try:
        r = rnd.random()
        if r < 0.08 or not pool:
            job = verbs.create_job(shop, **RING, person_id="dev" if bench == "design" else "eva", bench_id=bench)
            mine.append(job)
            known.append(job)
            return [shop.journal.recent(job, 1)[0].id]
        job = rnd.choice(pool)
        if r < 0.55:
            return [shop.journal.append(shop.event(ev.LABEL_REPRINTED, job, "eva", bench,
                                                   {"reason": "scripted reprint"})).id]
        if r < 0.70:
            return [verbs.hold(shop, job, "eva", bench, "scripted check").id]
        if r < 0.82:
            return [verbs.release(shop, job, "farid", bench, "scripted release", pin="1357").id]
        if bench == "design":
            st = shop.job(job).stage("consultation").status
            if st == "in progress":
                return [verbs.finish(shop, job, "dev", bench, checklist=["ring size confirmed", "budget agreed"]).id]
            return [verbs.start(shop, job, "dev", bench, stage="consultation").id]
        return [verbs.record_reprint(shop, job, "farid", bench, "scripted reprint").id]
    except FloorkioskError:
        return []  # refused by a guardrail or a rule: nothing was recorded


if __name__ == "__main__":
    sys.exit(main())
