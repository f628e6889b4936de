"""A tool's tag scanned on the job card (FK:T:M12 at wax injection): its use recorded as `floorkiosk tool use`
records it; the warning before its maintenance, the refusal at its limit and a retired tool said in plain words."""

from __future__ import annotations

from kiosk_helpers import scan, until

from floorkiosk.domain.tooling import TOOL_USED
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.screens import JobCardScreen
from floorkiosk.workshop import tooling, verbs

SIZE = (100, 32)

TOOLS = """
[[kinds]]
id = "rubber-mold"
name = "Rubber mold"
stages = ["wax-injection"]
warn_after = 1
block_after = 2

[[kinds]]
id = "flask"
name = "Casting flask"
stages = ["casting"]

[[tools]]
id = "M12"
kind = "rubber-mold"
name = "Stacking ring, size 6"

[[tools]]
id = "M13"
kind = "rubber-mold"
name = "Signet ring"

[[tools]]
id = "F01"
kind = "flask"
name = "3.5 x 4 in flask"
"""


def site_with_tools(workshop):
    root = workshop()
    (root / "config" / "tools.toml").write_text(TOOLS)
    return root


def wax_under_way(app, n: int) -> list[str]:
    """n new casting-line jobs with wax injection started by Dev at the design bench."""
    jobs = verbs.create_jobs(app.shop, [dict(route="casting-line", design="Stacking ring", alloy="14KY",
                                             due="2026-04-24")] * n, person_id="dev", bench_id="design")
    for j in jobs:
        verbs.start(app.shop, j, "dev", "design", "wax-injection")
    return jobs


def uses(app) -> list[tuple[str, str, str]]:
    return [(e.job, e.payload["tool"], e.payload["stage"]) for e in app.shop.journal.events(types=[TOOL_USED])]


def status(app) -> str:
    return str(app.card_screen.query_one("#status").render())


async def test_a_tool_scanned_on_the_card_is_used_then_warned_then_refused_at_its_limit(workshop, clock):
    app = make_app(site_with_tools(workshop), "design", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        a, b, c = wax_under_way(app, 3)
        await scan(pilot, "FK:P:B1004")  # Dev
        await scan(pilot, "FK:T:M12")
        assert app.last_message == ("tool M12: open the job's card first (scan its bag), then scan the tool's tag",
                                    "warn")
        await scan(pilot, f"FK:J:{a}")
        assert isinstance(app.screen, JobCardScreen)
        assert "tools: none scanned yet; scan the rubber mold's tag (FK:T:…)" in status(app)
        await scan(pilot, "FK:T:M12")
        await until(pilot, lambda: "tools: M12" in status(app))
        assert app.last_message == ("Rubber mold M12 used for Wax injection (use 1 since maintenance, limit 2) — "
                                    "maintenance due: from 2 uses it is refused", "warn")
        assert uses(app) == [(a, "M12", "wax-injection")]
        await scan(pilot, f"FK:J:{b}")
        await scan(pilot, "FK:T:M12")
        assert app.last_message == ("Rubber mold M12 used for Wax injection (use 2 since maintenance, limit 2) — at its "
                                    "limit now: the next use is refused until a supervisor signs off its maintenance",
                                    "warn")
        # at its limit: refused, nothing recorded
        await scan(pilot, f"FK:J:{c}")
        await scan(pilot, "FK:T:M12")
        assert app.last_message == ("M12 has been used 2 times since its maintenance (limit 2): maintain it "
                                    "(floorkiosk tool maintain M12) or take another", "error")
        assert len(uses(app)) == 2 and "tools: none scanned yet" in status(app)
        # another mold of the kind is taken
        await scan(pilot, "FK:T:M13")
        assert app.last_message[0].startswith("Rubber mold M13 used for Wax injection (use 1")
        assert uses(app)[-1] == (c, "M13", "wax-injection")
        # once maintained, M12 is allowed again
        tooling.maintain(app.shop, "M12", "farid", "re-vulcanised")
        await scan(pilot, "FK:T:m12")  # typed in lower case: the same tag
        assert app.last_message == ("Rubber mold M12 used for Wax injection (use 1 since maintenance, limit 2) — "
                                    "maintenance due: from 2 uses it is refused", "warn")
        assert uses(app)[-1] == (c, "M12", "wax-injection")


async def test_a_retired_tool_and_a_tool_of_the_wrong_kind_are_refused_in_words(workshop, clock):
    app = make_app(site_with_tools(workshop), "design", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        (a,) = wax_under_way(app, 1)
        tooling.retire(app.shop, "M13", "farid", "torn at the sprue")
        await scan(pilot, "FK:P:B1004")
        await scan(pilot, f"FK:J:{a}")
        await scan(pilot, "FK:T:M13")
        assert app.last_message == ("M13 was retired 2026-03-16 (torn at the sprue): take another rubber mold", "error")
        await scan(pilot, "FK:T:F01")
        assert app.last_message == ("F01 is a casting flask; Wax injection uses rubber mold", "error")
        await scan(pilot, "FK:T:X99")
        assert app.last_message[1] == "error" and "no tool 'X99' in tools.toml" in app.last_message[0]
        assert uses(app) == []
        # the allowed one, for contrast
        await scan(pilot, "FK:T:M12")
        assert app.last_message[1] == "warn" and uses(app) == [(a, "M12", "wax-injection")]


async def test_a_tool_scanned_on_a_job_with_nothing_under_way_here_is_refused(workshop, jobs, clock):
    app = make_app(site_with_tools(workshop), "casting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")  # Ana
        await scan(pilot, f"FK:J:{jobs.cast}")  # ready for casting, not started
        await scan(pilot, "FK:T:F01")
        assert app.last_message == (f"{jobs.cast} has no stage under way at Casting: start it, then scan the "
                                    "casting flask", "error")
        assert uses(app) == []
