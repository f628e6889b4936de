"""A kiosk as its own process, driven by scripted actions, for the hub tests and the benchmark.

    python kiosk_proc.py SITE BENCH CONTROL_DIR NAME [--rate 20] [--seconds 60] [--seed 1]

It acts at `rate` actions a second on the jobs it knows, with the background sync running, and
appends the id of every event it acknowledged to CONTROL_DIR/NAME.acks (one per line, flushed at
once: a SIGKILL loses no acknowledged id). Every 0.1 s it writes "online queued" to NAME.status.
When CONTROL_DIR/stop appears it stops acting, waits until its queue is drained and writes
NAME.drained; when CONTROL_DIR/final appears it syncs one last time and writes NAME.json with its
state digest. With --wait-go it starts acting only when CONTROL_DIR/go appears. With --metal about a
third of its actions move metal, by bench: the design kiosk keeps the stock (lots in, metal issued to
the casting and cleanup benches, scrap shipped to the refiner) and casts trees of casting-line jobs;
the cleanup kiosk makes fabrication pieces (weighed in and out, drawn from the bench's stock) and
returns scrap; any other kiosk books the refiner's returns on the shipments it knows. Lines "lat <ms>" in NAME.seen record,
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

from floorkiosk.workshop import cards, metal, verbs
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
    ap.add_argument("--metal", action="store_true", help="a third of the actions move metal (see above)")
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
    metal_state: dict = {"lots": 0, "fab": {}}
    t_end = time.monotonic() + a.seconds
    step = 1.0 / a.rate
    nxt = time.monotonic()
    i = 0
    while time.monotonic() < t_end and not (control / "stop").exists():
        if i % 20 == 0:
            known = [r[0] for r in cards.list_jobs(shop, status=None, limit=500)]
        i += 1
        if a.metal and rnd.random() < 0.35:
            ids = metal_act(shop, a.bench, a.name, rnd, metal_state)
        else:
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
              "conflicts": len(sync.conflicts(shop, status=None)), "tables": shop.journal.table_digests(),
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


SCALE = verbs.FromScale("and-standard", "ST,+00012.480  g")
CASTING = dict(route="casting-line", design="Stacking ring", alloy="14KY", due="2026-12-24")
FABRICATION = dict(route="fabrication", design="Signet ring", alloy="18KY", due="2026-12-24")


def metal_act(shop, bench: str, name: str, rnd: random.Random, state: dict) -> list[str]:
    """One scripted move of metal; the ids of every event it recorded (also when a later step is refused)."""
    origin = shop.journal.origin
    head = shop.journal.query("SELECT coalesce(max(origin_seq), 0) FROM events WHERE origin = ?", (origin,))[0][0]
    try:
        _metal_step(shop, bench, name, rnd, state)
    except FloorkioskError:
        pass  # refused by a rule (no stock here yet, a job held elsewhere): what came before it stands
    return [r[0] for r in shop.journal.query("SELECT id FROM events WHERE origin = ? AND origin_seq > ?"
                                             " ORDER BY origin_seq", (origin, head))]


def _metal_step(shop, bench: str, name: str, rnd: random.Random, state: dict) -> None:
    r = rnd.random()
    if bench == "design":
        if state["lots"] == 0 or r < 0.15:
            state["lots"] += 1
            for alloy in ("14KY", "18KY"):
                metal.receive_lot(shop, alloy, "400", supplier="Bullion House", lot=f"{name}-{alloy}-{state['lots']}")
        elif r < 0.45:
            # to the caster's own stock, or to the cleanup bench's common stock (anyone there draws from it)
            if rnd.random() < 0.5:
                metal.issue(shop, "14KY", "60", bench_id="casting", person_id="ana")
            else:
                metal.issue(shop, "18KY", "15", bench_id="cleanup", person_id=rnd.choice(["ana", None]))
        elif r < 0.85:
            jobs = verbs.create_jobs(shop, [dict(CASTING) for _ in range(2)], person_id="dev", bench_id="design")
            tree = metal.build_tree(shop, jobs, person_id="ana", bench_id="casting")
            metal.cast_tree(shop, tree, metal_in="20.00", tree_grams="19.90", person_id="ana", bench_id="casting")
            metal.cut_tree(shop, tree, pieces={jobs[0]: "5.10", jobs[1]: "5.05"}, sprue="8.00", buttons="1.20",
                           to=rnd.choice(["stock", "refiner"]), person_id="ana", bench_id="casting")
        else:
            metal.send_to_refiner(shop, "14KY", "4.000", category="sprue")
    elif bench == "cleanup":
        fab = state["fab"]  # job -> the next step of its fabrication run
        if not fab or r < 0.2:
            job = verbs.create_job(shop, **FABRICATION, person_id="ana", bench_id="cleanup")
            fab[job] = 0
        elif r < 0.85:
            job = rnd.choice(sorted(fab))
            step = fab[job]
            if step == 0:
                verbs.start(shop, job, "ana", "cleanup", "fabrication")
            elif step == 1:
                verbs.record_weight(shop, job, "ana", "cleanup", "6.20", phase="in", stage="fabrication", source=SCALE)
            elif step == 2:
                verbs.record_weight(shop, job, "ana", "cleanup", "6.10", phase="out", stage="fabrication",
                                    source=SCALE)
            else:
                verbs.finish(shop, job, "ana", "cleanup", "fabrication",
                             checklist=shop.site.stages["fabrication"].checklist)
            fab[job] = step + 1
            if fab[job] > 3:
                del fab[job]
        else:
            metal.return_metal(shop, "18KY", "0.050", category="lemel", bench_id="cleanup", person_id="ana",
                               stage="fabrication", to=rnd.choice(["stock", "refiner"]))
    else:
        sent = [row[0] for row in shop.journal.query(
            "SELECT shipment FROM metal_refiner WHERE kind = 'sent' AND shipment IS NOT NULL ORDER BY shipment")]
        if sent and r < 0.6:
            metal.refiner_return(shop, "Au", "0.500", shipment=rnd.choice(sent))
        else:
            metal.return_metal(shop, "18KY", "0.020", category="sweeps", bench_id=bench, person_id="eva")


if __name__ == "__main__":
    sys.exit(main())
