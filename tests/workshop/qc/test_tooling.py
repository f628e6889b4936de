"""Tools at the bench: a use counted per run, warned and then refused at its limits, maintained, retired."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scalereading import weigh  # tests/ is on the path (pytest rootdir)

from floorkiosk.domain import guardrails as g
from floorkiosk.errors import ConfigError, NotFound, Refused
from floorkiosk.workshop import judge, tooling, verbs

from .conftest import PHOTO, FixedClock, bench_for

TOOLS = """
[[kinds]]
id = "rubber-mold"
name = "Rubber mold"
stages = ["wax-injection"]
required = true
warn_after = 2
block_after = 3

[[tools]]
id = "M12"
kind = "rubber-mold"
name = "Stacking ring"

[[tools]]
id = "M13"
kind = "rubber-mold"
"""


@pytest.fixture
def site(tmp_path):
    from photofile import stored_photo

    from floorkiosk.workshop.site import init_site, open_shop

    root = tmp_path / "site"
    init_site(root, origin="test-bench")
    stored_photo(root / "photos")
    (root / "config" / "tools.toml").write_text(TOOLS)
    shop = open_shop(root, clock=FixedClock())
    jobs = verbs.create_jobs(shop, [dict(route="casting-line", design="Stacking ring", alloy="14KY", due="2026-12-24",
                                         stones=[]) for _ in range(6)], person_id="dev", bench_id="design")
    yield shop, jobs
    shop.close()


def wax(shop, job: str, tool: str | None = None) -> str:
    """Wax injection started (and the mold scanned); the bench."""
    bench = bench_for(shop.site, "wax-injection")
    who = "ana" if "wax-injection" in shop.person("ana").skills else next(
        p.id for p in shop.site.people.values() if shop.site.stages["wax-injection"].skill in p.skills)
    verbs.start(shop, job, who, bench, "wax-injection")
    note = tooling.use_tool(shop, job, tool, who, bench)[1] if tool else ""
    return note


def finish_wax(shop, job: str):
    bench = bench_for(shop.site, "wax-injection")
    st = shop.site.stages["wax-injection"]
    who = shop.job(job).stage("wax-injection").started_by
    if st.needs("weigh-in"):
        weigh(shop, job, who, bench, Decimal("1.000"), phase="in", stage="wax-injection")
    if st.needs("weigh-out"):
        weigh(shop, job, who, bench, Decimal("0.999"), phase="out", stage="wax-injection")
    for _ in range(st.photos_needed):
        verbs.attach_photo(shop, job, who, bench, PHOTO, stage="wax-injection")
    return verbs.finish(shop, job, who, bench, "wax-injection", checklist=st.checklist)


def test_a_required_mold_must_be_scanned_before_the_run_finishes(site):
    shop, jobs = site
    wax(shop, jobs[0])
    who = shop.job(jobs[0]).stage("wax-injection").started_by
    d = judge.decide(shop, g.FINISH, jobs[0], who, bench_for(shop.site, "wax-injection"), "wax-injection")
    assert not d.allowed and any(r.code == "tool" and "rubber mold" in r.text for r in d.reasons)
    with pytest.raises(judge.Blocked, match="needs the rubber mold"):
        finish_wax(shop, jobs[0])
    note = tooling.use_tool(shop, jobs[0], "m12", who, bench_for(shop.site, "wax-injection"))[1]  # case alike
    assert "Rubber mold M12 used for Wax injection (use 1 since maintenance, limit 3)" in note
    finish_wax(shop, jobs[0])  # allowed now
    assert shop.job(jobs[0]).stage("wax-injection").status == "done"


def test_uses_warn_then_refuse_until_maintained(site):
    shop, jobs = site
    assert "maintenance due" not in wax(shop, jobs[0], "M12")
    assert "maintenance due" in wax(shop, jobs[1], "M12")  # the second use reaches warn_after
    wax(shop, jobs[2], "M12")
    assert tooling.view(shop, "M12").condition == "BLOCKED (maintain it)"
    with pytest.raises(Refused, match="used 3 times since its maintenance \\(limit 3\\)"):
        wax(shop, jobs[3], "M12")
    # nothing recorded by the refusal: still three uses; another mold serves the same run
    assert tooling.view(shop, "M12").uses == 3
    who = shop.job(jobs[3]).stage("wax-injection").started_by
    tooling.use_tool(shop, jobs[3], "M13", who, bench_for(shop.site, "wax-injection"))
    with pytest.raises(Refused, match="not a supervisor"):
        tooling.maintain(shop, "M12", "ana", "re-vulcanised")
    with pytest.raises(Refused, match="--note"):
        tooling.maintain(shop, "M12", "eva", "")
    tooling.maintain(shop, "M12", "eva", "re-vulcanised, sprue channel re-cut")
    v = tooling.view(shop, "M12")
    assert (v.uses, v.since_maintenance, v.condition) == (3, 0, "ok")
    wax(shop, jobs[4], "M12")
    shop.journal.rebuild()
    assert tooling.view(shop, "M12").since_maintenance == 1 and tooling.view(shop, "M12").uses == 4


def test_a_retired_tool_a_wrong_kind_an_unknown_tool_are_refused_in_words(site):
    shop, jobs = site
    tooling.retire(shop, "M13", "eva", "torn at the sprue")
    with pytest.raises(Refused, match="M13 was retired .* take another rubber mold"):
        wax(shop, jobs[0], "M13")
    with pytest.raises(Refused, match="already retired"):
        tooling.retire(shop, "M13", "eva", "again")
    with pytest.raises(NotFound, match="no tool 'M99' in tools.toml"):
        tooling.use_tool(shop, jobs[0], "M99", "ana", bench_for(shop.site, "wax-injection"))
    with pytest.raises(Refused, match="no stage under way"):
        tooling.use_tool(shop, jobs[1], "M12", "ana", bench_for(shop.site, "wax-injection"))


def test_defects_are_charged_to_the_tool_of_their_origin_stage(site):
    shop, jobs = site
    wax(shop, jobs[0], "M12")
    finish_wax(shop, jobs[0])
    # a defect found later whose origin is wax injection
    shop.journal.conn.execute("BEGIN")
    shop.journal.conn.execute("INSERT INTO qc_defects (id, ts, job, defect, stage, origin) VALUES ('x', '2026-11-20',"
                              " ?, 'POROSITY', 'qc', 'wax-injection')", (jobs[0],))
    v = tooling.view(shop, "M12")
    shop.journal.conn.execute("ROLLBACK")
    assert v.defects == {"POROSITY": 1}


def test_tools_toml_mistakes_are_named_by_line(tmp_path):
    from config_helpers import copy_example

    from floorkiosk.domain.config import load_site

    cfg = copy_example(tmp_path / "config")
    (cfg / "tools.toml").write_text(TOOLS.replace('stages = ["wax-injection"]', 'stages = ["wax-injecton"]')
                                    .replace("warn_after = 2", "warn_after = 5\nwarnafter = 1")
                                    .replace('id = "M13"\nkind = "rubber-mold"', 'id = "M13"\nkind = "rubber-mould"'))
    with pytest.raises(ConfigError) as exc:
        load_site(cfg)
    got = exc.value.problems
    path = str(cfg / "tools.toml")
    assert any(p.startswith(f"{path}:5:") and "'wax-injecton' is not a stage" in p for p in got), got
    assert any(p.startswith(f"{path}:7:") and "warn_after (5) must be below block_after (3)" in p for p in got), got
    assert any(p.startswith(f"{path}:8:") and "warnafter" in p for p in got), got
    assert any("kind 'rubber-mould' is not a [[kinds]] id" in p for p in got), got


def test_the_tool_commands(site, capsys):
    from floorkiosk.cli import main

    shop, jobs = site
    root = str(shop.dir)
    wax(shop, jobs[0], "M12")
    assert main(["--site", root, "tool", "list"]) == 0
    out = capsys.readouterr().out
    assert "M12" in out and "1/3" in out and "ok" in out
    wax(shop, jobs[1])
    who = shop.job(jobs[1]).stage("wax-injection").started_by
    assert main(["--site", root, "tool", "use", jobs[1], "M12", "--person", who, "--bench",
                 bench_for(shop.site, "wax-injection")]) == 0
    assert "maintenance due" in capsys.readouterr().out
    assert main(["--site", root, "tool", "maintain", "M12", "--person", "eva", "--note", "cleaned"]) == 0
    assert main(["--site", root, "tool", "show", "M12"]) == 0
    out = capsys.readouterr().out
    assert "2 uses in all, 0 since maintenance" in out and "maintained" in out
    assert main(["--site", root, "tool", "show", "nope"]) == 2
    assert "no tool 'nope'" in capsys.readouterr().err
    label = shop.dir / "m12.zpl"
    assert main(["--site", root, "label", "render", "--tool", "M12", "--format", "zpl", "-o", str(label)]) == 0
    assert "FK:T:M12" in label.read_text()
