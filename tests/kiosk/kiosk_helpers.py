"""Kiosk test helpers: the test workshop (jobs in known states) and driving the kiosk like a scanner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from textual import events

from handclock import HandClock  # tests/ is on the path (pytest rootdir)
from keystrokes import key_event, until  # noqa: F401 (until: the kiosk tests' one wait)

from scalereading import weigh as scale_weigh  # tests/ is on the path (pytest rootdir)
from floorkiosk.workshop import verbs
from floorkiosk.paths import example_config_dir

NOW = datetime(2026, 3, 16, 9, 30, tzinfo=timezone.utc)


def Clock(when: datetime = NOW) -> HandClock:
    """The kiosk tests' clock: the tests' one clock, set to the kiosk workshop's morning."""
    return HandClock(when)


@dataclass(frozen=True)
class Jobs:
    """The jobs of the test workshop, by what they are ready for."""

    cast: str  # casting-line piece ready for Casting (tree built, weighed in)
    set: str  # custom ring ready for Stone setting (cast and cleaned)
    set_done: str  # stone setting finished by Ben, not verified: polishing is blocked
    late: str  # custom ring ready for Stone setting, due a week ago
    held: str  # on hold (a client change)
    batch: str  # a batch of three casting-line pieces ready for Tree building, one of them on hold
    batch_jobs: tuple[str, ...]


def write_config(dst: Path, **settings: object) -> None:
    """The example config, with settings replaced."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in example_config_dir().glob("*.toml"):
        shutil.copy2(f, dst / f.name)
    site = (dst / "site.toml").read_text()
    for key, value in settings.items():
        v = str(value).lower() if isinstance(value, bool) else str(value)
        lines = site.splitlines()
        if any(ln.split("=")[0].strip() == key for ln in lines):
            lines = [f"{key} = {v}" if ln.split("=")[0].strip() == key else ln for ln in lines]
        else:  # a setting the example leaves out (or comments out): added to [site]
            at = lines.index("[site]") + 1
            lines.insert(at, f"{key} = {v}")
        site = "\n".join(lines) + "\n"
    (dst / "site.toml").write_text(site)


def _stage(shop, job: str, stage: str, who: str, bench: str, *, w_in=None, w_out=None, photos=(), verify_by=None,
           finish: bool = True) -> None:
    s = shop.site.stages[stage]
    verbs.start(shop, job, who, bench, stage)
    if s.needs("weigh-in"):
        scale_weigh(shop, job, who, bench, Decimal(str(w_in)), phase="in", stage=stage)
    if s.needs("weigh-out") and finish:
        scale_weigh(shop, job, who, bench, Decimal(str(w_out)), phase="out", stage=stage)
    for sha in photos:
        verbs.attach_photo(shop, job, who, bench, sha, stage=stage)
    if finish:
        verbs.finish(shop, job, who, bench, stage, checklist=s.checklist)
    if verify_by:
        verbs.verify(shop, job, verify_by, "qc", stage, pin=shop.person(verify_by).pin)


def build_site(root: Path) -> Jobs:
    """The test workshop: a handful of jobs through the verbs, at fixed times."""
    from floorkiosk.workshop.demo import make_demo_photos
    from floorkiosk.devices.photos import PhotoStore
    from floorkiosk.workshop.site import init_site, open_shop

    cfg = root.parent / (root.name + "-config")
    write_config(cfg)
    init_site(root, cfg, origin="bench-test")
    make_demo_photos(root / "demo-photos", count=2)
    store = PhotoStore(root / "photos")
    shas = [store.save(p.read_bytes()).sha256 for p in sorted((root / "demo-photos").glob("*.jpg"))]
    clock = Clock(NOW - timedelta(days=10))
    shop = open_shop(root, clock=clock)
    try:
        stones = [{"kind": "diamond", "shape": "round", "count": 1, "ct": "1.02", "cert": "GIA 2141438171"}]
        spec = "matte shank, mirror bezel, no rhodium"
        cast = verbs.create_job(shop, route="casting-line", design="Stacking ring", alloy="14KY", due="2026-03-27",
                               client="Maria Lopez", spec="high polish all over", person_id="dev", bench_id="design")
        ring = dict(route="custom-ring", alloy="18KY", client="James Chen", spec=spec, stones=stones)
        set_ = verbs.create_job(shop, design="Solitaire engagement ring", due="2026-03-24", priority="rush", **ring)
        set_done = verbs.create_job(shop, design="Halo engagement ring", due="2026-03-30", **ring)
        late = verbs.create_job(shop, design="Eternity band", due="2026-03-09", **ring)
        held = verbs.create_job(shop, route="casting-line", design="Bezel pendant", alloy="925", due="2026-04-02",
                               client="Aisha Bello", spec="brushed finish")
        batch_jobs = verbs.create_jobs(shop, [dict(route="casting-line", design="Stacking ring", alloy="9KY",
                                            due="2026-04-10", client="Stock")] * 3)
        clock.advance(hours=2)
        _stage(shop, cast, "wax-injection", "dev", "design")
        _stage(shop, cast, "tree-building", "ana", "casting", w_in="12.500")
        for j in (set_, set_done, late):
            for st in ("consultation", "cad-approval", "wax-print"):
                _stage(shop, j, st, "dev", "design")
            clock.advance(hours=3)
            _stage(shop, j, "casting", "ana", "casting", w_in="6.200", w_out="6.050")
            _stage(shop, j, "cleanup", "ana", "cleanup", w_in="6.050", w_out="5.990")
        clock.advance(days=1)
        _stage(shop, set_done, "stone-setting", "ben", "setting", w_in="6.194", w_out="6.394", photos=shas[:1])
        for j in batch_jobs + [held]:
            _stage(shop, j, "wax-injection", "dev", "design")
        batch = verbs.create_batch(shop, batch_jobs, "Stacking ring batch", person_id="farid", bench_id="casting")
        verbs.hold(shop, batch_jobs[1], "eva", "qc", "client asked for a smaller size")
        verbs.hold(shop, held, "eva", "qc", "client change request")
    finally:
        shop.close()
    return Jobs(cast, set_, set_done, late, held, batch, tuple(batch_jobs))


# -- driving the kiosk ---------------------------------------------------------------------------------

async def scan(pilot, text: str, settle: float = 0.05) -> None:
    """A keyboard-wedge scanner: every key at once, then Enter (the burst a real scanner types)."""
    app = pilot.app
    for ch in text:
        app.post_message(key_event(ch))
    app.post_message(events.Key("enter", "\r"))
    await pilot.pause(settle)


async def worklist_loaded(pilot) -> None:
    """The worklist is read in a worker: wait until it is on screen."""
    app = pilot.app
    await until(pilot, lambda: app.person is not None and app.worklist_screen._loaded_for == app.person.id
                and not any(w.is_running for w in app.workers if w.group == "worklist"))

    def painted() -> bool:
        # on the screen as a person sees it: the table measures its columns on a later refresh than the
        # rows' arrival, and until then shows them cut to the headers' widths
        shot = app.export_screenshot()
        return all(w.job in shot for w in app.worklist_screen.items[:5])

    await until(pilot, painted)


async def weigh(pilot, grams: str) -> None:
    """Put a load on the bench's simulated balance and wait for the kiosk to see it stable."""
    app = pilot.app
    app.devices.sim.put(grams)
    app.devices.sim.settle()
    await until(pilot, lambda: getattr(app.scale_event, "stable", False)
                and app.scale_event.grams == Decimal(grams))
