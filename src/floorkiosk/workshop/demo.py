"""The demo site: the example config, simulated devices and realistic jobs spread over the stages."""

from __future__ import annotations

import os
import random
import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from floorkiosk.devices.photos import PhotoStore
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import payloads
from floorkiosk.domain import qc as dq
from floorkiosk.domain.stones import GRAMS_PER_CT
from floorkiosk.domain.batching import next_stage
from floorkiosk.errors import FloorkioskError, Refused
from floorkiosk.workshop import cards, judge, kpi, metal, qc, verbs
from floorkiosk.workshop.site import init_site, open_shop

DESIGNS = [
    ("Solitaire engagement ring", "custom-ring", ["18KY", "18KW", "PT950"], (4.0, 7.0)),
    ("Halo engagement ring", "custom-ring", ["18KW", "PT950"], (5.0, 8.0)),
    ("Signet ring", "fabrication", ["18KY", "14KY", "925"], (8.0, 16.0)),
    ("Eternity band", "custom-ring", ["18KY", "PT950"], (3.0, 5.5)),
    ("Stacking ring", "casting-line", ["14KY", "925", "9KY"], (1.5, 3.0)),
    ("Pear drop earrings", "casting-line", ["18KY", "14KY"], (2.0, 4.0)),
    ("Tennis bracelet", "fabrication", ["18KW", "14KY"], (10.0, 18.0)),
    ("Bezel pendant", "casting-line", ["18KY", "925"], (2.5, 5.0)),
    ("Wedding band pair", "fabrication", ["22KY", "18KY", "PT950"], (6.0, 12.0)),
]
CLIENTS = ["Maria Lopez", "James Chen", "Aisha Bello", "Tom Becker", "Priya Nair", "Lena Novak", "Omar Said",
           "Grace Kim", "Hugo Silva", "Nora Jensen", "Ravi Kumar", "Sofia Rossi"]
SPECS = ["matte shank, mirror bezel, no rhodium", "high polish all over", "brushed finish, rounded edges",
         "size 6 1/2, comfort fit", "engrave 'always' inside", "satin finish, rhodium plated", "knife-edge shank",
         "milgrain on the bezel", "size 54, flat profile"]
STONES = [[{"kind": "diamond", "shape": "round", "count": 1, "ct": "1.02", "cert": "GIA 2141438171"}],
          [{"kind": "diamond", "shape": "pear", "count": 2, "ct": "0.60"}],
          [{"kind": "sapphire", "shape": "oval", "count": 1, "ct": "1.35"},
           {"kind": "diamond", "shape": "round", "count": 18, "ct": "0.36"}],
          [{"kind": "diamond", "shape": "round", "count": 24, "ct": "1.20"}], []]

# Who does each skill in the demo.
DOER = {"design": "dev", "casting": "ana", "cleanup": "ana", "fabrication": "ana", "setting": "ben",
        "polishing": "chloe", "plating": "chloe", "qc": "eva", "dispatch": "dev"}


DEMO_SCALE = verbs.FromScale("demo", "demo")  # the demo's history, as if read from its simulated balances


def make_demo_site(site_dir: str | Path, jobs: int = 60, seed: int = 7, fresh: bool = False) -> bool:
    """Create the demo site (once); return True if it was created now.

    The site is built in a folder beside its place and moved there when it is whole: its journal
    is written without a flush per event (a fraction of the time), so an interrupted build leaves
    only that side folder, never a half-made demo that the next run would take for a finished one.
    """
    site_dir = Path(site_dir)
    if fresh and site_dir.exists():
        shutil.rmtree(site_dir)
    if (site_dir / "journal.db").exists():
        return False
    if site_dir.exists() and any(site_dir.iterdir()):
        raise Refused(f"{site_dir} is not empty and holds no site: choose another folder for the demo")
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    building = site_dir.with_name(f".{site_dir.name}.building")
    shutil.rmtree(building, ignore_errors=True)
    init_site(building, origin="demo-bench")
    make_demo_photos(building / "demo-photos")
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    clock = {"t": now - timedelta(days=21)}
    shop = open_shop(building, clock=lambda: clock["t"])
    try:
        with shop.journal.unsynced():
            metal.demo_before(shop)  # metal lots in stock and issued to the benches
            populate(shop, jobs, rng, clock, now)
            metal.demo_after(shop, clock, now)  # a casting tree, scrap returns, the refiner
            kpi.demo_after(shop)  # a client-initiated and a shop-initiated delay
            qc.demo_after(shop, clock, now)  # verifications and final inspections at the QC station
            demo_batch(shop)
    finally:
        shop.close()
    if site_dir.exists():
        site_dir.rmdir()  # empty (checked above): the finished site takes its place
    os.replace(building, site_dir)
    return True


def make_demo_photos(folder: Path, count: int = 4) -> None:
    """A few JPEG 'bench photos' (drawn rings) for the simulated camera."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img = Image.new("RGB", (1280, 960), (40 + 20 * i, 44, 52))
        d = ImageDraw.Draw(img)
        cx, cy, r = 640, 480, 260 - 20 * i
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(222, 184, 92), width=60)
        d.ellipse((cx - 50, cy - r - 90, cx + 50, cy - r + 10), fill=(210, 230, 255), outline=(255, 255, 255), width=6)
        d.text((40, 40), f"bench photo {i + 1}", fill=(255, 255, 255))
        img.save(folder / f"photo-{i + 1}.jpg", quality=88)


def _advance(clock: dict, rng: random.Random, lo: float = 0.2, hi: float = 3.0) -> None:
    clock["t"] += timedelta(hours=rng.uniform(lo, hi))


def populate(shop, n: int, rng: random.Random, clock: dict, now: datetime) -> None:
    site = shop.site
    sha_pool = []
    store = PhotoStore(shop.photos_dir)
    for p in sorted((shop.dir / "demo-photos").glob("*.jpg")):
        sha_pool.append(store.save(p.read_bytes()).sha256)
    start = clock["t"]
    for i in range(n):
        design, route_id, alloys, (wlo, whi) = DESIGNS[i % len(DESIGNS)]
        clock["t"] = start + timedelta(hours=i * 6)
        client = rng.choice(CLIENTS)
        due = (clock["t"] + timedelta(days=rng.randint(14, 45))).date().isoformat()
        job = verbs.create_job(shop, route=route_id, design=design, alloy=rng.choice(alloys), due=due, client=client,
                              spec=rng.choice(SPECS), stones=rng.choice(STONES),
                              priority="rush" if rng.random() < 0.15 else "normal", person_id="dev", bench_id="design")
        route = site.routes[route_id]
        # how far along its route this job has come: spread evenly, a few finished
        target = int(len(route.steps) * rng.random() ** 0.8)
        weight = Decimal(str(round(rng.uniform(wlo, whi), 2)))
        for step in route.steps[:target]:
            weight = _do_stage(shop, job, step.stage, weight, rng, clock, sha_pool, now)
            if weight is None:
                break


def demo_batch(shop, most: int = 6) -> str | None:
    """An open batch of the demo: the largest group of open, unbatched pieces alike under the batching
    rules (one alloy, one route, waiting for the same stage), as a supervisor would gather them."""
    groups: dict[tuple, list[str]] = {}
    for (jid,) in shop.journal.query("SELECT id FROM jobs WHERE status = 'open' AND on_hold = 0 AND batch IS NULL"
                                     " ORDER BY id"):
        j = shop.job(jid)
        nxt = next_stage(shop.site, j)
        if nxt is not None and not j.in_progress():
            groups.setdefault((j.alloy, j.route, nxt, j.design), []).append(jid)
    best = max(groups.items(), key=lambda kv: (len(kv[1]), kv[0]), default=None)
    if best is None or len(best[1]) < 2:
        return None
    return verbs.create_batch(shop, best[1][:most], f"{best[0][3]} batch", person_id="farid", bench_id="casting")


def _bench_for(site, stage_id: str) -> str:
    for b in site.benches.values():
        if b.serves(stage_id):
            return b.id
    raise FloorkioskError(f"no bench serves {stage_id}")


def _do_stage(shop, job: str, stage_id: str, weight: Decimal | None, rng, clock, sha_pool, now) -> Decimal | None:
    site = shop.site
    stage = site.stages[stage_id]
    bench = _bench_for(site, stage_id)
    who = DOER[stage.skill]
    if clock["t"] > now - timedelta(hours=2):
        return None
    state = shop.job(job)
    if state.hold:
        return None
    d = judge.decide(shop, g.START, state, who, bench, stage_id)
    if not d.allowed:
        return None
    verbs.start(shop, job, who, bench, stage_id)
    _stones(shop, job, stage_id, bench, "start")
    _advance(clock, rng)
    step = verbs.readability(shop, bench) or Decimal("0.001")  # what this bench's scale reads
    if weight is not None:
        weight = weight.quantize(step)
    if stage.needs("weigh-in"):
        verbs.record_weight(shop, job, who, bench, weight, phase="in", stage=stage_id, raw="demo", source=DEMO_SCALE)
        _advance(clock, rng, 0.5, 4)
    if stage.needs("weigh-out"):
        limit = float(stage.max_loss_pct or 1)
        loss_pct = rng.uniform(0.05, limit * 0.9) if rng.random() > 0.04 else limit * 1.6
        weight = (weight * Decimal(str(1 - loss_pct / 100))).quantize(step)
        if stage_id == dq.qc_config(site).stones.setting_stage:  # the piece now holds its stones
            weight = (weight + cards.carats_set(shop, shop.job(job)) * GRAMS_PER_CT).quantize(step)
        res = verbs.record_weight(shop, job, who, bench, weight, phase="out", stage=stage_id, raw="demo",
                                  source=DEMO_SCALE)
        if res.held:
            return None
    for _ in range(stage.photos_needed):
        verbs.attach_photo(shop, job, who, bench, rng.choice(sha_pool), stage=stage_id)
    if clock["t"] > now - timedelta(hours=1) or rng.random() < 0.05:
        return None  # still in progress
    _stones(shop, job, stage_id, bench, "finish")
    verbs.finish(shop, job, who, bench, stage_id, checklist=stage.checklist)
    _advance(clock, rng, 1, 8)
    if stage.verify:
        if rng.random() < 0.15:
            return None  # waiting at the QC station for verification
        if rng.random() < 0.1:
            verbs.reject(shop, job, "farid", "qc", stage_id, defect="LOOSE-STONE", reason="stone moves in its setting")
            return None
        by = "eva" if who != "eva" else "farid"
        verbs.verify(shop, job, by, "qc", stage_id, pin=shop.person(by).pin)
        _advance(clock, rng)
    return weight


def _stones(shop, job: str, stage_id: str, bench: str, when: str) -> None:
    """Stone parcels at the setting bench: issued at its start, accounted for at its finish (QC module)."""
    qc.demo_stones(shop, job, stage_id, bench, when)


def demo_codes(shop) -> list[tuple[str, str]]:
    """Codes a newcomer can type or paste into the demo kiosk, with what each does."""
    out = [(payloads.encode(payloads.Kind.BADGE, p.badge), f"badge of {p.name} ({', '.join(p.roles)})")
           for p in shop.site.people.values()]
    rows = shop.journal.query("SELECT id, design, current FROM jobs WHERE status = 'open' ORDER BY id LIMIT 6")
    out += [(payloads.encode(payloads.Kind.JOB, r[0]), f"job bag: {r[1]} ({r[2] or 'waiting'})") for r in rows]
    out += [(payloads.encode(payloads.Kind.COMMAND, c), f"command card {c}") for c in payloads.COMMANDS]
    return out
