"""The capacity screen's second view (T): the timeline of every open job as a text Gantt (bars at the
schedule's days, ▼ and │ today, ◆ the due date, the critical stage red, late jobs marked) and projected
CDPA for the next four weeks, the HTML report's figures (workshop.outlook)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from kiosk_helpers import scan, until, worklist_loaded

from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.plan_screen import BAR, CRITICAL, DUE, TODAY, TODAY_AXIS, PlanScreen, Scale
from floorkiosk.kiosk.screens import WorklistScreen
from floorkiosk.workshop import outlook
from floorkiosk.workshop.kpi import today_of
from floorkiosk.workshop.schedule import master_schedule


async def open_timeline(pilot) -> PlanScreen:
    app = pilot.app
    await scan(pilot, "FK:P:B2001")  # Eva, a supervisor
    await worklist_loaded(pilot)
    await pilot.press("p")
    await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.master is not None, timeout=60)
    await pilot.press("t")
    await until(pilot, lambda: app.screen.view == "timeline-view")
    return app.screen


def test_the_day_scale_is_as_wide_as_the_columns_allow():
    tz = datetime.now().astimezone().tzinfo
    first = datetime(2026, 3, 16, tzinfo=tz)
    assert Scale.fit(first, first + timedelta(days=10), 47).per_day == 4
    assert Scale.fit(first, first + timedelta(days=10), 120).per_day == 8
    assert Scale.fit(first, first + timedelta(days=30), 47).per_day == 1
    wide = Scale.fit(first, first + timedelta(days=91), 47)
    assert wide.per_day == 0.5 and wide.words() == "2 days/col"
    s = Scale(first, 4, 40)
    assert (s.col(first + timedelta(hours=6)), s.end_col(first + timedelta(hours=7)), s.day_col(date(2026, 3, 17))) \
        == (1, 2, 7)


@pytest.mark.parametrize("size", [(80, 24), (100, 32), (160, 48)])
async def test_the_gantt_bars_today_and_due_are_at_the_schedules_days(workshop, clock, size):
    app = make_app(workshop(), "polishing", clock=clock, devices="none")
    async with app.run_test(size=size) as pilot:
        screen = await open_timeline(pilot)
        m = master_schedule(app.shop)
        want = outlook.timeline(m)
        assert [r.job for r in screen.timeline] == [r.job for r in want]  # most urgent first, as the report
        s = screen.scale
        now = m.when(0)
        t = screen.query_one("#gantt")
        assert t.row_count == len(want) > 0
        # the whole row fits the screen: the table is no wider than the terminal
        assert t.virtual_size.width <= size[0]
        axis = t.ordered_columns[-1].label
        marked = [c for sp in axis.spans if str(sp.style) == TODAY_AXIS for c in range(sp.start, sp.end)]
        assert marked == [s.col(now)] and axis.plain[s.col(now)] in "▼0123456789"
        by_job = m.plan.by_job()
        seen_critical = seen_late = 0
        for i, r in enumerate(want):
            bar = t.get_row_at(i)[-1]
            assert len(bar.plain) == s.width
            styles = [""] * s.width
            for span in bar.spans:
                for c in range(span.start, span.end):
                    styles[c] = str(span.style)
            blocks = [c for c, ch in enumerate(bar.plain) if ch == BAR]
            if r.due is not None and 0 <= s.day_col(r.due) < s.width:
                # the due date: the column of its day's last moment, on the axis of that day
                assert bar.plain[s.day_col(r.due)] == DUE, r.job
                col_day = s.first.date() + timedelta(days=int(s.day_col(r.due) // s.per_day))
                assert col_day == r.due
            if bar.plain[s.col(now)] not in (BAR, DUE):
                assert bar.plain[s.col(now)] == TODAY
            # each stage: blocks over the columns of the days the schedule gives it
            for p in by_job.get(r.job, []):
                a, z = m.when(p.start), m.when(p.end)
                first_col, last_col = s.col(a), max(s.end_col(z), s.col(a) + 1) - 1
                if first_col >= s.width or last_col < 0:
                    continue
                day_of = {c: s.first.date() + timedelta(days=int(c // s.per_day)) for c in (first_col, last_col)}
                assert day_of[first_col] <= a.astimezone(s.first.tzinfo).date() <= day_of[first_col] + timedelta(
                    days=max(0, round(1 / s.per_day) - 1))
                inside = [c for c in range(max(0, first_col), min(s.width, last_col + 1))
                          if bar.plain[c] in (BAR, DUE)]
                assert inside, (r.job, p.stage)
            # where the blocks are: from the first stage's start to the planned end
            if blocks and r.end is not None and r.bars:
                last_day = s.first.date() + timedelta(days=int(blocks[-1] // s.per_day))
                if s.per_day >= 1 and s.end_col(max(b.end for b in r.bars)) <= s.width:
                    assert last_day == max(b.end for b in r.bars).astimezone(s.first.tzinfo).date() or \
                        last_day == (max(b.end for b in r.bars) - timedelta(seconds=1)).astimezone(
                            s.first.tzinfo).date()
            crit = [b for b in r.bars if b.critical]
            if crit and 0 <= s.col(crit[0].start) < s.width:
                c = max(0, s.col(crit[0].start))
                if bar.plain[c] == BAR:
                    assert styles[c] == CRITICAL, r.job
                    seen_critical += 1
            label = t.get_row_at(i)
            if r.late:
                assert str(label[1]) == "LATE" and "red" in str(label[0].style)
                seen_late += 1
            else:
                assert str(label[1]) != "LATE"
        assert seen_critical and seen_late == sum(r.late for r in want)


async def test_the_timeline_view_shows_projected_cdpa_as_the_report(workshop, clock):
    app = make_app(workshop(), "polishing", clock=clock, devices="none")
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_timeline(pilot)
        m = master_schedule(app.shop)
        weeks = outlook.projected(m, today_of(app.shop))
        t = screen.query_one("#cdpa")
        got = [tuple(str(c) for c in t.get_row_at(i))[:5] for i in range(t.row_count)]
        assert got == [(w.label, w.monday.strftime("%m-%d"), str(w.due), str(w.kept),
                        "-" if w.cdpa is None else str(w.cdpa)) for w in weeks]
        assert len(got) == 4
        keys = str(screen.query_one("#plan-keys").render())
        assert keys.startswith("T capacity")
        # T again: back to the heatmap; its footer names the timeline
        await pilot.press("t")
        await until(pilot, lambda: screen.view == "capacity-view")
        assert "T timeline & projected CDPA" in str(screen.query_one("#plan-keys").render())
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))


async def test_the_timeline_is_a_supervisors(workshop, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan(pilot, "FK:P:B1002")  # Ben, an artisan
        await worklist_loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: "for supervisors" in app.last_message[0])
        await pilot.press("t")
        assert isinstance(app.screen, WorklistScreen)
        assert not any(isinstance(s, PlanScreen) for s in app.screen_stack)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_timeline(snap_compare, workshop, clock, size):
    async def run_before(pilot):
        await open_timeline(pilot)
        await pilot.pause(0.2)

    assert snap_compare(make_app(workshop(), "polishing", clock=clock, devices="none"), terminal_size=size,
                        run_before=run_before)


async def test_the_kpi_risk_list_says_the_planned_end_and_the_stage_holding_a_job_back(workshop, clock):
    from floorkiosk.kiosk.kpi_screen import KpiScreen  # the KPI screen, only for this test

    app = make_app(workshop(), "polishing", clock=clock, devices="none")
    async with app.run_test(size=(100, 32)) as pilot:
        await scan(pilot, "FK:P:B2001")
        await worklist_loaded(pilot)
        # no schedule kept yet: the mean lead times, as before (no planned end)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.report is not None, timeout=60)
        before = app.screen.query_one("#kpi-risk").render().plain
        assert "J000004" in before and "planned end" not in before and "held back by" not in before
        assert all(a.basis == "lead time" for a in app.screen.report.at_risk)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        # the capacity screen makes the schedule (kept in schedule.json): the KPI screen reads it
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.master is not None, timeout=60)
        m = app.screen.master
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.report is not None, timeout=60)
        r = app.screen.report
        shown = app.screen.query_one("#kpi-risk").render().plain
        (late,) = [a for a in r.at_risk if a.job == "J000004"]
        assert late.basis == "schedule" and late.planned_end == m.end_date("J000004") and late.why
        assert f"J000004 due {late.due} ({-late.days_left} d late, planned end {late.planned_end})" in shown
        assert f"held back by {late.why}" in shown and late.why.split()[0] == outlook.critical_stages(m)["J000004"]
        assert "needs" not in shown


async def test_many_jobs_scroll_at_80x24_and_the_scale_follows_the_width(workshop, clock):
    from floorkiosk.workshop import verbs  # to add jobs to this test's copy only

    app = make_app(workshop(), "polishing", clock=clock, devices="none")
    specs = [dict(route="casting-line", design=f"Band {i}", alloy="14KY", due=f"2026-04-{1 + i % 28:02d}")
             for i in range(30)]
    verbs.create_jobs(app.shop, specs)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_timeline(pilot)
        t = screen.query_one("#gantt")
        assert t.row_count == 38 and t.has_focus
        assert screen.region.height == 24 and t.region.bottom <= 24 - 2  # above the message and the keys
        narrow = screen.scale.per_day
        for _ in range(5):  # PgDn, as the keys line says, to the last job
            await pilot.press("pagedown")
        await until(pilot, lambda: t.cursor_row == 37 and t.scroll_y > 0)
        # the last row (the latest due date) is on screen
        assert t.get_row_at(37)[0].plain == screen.timeline[-1].job
        await pilot.resize_terminal(160, 48)
        await until(pilot, lambda: screen.scale.per_day > narrow)
        assert t.virtual_size.width <= 160 and t.cursor_row == 37
