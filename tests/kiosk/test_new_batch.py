"""A new batch at the bench: job bags scanned one after another, the batching rules in words, its bag printed."""

from __future__ import annotations

from kiosk_helpers import NOW, scan, until, worklist_loaded

from floorkiosk.domain import events as ev
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.batch_screen import NewBatchScreen
from floorkiosk.kiosk.screens import BatchScreen, WorklistScreen
from floorkiosk.workshop import verbs
from floorkiosk.workshop.site import open_shop
from handclock import HandClock

SIZE = (100, 32)


def more_jobs(site) -> tuple[str, str, str]:
    """Two 9K stacking rings waiting for wax injection, and a 14K one (J000009, J000010, J000011)."""
    shop = open_shop(site, clock=HandClock(NOW))
    try:
        nine = verbs.create_jobs(shop, [dict(route="casting-line", design="Stacking ring", alloy="9KY",
                                              due="2026-04-20", client="Stock")] * 2)
        fourteen = verbs.create_job(shop, route="casting-line", design="Stacking ring", alloy="14KY", due="2026-04-22")
    finally:
        shop.close()
    return nine[0], nine[1], fourteen


def batches(app) -> list[ev.Event]:
    return [e for e in app.shop.journal.events(types=[ev.BATCH_CREATED]) if e.job is None]


def result_text(app) -> str:
    return str(app.screen.query_one("#nb-result").render())


async def type_slowly(pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch)
        await pilot.pause(0.08)


async def test_job_bags_scanned_one_after_another_become_a_batch_and_its_bag_is_printed(workshop, jobs, clock):
    site = workshop()
    a, b, other_alloy = more_jobs(site)
    app = make_app(site, "casting", clock=clock)  # the bench's own devices: its printer writes labels-out/casting.zpl
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await worklist_loaded(pilot)
        assert ("N", "new batch") in app.screen.keys()
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewBatchScreen))
        screen = app.screen
        before = app.shop.journal.count()

        await scan(pilot, f"FK:J:{a}")
        await until(pilot, lambda: screen.jobs == [a])
        assert app.last_message == (f"{a} in: 1 job bag; scan the next, or ACCEPT to record the batch", "ok")

        await scan(pilot, f"FK:J:{other_alloy}")  # each refusal in plain words; the bag stays out
        await until(pilot, lambda: other_alloy in result_text(app))
        assert f"{other_alloy} is 14K yellow gold; the new batch is 9K yellow gold" in result_text(app)
        assert app.last_message[1] == "error" and screen.jobs == [a]

        await scan(pilot, f"FK:J:{jobs.batch_jobs[0]}")  # in open batch B0001, and a stage further on
        await until(pilot, lambda: jobs.batch_jobs[0] in result_text(app))
        said = result_text(app)
        assert (f"{jobs.batch_jobs[0]} is already in open batch {jobs.batch}: a job bag is in one open batch at a "
                f"time (close {jobs.batch} first)") in said
        assert f"{jobs.batch_jobs[0]} is at Tree building; the new batch is at Wax injection" in said

        await scan(pilot, f"FK:J:{a}")
        await until(pilot, lambda: "scanned already" in app.last_message[0])

        await type_slowly(pilot, str(int(b[1:])))  # a job number typed by hand, as a damaged label asks
        await pilot.press("enter")
        await until(pilot, lambda: screen.jobs == [a, b])
        assert app.shop.journal.count() == before  # nothing is recorded while the bags are scanned
        shot = app.export_screenshot().replace("&#160;", " ")
        assert "NEW BATCH" in shot and "2 job bags scanned" in shot and "one alloy" in shot

        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: screen.recorded is not None)
        (made,) = [e for e in batches(app) if e.payload["batch"] != jobs.batch]
        assert made.payload == {"batch": "B0002", "design": "Stacking ring", "jobs": [a, b]}
        assert (made.person, made.bench) == ("ana", "casting")
        assert app.shop.job(a).batch == app.shop.job(b).batch == "B0002"

        label = site / "labels-out" / "casting.zpl"
        await until(pilot, lambda: "batch bag label is printed" in result_text(app))
        zpl = label.read_text()
        assert "FK:B:B0002" in zpl and a in zpl and b in zpl
        assert app.last_message[0].startswith("batch bag B0002 printed")

        await scan(pilot, "FK:B:B0002")  # the printed bag: the whole batch moves through a stage together
        await until(pilot, lambda: isinstance(app.screen, BatchScreen))
        assert app.screen.batch_id == "B0002" and app.screen.jobs == [a, b]


async def test_the_batch_card_from_anywhere_and_leaving_without_recording(workshop, jobs, clock):
    site = workshop()
    a, b, _ = more_jobs(site)
    app = make_app(site, "casting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:C:BATCH")
        assert app.last_message == ("BATCH: scan your badge first, then BATCH and the job bags", "warn")
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{a}")  # on a job card, the BATCH card starts a new batch too
        await scan(pilot, "FK:C:BATCH")
        await until(pilot, lambda: isinstance(app.screen, NewBatchScreen))
        screen = app.screen
        await scan(pilot, f"FK:J:{a}")
        await scan(pilot, f"FK:J:{b}")
        await until(pilot, lambda: screen.jobs == [a, b])
        await pilot.press("d")
        await until(pilot, lambda: screen.jobs == [a])
        assert "dropped" in app.last_message[0]
        await scan(pilot, "FK:C:START")
        assert "record the batch first (ACCEPT)" in app.last_message[0]

        await scan(pilot, "FK:C:CANCEL")  # a bag scanned: asked twice, and said so
        assert app.screen is screen and "CANCEL again drops the 1 bag scanned" in app.last_message[0]
        await scan(pilot, "FK:C:CANCEL")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        assert batches(app) == [e for e in batches(app) if e.payload["batch"] == jobs.batch]
        assert app.shop.job(a).batch is None


async def test_a_bag_batched_at_another_bench_meanwhile_is_refused_when_the_batch_is_recorded(workshop, jobs, clock):
    site = workshop()
    a, b, _ = more_jobs(site)
    app = make_app(site, "casting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewBatchScreen))
        await scan(pilot, f"FK:J:{a}")
        await scan(pilot, f"FK:J:{b}")
        await until(pilot, lambda: app.screen.jobs == [a, b])
        other = open_shop(site, clock=clock)  # another bench of the site puts one of them in a batch first
        try:
            verbs.create_batch(other, [b], person_id="farid", bench_id="casting")
        finally:
            other.close()
        await pilot.press("a")  # A waits for Enter: it begins ACCEPT typed by hand
        await until(pilot, lambda: "A: Enter for record the batch" in app.last_message[0])
        assert app.screen.recorded is None
        await pilot.press("enter")
        await until(pilot, lambda: "not recorded" in result_text(app))
        assert f"{b} is already in open batch B0002" in result_text(app)
        assert app.screen.recorded is None and app.shop.job(a).batch is None


async def test_a_bench_without_a_printer_says_where_to_print_the_batch_bag(workshop, jobs, clock):
    site = workshop()
    a, _, _ = more_jobs(site)
    app = make_app(site, "casting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewBatchScreen))
        await scan(pilot, f"FK:J:{a}")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: app.screen.recorded == "B0002")
        assert "no printer: print its batch bag at a bench that has one (label print --batch B0002)" in result_text(app)


def test_snapshot_of_a_new_batch_with_a_bag_kept_out(snap_compare, workshop, jobs, clock):
    site = workshop()
    a, b, other_alloy = more_jobs(site)

    async def run_before(pilot):
        await scan(pilot, "FK:P:B1001")
        await worklist_loaded(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(pilot.app.screen, NewBatchScreen))
        for job in (a, b, other_alloy):
            await scan(pilot, f"FK:J:{job}")
        await until(pilot, lambda: other_alloy in result_text(pilot.app))

    assert snap_compare(make_app(site, "casting", clock=clock, devices="none"), terminal_size=SIZE,
                        run_before=run_before)
