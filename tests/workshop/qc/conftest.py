"""Helpers for the QC tests: jobs walked along their route with the foundation's verbs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from handclock import HandClock  # tests/ is on the path (pytest rootdir)
from photofile import photo_hash, stored_photo

from scalereading import weigh  # tests/ is on the path (pytest rootdir)
from floorkiosk.workshop import cards, judge, verbs
from floorkiosk.domain import guardrails as g

PHOTO = photo_hash(0)  # a real photo, put in each test site's photo store (see qc_template)
# Who does each skill in these tests (people.toml of the example site).
DOER = {"design": "dev", "casting": "ana", "cleanup": "ana", "fabrication": "ana", "setting": "ben",
        "polishing": "chloe", "plating": "chloe", "qc": "farid", "dispatch": "dev"}
RING_STONES = [{"kind": "diamond", "shape": "round", "count": 1, "ct": "1.02", "cert": "GIA 2141438171"},
               {"kind": "diamond", "shape": "round", "count": 18, "ct": "0.36"}]


FixedClock = HandClock  # the tests' one clock, from the shop fixture's start


def bench_for(site, stage_id: str) -> str:
    return next(b.id for b in site.benches.values() if b.serves(stage_id))


def do_stage(shop, job: str, stage_id: str, grams: Decimal, *, verify_by: str = "eva") -> Decimal:
    """Start, weigh, photograph and finish one stage (and verify it when it needs it)."""
    stage = shop.site.stages[stage_id]
    who = DOER[stage.skill]
    bench = bench_for(shop.site, stage_id)
    verbs.start(shop, job, who, bench, stage_id)
    if stage.needs("weigh-in"):
        weigh(shop, job, who, bench, grams, phase="in", stage=stage_id)
    if stage.needs("weigh-out"):
        # a little loss, well inside every stage's tolerance
        grams = (grams * Decimal("0.998")).quantize(Decimal("0.001"))
        # the setting weigh-out is of the piece and the stones set in it
        state = shop.job(job)
        grams += (cards.stones_in(shop, state, stage_id, "out") - cards.stones_in(shop, state, stage_id, "in")) * Decimal("0.2")
        weigh(shop, job, who, bench, grams, phase="out", stage=stage_id)
    for _ in range(stage.photos_needed):
        verbs.attach_photo(shop, job, who, bench, PHOTO, stage=stage_id)
    verbs.finish(shop, job, who, bench, stage_id, checklist=stage.checklist)
    if stage.verify and verify_by:
        verbs.verify(shop, job, verify_by, "qc", stage_id, pin=shop.person(verify_by).pin)
    return grams


def walk(shop, job: str, until: str, grams: Decimal = Decimal("5.000"), *, verify_last: bool = True) -> Decimal:
    """Do every stage of the job's route before `until` (which is left to do); return the last weight."""
    route = shop.site.routes[shop.job(job).route]
    for sid in route.stage_ids:
        if sid == until:
            break
        last = route.stage_ids[route.stage_ids.index(sid) + 1] == until
        grams = do_stage(shop, job, sid, grams, verify_by="" if (last and not verify_last) else "eva")
    return grams


def new_ring(shop, *, spec: str = "size 6 1/2, comfort fit", stones=None, design: str = "Solitaire engagement ring") -> str:
    return verbs.create_job(shop, route="custom-ring", design=design, alloy="18KW", due="2026-12-24", client="Maria Lopez",
                           spec=spec, stones=RING_STONES if stones is None else stones, person_id="dev", bench_id="design")


@pytest.fixture
def ring_at_qc(qshop):
    """A custom ring with stones whose polishing is done: its QC stage is due. (job, last weight)"""
    shop, jobs = qshop
    job = jobs["final"]
    assert judge.decide(shop, g.START, job, "farid", "qc", "qc").allowed
    return job, Decimal(shop.job(job).last_weight)


def casting_batch(shop, n: int, *, design: str = "Stacking ring", until: str = "qc") -> tuple[str, list[str]]:
    """n casting-line pieces (no stones) in one batch, each walked up to `until`. (batch id, job ids)"""
    jobs = verbs.create_jobs(shop, [dict(route="casting-line", design=design, alloy="14KY", due="2026-12-24", stones=[])
                             for _ in range(n)], person_id="dev", bench_id="design")
    batch = verbs.create_batch(shop, jobs, design, person_id="farid", bench_id="casting")
    for j in jobs:
        walk(shop, j, until, Decimal("2.400"))
    return batch, jobs


def final_answers(shop, job: str, **changes) -> dict[str, str]:
    """Passing answers for every check of the job's inspection at the QC station (weight = last weight)."""
    from floorkiosk.workshop import qc
    from floorkiosk.domain import qc as dq

    insp = qc.begin(shop, job, "farid", "qc")
    out = {}
    for c in insp.checks:
        if not dq.applies(c, insp.facts)[0]:
            continue
        if c.kind == "weight":
            out[c.id] = str(insp.facts.reference_grams)
        elif c.kind == "size":
            out[c.id] = str(insp.facts.spec_size)
        else:
            out[c.id] = _inside(c)
    out.update(changes)
    return out


def _inside(c) -> str:
    if c.kind == "visual":
        return "pass"
    if c.kind == "size":
        return "6.5"
    lo = c.min if c.min is not None else Decimal(0)
    hi = c.max if c.max is not None else lo + 1
    return str((lo + hi) / 2)


# -- a workshop built once per session and copied for each test (hundreds of durable commits saved) --

@pytest.fixture(scope="session")
def qc_template(tmp_path_factory):
    """Jobs in known states: at QC, awaiting verification of setting, ready for setting, a batch at QC."""
    from floorkiosk.workshop.site import init_site, open_shop

    root = tmp_path_factory.mktemp("qc-site") / "site"
    init_site(root, origin="test-bench")
    assert stored_photo(root / "photos") == PHOTO
    shop = open_shop(root, clock=FixedClock())
    try:
        final = new_ring(shop)
        walk(shop, final, "qc")  # polished: its QC stage is due
        verify = new_ring(shop)
        walk(shop, verify, "polishing", verify_last=False)  # stone setting done by Ben, not verified
        setting = new_ring(shop)
        walk(shop, setting, "stone-setting")  # cast and cleaned: ready for the setter
        batch, pieces = casting_batch(shop, 5)
    finally:
        shop.close()
    return root, {"final": final, "verify": verify, "setting": setting, "batch": batch, "pieces": pieces}


@pytest.fixture
def qc_site(qc_template, tmp_path):
    """A fresh copy of the template site: (folder, jobs)."""
    import shutil

    src, jobs = qc_template
    dst = tmp_path / "qc-site"
    shutil.copytree(src, dst)
    return dst, jobs


@pytest.fixture
def qshop(qc_site, clock):
    """A shop on a fresh copy of the template site, with its jobs: (shop, jobs)."""
    from floorkiosk.workshop.site import open_shop

    path, jobs = qc_site
    s = open_shop(path, clock=clock)
    yield s, jobs
    s.close()


@pytest.fixture
def shop(qshop):
    """Every QC test works on a copy of the template site (the root `shop` fixture, with jobs in it)."""
    return qshop[0]
