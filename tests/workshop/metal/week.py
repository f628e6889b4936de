"""A realistic week of a 12-bench workshop, driven through the real verbs, with every gram it loses written down.

Lots come in on Monday and metal is issued to the casters and the fabricators; jobs arrive every day
on three routes; casting-line pieces are cast on trees (vacuum and centrifugal benches), custom rings
are cast one by one, fabricated pieces are made from bench stock; every weighed stage loses a little
(within its tolerance, in whole scale divisions); a few stone settings are rejected and redone; the
polishers and the cleanup benches return lemel and sweeps at the end of each day; on Friday scrap goes
to the refiner and the casters hand back clean metal. ``expected`` holds, per bench, person, stage
and alloy, exactly what was lost, so the ledger can be checked against it to the microgram.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from handclock import HandClock  # tests/ is on the path (pytest rootdir)
from photofile import photo_hash, stored_photo

from scalereading import weigh  # tests/ is on the path (pytest rootdir)
from floorkiosk.workshop import verbs
from floorkiosk.workshop import metal
from floorkiosk.domain import metal as m
from floorkiosk.domain.kpi import delivery_stage

SITE12 = Path(__file__).resolve().parent / "site12"
MONDAY = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
TRANSIT = ("~", "~", "~")

# who works where (bench -> person), per stage
DOERS = {
    "consultation": [("design", "dev")], "cad-approval": [("design", "dev")], "wax-print": [("design", "dev")],
    "wax-injection": [("design", "dev")],
    "cleanup": [("clean-1", "ivan"), ("clean-1", "ana"), ("clean-2", "lena")],
    "fabrication": [("fab", "ivan"), ("fab", "lena")],
    "stone-setting": [("set-1", "ben"), ("set-2", "sofia")], "engraving": [("set-1", "ben"), ("set-2", "sofia")],
    "polishing": [("pol-1", "chloe"), ("pol-2", "hugo")], "plating": [("pol-1", "chloe"), ("pol-2", "hugo")],
    "qc": [("qc", "eva")], "photography": [("qc", "eva")],
    "packaging": [("dispatch", "dev")], "delivery": [("dispatch", "dev")], "post-delivery-review": [("dispatch", "farid")],
}
CASTERS = {"vacuum": ("cast-v", "ana"), "centrifugal": ("cast-c", "omar")}
ALLOYS = ("18KY", "14KY", "925", "PT950")
RESOLUTION = {"cast-v": Decimal("0.01"), "cast-c": Decimal("0.01")}  # other benches read 0.001 g
PHOTO = photo_hash(0)  # stored in the week's photo store when its shop opens


Clock = HandClock  # the tests' one clock


def _q(x: Decimal, step: Decimal) -> Decimal:
    return x.quantize(step, rounding=ROUND_DOWN)


class Week:
    def __init__(self, shop, clock: Clock, seed: int = 11) -> None:
        self.shop = shop
        self.clock = clock
        self.rng = random.Random(seed)
        self.site = shop.site
        self.expected: dict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)  # (bench, person, stage, alloy)
        self.weight: dict[str, Decimal] = {}  # job -> weight it is booked at between benches
        self.step: dict[str, int] = {}  # job -> index of its next route step
        self.alloy: dict[str, str] = {}
        self.delivered: dict[str, Decimal] = defaultdict(Decimal)
        self.received: dict[str, Decimal] = defaultdict(Decimal)
        self.issued: dict[str, Decimal] = defaultdict(Decimal)
        self.to_stock: dict[str, Decimal] = defaultdict(Decimal)
        self.to_refiner: dict[str, Decimal] = defaultdict(Decimal)
        self.bench_stock: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)  # (bench, person, alloy)
        self.today_loss: dict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
        self.trees: list[str] = []
        self.rejected: list[str] = []
        self.verifier = "eva"

    # -- the week --
    def run(self, days: int = 5, jobs_per_day: int = 12) -> "Week":
        self.monday_stock()
        for day in range(days):
            self.clock.now = MONDAY + timedelta(days=day)
            self.new_jobs(jobs_per_day, day)
            for _ in range(3):
                for job in list(self.step):
                    self.advance(job, self.rng.randint(1, 2))
                self.cast_trees()
            self.end_of_day()
        self.friday()
        return self

    def monday_stock(self) -> None:
        for alloy in ALLOYS:
            g = Decimal("2000")
            metal.receive_lot(self.shop, alloy, g, supplier="Bullion House")
            self.received[alloy] += g
            for bench, person in CASTERS.values():
                self._issue(alloy, Decimal("400"), bench, person)
            for person in ("ivan", "lena"):
                self._issue(alloy, Decimal("150"), "fab", person)

    def _issue(self, alloy: str, g: Decimal, bench: str, person: str) -> None:
        metal.issue(self.shop, alloy, g, bench_id=bench, person_id=person)
        self.issued[alloy] += g
        self.bench_stock[(bench, person, alloy)] += g

    def new_jobs(self, n: int, day: int) -> None:
        specs = []
        for i in range(n):
            route = ("casting-line", "casting-line", "custom-ring", "fabrication")[(i + day) % 4]
            alloy = ALLOYS[(i * 7 + day) % len(ALLOYS)]
            due = (self.clock.now + timedelta(days=self.rng.randint(4, 12))).date().isoformat()
            specs.append(dict(route=route, design=f"{route} piece", alloy=alloy, due=due, client=f"Client {i}"))
        for jid, spec in zip(verbs.create_jobs(self.shop, specs, person_id="dev", bench_id="design"), specs):
            self.step[jid] = 0
            self.alloy[jid] = spec["alloy"]

    # -- moving a job along its route --
    def next_stage(self, job: str) -> str | None:
        route = self.site.routes[self.shop.job(job).route]
        i = self.step[job]
        return route.steps[i].stage if i < len(route.steps) else None

    def advance(self, job: str, n: int) -> None:
        for _ in range(n):
            stage = self.next_stage(job)
            if stage is None:
                self.step.pop(job, None)
                return
            if stage == "tree-building":
                return  # waits for the caster to build a tree
            self.do_stage(job, stage)
            self.step[job] += 1
            if self.next_stage(job) is None:
                self.step.pop(job, None)
                return

    def do_stage(self, job: str, stage_id: str) -> None:
        shop, stage = self.shop, self.site.stages[stage_id]
        bench, person = self.rng.choice(DOERS.get(stage_id, [])) if stage_id != "casting" else \
            CASTERS[self.rng.choice(["vacuum", "centrifugal"])]
        alloy = self.alloy[job]
        self.clock.advance(minutes=self.rng.randint(1, 2))
        verbs.start(shop, job, person, bench, stage_id)
        key = (bench, person, stage_id, alloy)
        if stage.needs("weigh-in"):
            if job in self.weight:
                w_in = self.weight[job]
                if self.rng.random() < 0.15:
                    # two scales disagree by less than a division: not loss, but it is in the ledger
                    w_in -= Decimal("0.001")
                    self.expected[(*TRANSIT, alloy)] += Decimal("0.001")
            else:
                # the first metal of the job: drawn from the bench stock of whoever puts it into work
                w_in = _q(Decimal(self.rng.uniform(3.0, 12.0)), RESOLUTION.get(bench, Decimal("0.001")))
                self.bench_stock[(bench, person, alloy)] -= w_in
            weigh(shop, job, person, bench, w_in, phase="in", stage=stage_id, raw="week")
            self.clock.advance(minutes=self.rng.randint(1, 3))
            limit = (stage.max_loss_pct or Decimal("1")) * Decimal("0.8") / 100
            w_out = _q(w_in * (1 - Decimal(str(self.rng.uniform(0.0005, float(limit))))),
                       RESOLUTION.get(bench, Decimal("0.001")))
            weigh(shop, job, person, bench, w_out, phase="out", stage=stage_id, raw="week")
            self.expected[key] += w_in - w_out
            self.today_loss[key] += w_in - w_out
            self.weight[job] = w_out
        elif stage.needs("weigh-out"):
            # a check weighing (QC): the piece is taken at its booked weight and weighed once
            w_out = self.weight[job] - (Decimal("0.002") if self.rng.random() < 0.3 else Decimal(0))
            weigh(shop, job, person, bench, w_out, phase="out", stage=stage_id, raw="week")
            self.expected[key] += self.weight[job] - w_out
            self.weight[job] = w_out
        for _ in range(stage.photos_needed):
            verbs.attach_photo(shop, job, person, bench, PHOTO, stage=stage_id)
        verbs.finish(shop, job, person, bench, stage_id, checklist=stage.checklist)
        if stage.verify:
            self.clock.advance(minutes=5)
            if self.rng.random() < 0.12 and job not in self.rejected:
                self.rejected.append(job)
                verbs.reject(shop, job, self.verifier, "qc", stage_id, defect="LOOSE-STONE", reason="a stone moves")
                self.do_stage(job, stage_id)  # set again, weighed again
                return
            verbs.verify(shop, job, self.verifier, "qc", stage_id)
        if stage_id == m_delivery(self.site, self.shop.job(job).route) and job in self.weight:
            self.delivered[alloy] += self.weight.pop(job)

    # -- casting trees --
    def cast_trees(self) -> None:
        waiting: dict[str, list[str]] = defaultdict(list)
        for job in self.step:
            if self.next_stage(job) == "tree-building":
                waiting[self.alloy[job]].append(job)
        for alloy, jobs in sorted(waiting.items()):
            method = self.rng.choice(["vacuum", "centrifugal"])
            bench, person = CASTERS[method]
            self.clock.advance(minutes=5)
            for j in jobs:
                verbs.start(self.shop, j, person, bench, "tree-building")
                weigh(self.shop, j, person, bench, "0.35", phase="in", stage="tree-building", raw="wax")
                verbs.finish(self.shop, j, person, bench, "tree-building")
                self.step[j] += 1
            tree = metal.build_tree(self.shop, jobs, person_id=person, bench_id=bench)
            self.trees.append(tree)
            pieces = {j: _q(Decimal(self.rng.uniform(3.0, 8.0)), Decimal("0.01")) for j in jobs}
            sprue = _q(Decimal(self.rng.uniform(12.0, 20.0)), Decimal("0.01"))
            buttons = _q(Decimal(self.rng.uniform(1.0, 3.0)), Decimal("0.01"))
            got = sum(pieces.values()) + sprue + buttons
            metal_in = _q(got * Decimal(str(1 + self.rng.uniform(0.004, 0.03))), Decimal("0.01"))
            self.clock.advance(minutes=15)
            metal.cast_tree(self.shop, tree, metal_in=metal_in, tree_grams=metal_in - Decimal("0.05"),
                            person_id=person, bench_id=bench)
            self.bench_stock[(bench, person, alloy)] -= metal_in
            self.clock.advance(minutes=20)
            metal.cut_tree(self.shop, tree, pieces=pieces, sprue=sprue, buttons=buttons, person_id=person,
                           bench_id=bench)
            self.to_stock[alloy] += sprue + buttons
            self.expected[(bench, person, "casting", alloy)] += metal_in - got
            for j, w in pieces.items():
                self.weight[j] = w
                verbs.start(self.shop, j, person, bench, "casting")
                weigh(self.shop, j, person, bench, w, phase="in", stage="casting", raw="tree")
                weigh(self.shop, j, person, bench, w, phase="out", stage="casting", raw="tree")
                verbs.finish(self.shop, j, person, bench, "casting")
                self.step[j] += 1

    # -- scrap --
    def end_of_day(self) -> None:
        self.clock.now = max(self.clock.now, self.clock.now.replace(hour=17, minute=30))
        for (bench, person, stage, alloy), lost in sorted(self.today_loss.items()):
            if stage not in ("cleanup", "polishing", "fabrication") or lost < Decimal("0.02"):
                continue
            category = {"cleanup": "sweeps", "polishing": "polishing-dust", "fabrication": "lemel"}[stage]
            back = _q(lost * Decimal(str(self.rng.uniform(0.3, 0.7))), Decimal("0.001"))
            to = "refiner" if category == "polishing-dust" else "stock"
            metal.return_metal(self.shop, alloy, back, category=category, bench_id=bench, person_id=person,
                               stage=stage, to=to)
            self.expected[(bench, person, stage, alloy)] -= back
            (self.to_refiner if to == "refiner" else self.to_stock)[alloy] += back
            self.clock.advance(minutes=1)
        self.today_loss.clear()

    def friday(self) -> None:
        self.clock.now = max(self.clock.now, self.clock.now.replace(hour=17, minute=50))
        for alloy in ALLOYS:
            for bench, person in CASTERS.values():
                back = Decimal("50")
                if self.bench_stock[(bench, person, alloy)] >= back:
                    metal.return_metal(self.shop, alloy, back, category="clean", bench_id=bench, person_id=person)
                    self.bench_stock[(bench, person, alloy)] -= back
                    self.to_stock[alloy] += back
        ship = Decimal("5")
        metal.send_to_refiner(self.shop, "18KY", ship, category="sweeps")
        self.to_refiner["18KY"] += ship
        self.shipped_from_stock = {"18KY": ship}

    # -- what the ledger must say --
    def expected_by(self, grouping: str) -> dict[tuple[str, str], Decimal]:
        out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for (bench, person, stage, alloy), v in self.expected.items():
            if (bench, person, stage) == TRANSIT:
                key = m.TRANSIT_LINE if grouping != "alloy" else ""
            else:
                key = {"bench": bench, "person": person, "stage": stage, "alloy": ""}[grouping]
            out[(key, alloy)] += v
        return out

    def stock(self, alloy: str) -> Decimal:
        return (self.received[alloy] - self.issued[alloy] + self.to_stock[alloy]
                - getattr(self, "shipped_from_stock", {}).get(alloy, Decimal(0)))

    def in_workshop(self, alloy: str) -> Decimal:
        pieces = sum((w for j, w in self.weight.items() if self.alloy[j] == alloy), Decimal(0))
        stock = sum((v for (b, p, a), v in self.bench_stock.items() if a == alloy), Decimal(0))
        return pieces + stock


def m_delivery(site, route_id: str) -> str | None:
    return delivery_stage(site.routes[route_id])


def open_week_shop(folder: Path):
    from floorkiosk.workshop.site import init_site, open_shop

    clock = Clock(MONDAY)
    init_site(folder, SITE12, origin="week")
    assert stored_photo(folder / "photos") == PHOTO
    return open_shop(folder, clock=clock), clock
