"""The QC station in the kiosk, driven as a supervisor would: badge, job bag, Inspect (Q), answers, Enter.

The kiosk reads a fast burst of keys ending in Enter as a scan, so answers are typed like a person:
the keys, a pause longer than the scanner gap, then Enter.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from floorkiosk.workshop import qc
from floorkiosk.domain import qc as dq
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.qc_screen import QcScreen
from floorkiosk.kiosk.screens import JobCardScreen

from keystrokes import pin_if_asked  # tests/ is on the path (pytest rootdir)

from .conftest import FixedClock, do_stage

from .driving import asked, inspect, msg, prompt, scan, type_answer, until

SIZE = (110, 36)


@pytest.fixture
def site(qc_site):
    return qc_site


@pytest.fixture
def open_site():
    """A shop on a copied site, for checks after the kiosk has run."""
    from floorkiosk.workshop.site import open_shop

    shops = []

    def make(path):
        s = open_shop(path)
        shops.append(s)
        return s

    yield make
    for s in shops:
        s.close()


# -- the stories ----------------------------------------------------------------------------------------

async def test_pass_verifies_stone_setting(site, open_site):
    path, jobs = site
    job = jobs["verify"]
    app = make_app(path, "qc", clock=FixedClock(), devices="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await inspect(pilot, "B2001", job)  # Eva
        assert [c.id for c in screen.insp.checks] == ["weight", "secure", "alignment", "stone-condition"]
        assert "Verify Stone setting of" in str(screen.query_one("#qc-head").render())
        assert "GIA 2141438171" in str(screen.query_one("#qc-stone-lines").render())  # the certificate
        assert "Scale: none at this bench" in str(screen.query_one("#qc-scale").render())
        weight = app.shop.job(job).last_weight
        for answer in (weight, "p", "0.5", "p"):
            await type_answer(pilot, answer)
        assert screen._step().kind == "confirm" and "Result: PASS" in prompt(screen)
        await pilot.press("enter")
        await pin_if_asked(pilot, screen.shop.person(screen.person_id).pin)
        await until(pilot, lambda: screen.outcome is not None)
        assert "PASS: Stone setting verified" in msg(screen)
        await pilot.press("enter")  # back to the job card
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert {s.id: s.status for s in app.screen.card.stages}["stone-setting"] == "verified"
    shop = open_site(path)
    assert shop.job(job).stage("stone-setting").verified_by == "eva"
    assert shop.journal.query("SELECT result, person FROM qc_inspections WHERE job = ?", (job,)) == [("pass", "eva")]


async def test_fail_sends_back_and_rework_shows_on_the_card(site, open_site):
    path, jobs = site
    job = jobs["final"]
    app = make_app(path, "qc", clock=FixedClock(), devices="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await inspect(pilot, "B2002", job)  # Farid
        ref = screen.insp.facts.reference_grams
        answers = {"weight": str(ref), "size": "6 1/2", "shank": "1.21", "alignment": "1", "secure": "p",
                   "finish": "p", "hallmark": "p"}
        for c in asked(screen):
            await type_answer(pilot, answers[c.id])
        table = screen.query_one("#qc-table")
        assert (str(table.get_cell("shank", "value")), str(table.get_cell("shank", "result"))) == ("1.21 mm", "fail")
        assert str(table.get_cell("weight", "result")) == "pass"
        # the failure questions, each proposed: defect, stage to redo, reason
        assert screen._step().kind == "defect" and screen.query_one("#qc-answer").value == "THIN-SHANK"
        await pilot.press("enter")
        assert screen._step().kind == "redo" and screen.query_one("#qc-answer").value == "Cleanup"
        await pilot.press("enter")
        assert screen._step().kind == "reason"
        await pilot.press("enter")
        assert "Result: FAIL THIN-SHANK, back to Cleanup" in prompt(screen)
        await pilot.press("enter")
        await pin_if_asked(pilot, screen.shop.person(screen.person_id).pin)
        await until(pilot, lambda: screen.outcome is not None)
        assert "FAIL: rejected: THIN-SHANK, back to Cleanup" in msg(screen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        card = app.screen.card
        assert {s.id: s.status for s in card.stages}["cleanup"] == "rework"
        history = str(app.screen.query_one("#history").render())
        assert "rejected Cleanup: THIN-SHANK shank thickness 1.21 mm is below 1.4 mm" in history

    # the rework is done at the cleanup bench, then what was built on it (the setting, verified
    # again, and the polishing), then the piece passes QC
    shop = open_site(path)
    assert shop.job(job).stage("cleanup").reworks == 1
    grams = do_stage(shop, job, "cleanup", Decimal("4.955"))
    for again in ("stone-setting", "polishing"):
        grams = do_stage(shop, job, again, grams)
    app = make_app(path, "qc", clock=FixedClock(), devices="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await inspect(pilot, "B2002", job)
        ref = str(screen.insp.facts.reference_grams)
        for c in asked(screen):
            await type_answer(pilot, {"weight": ref, "size": "6.5", "shank": "1.8", "alignment": "1"}.get(c.id, "p"))
        await pilot.press("enter")
        await pin_if_asked(pilot, screen.shop.person(screen.person_id).pin)
        await until(pilot, lambda: screen.outcome is not None)
        assert screen.outcome.result == "pass"
        assert "needs 1 photo" in msg(screen)  # no camera at this bench: QC waits for its photo
    assert shop.job(job).stage("qc").status == "in progress"
    assert shop.job(job).stage("cleanup").reworks == 1  # counted once, against first-time-right


async def test_bad_input_says_why_and_changes_nothing(site, open_site):
    path, jobs = site
    job = jobs["final"]
    app = make_app(path, "qc", clock=FixedClock(), devices="none")
    async with app.run_test(size=SIZE) as pilot:
        before = app.shop.journal.count()
        screen = await inspect(pilot, "B2002", job)
        await type_answer(pilot, "heavy")  # the weight
        assert "weight: 'heavy' is not a weight" in msg(screen) and "nothing was recorded" in msg(screen)
        assert screen._step().check.id == "weight" and "weight" not in screen.answers
        await type_answer(pilot, str(screen.insp.facts.reference_grams))
        await type_answer(pilot, "6.5")
        await type_answer(pilot, "1.8mm")  # a unit typed after the number is not a number
        assert "shank thickness: '1.8mm' is not a number" in msg(screen)
        await type_answer(pilot, "1.8")
        await type_answer(pilot, "1")
        await type_answer(pilot, "maybe")
        assert "neither pass nor fail" in msg(screen)
        await pilot.click("#qc-pass")
        await pilot.click("#qc-fail")  # finish as specified: fail
        await pilot.click("#qc-pass")
        assert screen._step().kind == "defect" and screen.query_one("#qc-answer").value == "SCRATCH"
        await type_answer(pilot, "DENT")
        assert "unknown defect code 'DENT'" in msg(screen) and screen._step().kind == "defect"
        await type_answer(pilot, "porosity")
        assert screen.fail["defect"] == "POROSITY" and screen.fail["redo"] == "cleanup"  # the defect's stage
        await type_answer(pilot, "packaging")
        assert "cannot go back to 'packaging'" in msg(screen)
        await pilot.press("escape")  # walk away: nothing recorded
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.shop.journal.count() == before + 1  # the badge's login, and nothing else
    shop = open_site(path)
    assert shop.journal.query("SELECT count(*) FROM qc_inspections")[0][0] == 0
    assert shop.job(job).stage("qc").status == "todo"


async def test_an_artisan_cannot_inspect(site, open_site):
    path, jobs = site
    job = jobs["final"]
    app = make_app(path, "qc", clock=FixedClock(), devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")  # Ben, an artisan
        await scan(pilot, f"FK:J:{job}")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert ("Q", "Inspect") not in app.screen.keys()
        await pilot.press("q")
        await pilot.pause(0.12)
        assert isinstance(app.screen, JobCardScreen)
        assert "inspection is at the QC station, by a supervisor" in app.last_message[0]
        # the screen itself refuses too, should anything push it for the wrong person
        app.push_screen(QcScreen(app.shop, "qc", "ben", job))
        await until(pilot, lambda: isinstance(app.screen, QcScreen) and app.screen.error is not None)
        assert "Ben Okafor does not have the supervisor role" in msg(app.screen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
    assert open_site(path).journal.query("SELECT count(*) FROM qc_inspections")[0][0] == 0


async def test_batch_sampling_at_the_station(site, open_site):
    path, jobs = site
    batch, pieces = jobs["batch"], jobs["pieces"]
    drawn = dq.draw(batch, "qc", pieces, 2)  # 20 % of 5, at least 2
    spare = [j for j in pieces if j not in drawn]
    app = make_app(path, "qc", clock=FixedClock(), devices="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await inspect(pilot, "B2002", spare[0])
        sample = str(screen.query_one("#qc-sample").render())
        assert f"Batch {batch}: sample 2 of 5, drawn {drawn[0]}, {drawn[1]}" in sample and "not drawn" in sample
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))

        screen = await inspect(pilot, "B2002", drawn[0])
        assert "This piece is DRAWN" in str(screen.query_one("#qc-sample").render())
        ref = str(screen.insp.facts.reference_grams)
        for c in asked(screen):  # weight, rhodium, shank, finish (fails), hallmark
            await type_answer(pilot, {"weight": ref, "rhodium": "0.3", "shank": "1.8", "finish": "f"}.get(c.id, "p"))
        assert screen._step().kind == "defect"
        for _ in range(4):  # defect, redo, reason as proposed; record
            await pilot.press("enter")
        await pin_if_asked(pilot, screen.shop.person(screen.person_id).pin)
        await until(pilot, lambda: screen.outcome is not None)
        assert f"batch {batch} failed: 4 other pieces put on hold until inspected" in msg(screen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))

        # a held piece: its QC cannot start; the station says every piece is inspected, and a pass lifts the hold
        await scan(pilot, f"FK:J:{spare[0]}")
        await until(pilot, lambda: app.screen.job_id == spare[0])
        assert not app.screen.decisions["start"].allowed
        assert "every piece is inspected" in app.screen.decisions["start"].reasons[0].text
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QcScreen) and app.screen.insp is not None)
        screen = app.screen
        assert "FAILED QC" in str(screen.query_one("#qc-sample").render())
        assert "Inspecting it lifts the hold" in str(screen.query_one("#qc-hold").render())
        for c in asked(screen):
            await type_answer(pilot, {"weight": ref, "rhodium": "0.3", "shank": "1.8"}.get(c.id, "p"))
        assert screen._step().kind == "confirm"
        await pilot.press("enter")
        await pin_if_asked(pilot, screen.shop.person(screen.person_id).pin)
        await until(pilot, lambda: screen.outcome is not None)
    shop = open_site(path)
    assert shop.job(spare[0]).hold is None and shop.job(spare[0]).stage("qc").status == "in progress"
    assert shop.job(spare[1]).hold is not None
    status = qc.sample_status(shop, batch, "qc")
    assert shop.job(drawn[1]).hold is not None  # drawn but not inspected yet: held as well
    assert set(status.must_inspect()) == {drawn[0], drawn[1], spare[1], spare[2]}


async def test_weight_from_the_bench_scale(site, open_site):
    path, jobs = site
    job = jobs["verify"]
    app = make_app(path, "qc", clock=FixedClock())  # the QC bench's simulated balance
    async with app.run_test(size=SIZE) as pilot:
        screen = await inspect(pilot, "B2001", job)
        await until(pilot, lambda: app.devices.has_scale)
        assert screen._step().check.id == "weight"
        # the ring with its stones, a little under its last weight; the QC balance reads 0.001 g: three decimals
        w = str(Decimal(app.shop.job(job).last_weight) - Decimal("0.012"))
        app.devices.sim.put(w)
        app.devices.sim.settle()
        await until(pilot, lambda: screen.query_one("#qc-answer").value == w)
        assert f"{w} g" in str(screen.query_one("#qc-scale").render()) and "stable" in str(screen.query_one("#qc-scale").render())
        await pilot.press("enter")
        assert screen.sources["weight"] == "scale" and screen.raws["weight"]
        for answer in ("p", "0.5", "p"):
            await type_answer(pilot, answer)
        await pilot.press("enter")
        await pin_if_asked(pilot, screen.shop.person(screen.person_id).pin)
        await until(pilot, lambda: screen.outcome is not None)
    shop = open_site(path)
    checks = shop.journal.query("SELECT checks FROM qc_inspections WHERE job = ?", (job,))[0][0]
    assert '"source": "scale"' in checks and f'"value": "{w}"' in checks and f' {w} g"' in checks and '"raw": "S S ' in checks


async def test_screen_on_its_own_with_a_scale_monitor(qshop):
    """Outside the kiosk the screen takes a ScaleMonitor (a simulated balance on a real pty)."""
    from textual.app import App

    from floorkiosk.devices.scales import ScaleMonitor
    from floorkiosk.devices.sim import ScaleSimulator

    shop, jobs = qshop
    job = jobs["verify"]

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(QcScreen(shop, "qc", "eva", job, scale=monitor))

    with ScaleSimulator("mt-sics", settle_time=0.2) as sim:
        monitor = ScaleMonitor(sim.path, "mt-sics", lambda e: None).start()
        try:
            app = Host()
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: isinstance(app.screen, QcScreen) and app.screen.insp is not None)
                screen = app.screen
                w = str((Decimal(shop.job(job).last_weight) - Decimal("0.02")).quantize(Decimal("0.01")))
                sim.put(w)  # this balance reads to 0.01 g (its profile's)
                sim.settle()
                await until(pilot, lambda: screen.query_one("#qc-answer").value == w)
                await pilot.press("enter")
                assert screen.sources["weight"] == "scale" and screen.results["weight"].result == "pass"
                await pilot.press(*"p", "enter", *"3.1", "enter")  # no wedge here: keys go straight in
                assert screen.results["alignment"].result == "fail"  # 3.1° is above 2°
        finally:
            monitor.stop()
    assert shop.journal.query("SELECT count(*) FROM qc_inspections")[0][0] == 0  # nothing recorded yet


async def test_a_caliper_reading_goes_into_the_answer_line(site, open_site):
    """A keyboard-wedge caliper types its reading and Enter as fast as a scanner; it is an answer."""
    path, jobs = site
    job = jobs["final"]
    app = make_app(path, "qc", clock=FixedClock(), devices="none")
    async with app.run_test(size=SIZE) as pilot:
        screen = await inspect(pilot, "B2002", job)
        await type_answer(pilot, str(screen.insp.facts.reference_grams))
        await type_answer(pilot, "6.5")
        await type_answer(pilot, "1,8 mm")  # typed wrong first
        assert "is not a number" in msg(screen)
        await scan(pilot, "1.85")  # then the caliper's burst
        await until(pilot, lambda: "shank" in screen.answers)
        assert screen.answers["shank"] == "1.85" and screen.results["shank"].result == "pass"
        assert screen._step().check.id == "alignment"
