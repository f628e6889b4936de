"""Inspection plans: the example qc.toml, plan choice, each check kind judged by hand-computed numbers."""

from decimal import Decimal

import pytest

from floorkiosk.domain import qc as dq

D = Decimal


@pytest.fixture
def cfg(site):
    return dq.qc_config(site)


def check(kind, **kw):
    base = dict(id="c", name=kw.pop("name", "the check"), kind=kind, defects=kw.pop("defects", ("SCRATCH",)))
    return dq.Check(**base, **kw)


def test_example_qc_toml_is_complete(cfg, site):
    assert {"LOOSE-STONE", "POROSITY", "SCRATCH", "WRONG-SIZE", "PLATING-THIN"} <= set(cfg.defects)
    assert cfg.defects["LOOSE-STONE"].redo == "stone-setting"
    assert cfg.defects["PLATING-THIN"].redo == "plating"
    # a plan for the QC stage of each route, and one for stone setting
    for route in site.routes:
        assert cfg.plan_for("qc", route, "Anything").stage == "qc"
    assert cfg.plan_for("stone-setting", "custom-ring", "x").id == "setting"
    ring = {c.id: c for c in cfg.plan_for("qc", "custom-ring", "Solitaire").checks}
    assert ring["weight"].tolerance_pct == D("2.0")
    assert (ring["shank"].min, ring["shank"].max, ring["shank"].unit) == (D("1.4"), D("2.2"), "mm")
    casting = {c.id: c for c in cfg.plan_for("qc", "casting-line", "Stacking ring").checks}
    assert (casting["rhodium"].min, casting["rhodium"].max, casting["rhodium"].unit) == (D("0.1"), D("0.5"), "µm")
    assert cfg.plan_for("qc", "casting-line", "x").sampling == dq.Sampling(None, D("20"), 2)
    assert cfg.stones.setting_stage == "stone-setting"


def test_most_specific_plan_wins():
    a = dq.Plan("any", "any", "qc", (check("visual"),))
    r = dq.Plan("route", "route", "qc", (check("visual"),), routes=("custom-ring",))
    d = dq.Plan("design", "design", "qc", (check("visual"),), designs=("Signet ring",))
    cfg = dq.QcConfig(plans=(d, r, a))
    assert cfg.plan_for("qc", "custom-ring", "Signet ring").id == "design"
    assert cfg.plan_for("qc", "custom-ring", "Halo ring").id == "route"
    assert cfg.plan_for("qc", "fabrication", "Halo ring").id == "any"
    assert cfg.plan_for("polishing", "custom-ring", "Halo ring") is None


def test_weight_within_percent_of_the_reference():
    c = check("weight", tolerance_pct=D("2"))
    facts = dq.Facts(reference_grams=D("5.000"))
    # (5.100 - 5.000) / 5.000 = +2.00 %: on the limit, inclusive
    r = dq.judge(c, "5.100", facts)
    assert (r.result, r.deviation_pct, r.value) == (dq.PASS, D("2.00"), D("5.100"))
    # 5.101 g is +2.02 %
    r = dq.judge(c, "5.101", facts)
    assert (r.result, r.deviation_pct) == (dq.FAIL, D("2.02"))
    assert "2.02 % above 5.000 g" in r.note
    # 4.880 g is -2.40 %
    r = dq.judge(c, "4,880 g", facts)
    assert (r.result, r.deviation_pct) == (dq.FAIL, D("-2.40"))
    assert "below" in r.note
    # 3.2 dwt = 3.2 x 1.55517384 g = 4.976556288 g, -0.47 %
    r = dq.judge(c, "3.2 dwt", facts)
    assert r.value == D("4.976556288") and r.deviation_pct == D("-0.47") and r.result == dq.PASS
    # nothing to compare with: the weight is kept, the check is n/a
    r = dq.judge(c, "5.1", dq.Facts())
    assert r.result == dq.NA and r.value == D("5.1")


def test_measured_range_is_inclusive():
    c = check("measure", name="shank thickness", unit="mm", min=D("1.4"), max=D("2.2"))
    f = dq.Facts()
    assert dq.judge(c, "1.40", f).result == dq.PASS
    assert dq.judge(c, "2.2", f).result == dq.PASS
    low = dq.judge(c, "1.39", f)
    assert low.result == dq.FAIL and low.note == "shank thickness 1.39 mm is below 1.4 mm"
    high = dq.judge(c, "2,21", f)  # a continental decimal comma
    assert high.result == dq.FAIL and high.value == D("2.21") and "above 2.2 mm" in high.note
    tilt = check("measure", unit="°", max=D("2"))
    assert dq.judge(tilt, "2", f).result == dq.PASS and dq.judge(tilt, "2.5", f).result == dq.FAIL


def test_ring_size_against_the_spec():
    assert dq.spec_size("size 6 1/2, comfort fit") == D("6.5")
    assert dq.spec_size("Size 54, flat profile") == D("54")
    assert dq.spec_size("size 7½") == D("7.5")
    assert dq.spec_size("high polish all over") is None
    c = check("size", tolerance=D("0.25"))
    facts = dq.Facts(spec_size=D("6.5"))
    assert dq.judge(c, "6 3/4", facts).result == dq.PASS  # |6.75 - 6.5| = 0.25
    r = dq.judge(c, "7", facts)  # |7 - 6.5| = 0.5
    assert r.result == dq.FAIL and "not the spec's 6.5" in r.note
    assert dq.judge(c, "6.5", dq.Facts()).result == dq.NA  # the spec names no size


def test_pass_fail_and_applicability():
    v = check("visual")
    assert dq.judge(v, "P", dq.Facts()).result == dq.PASS
    assert dq.judge(v, "fail", dq.Facts()).result == dq.FAIL
    stones = check("visual", only_with_stones=True)
    assert dq.judge(stones, "", dq.Facts(has_stones=False)).result == dq.NA
    plated = check("measure", unit="µm", min=D("0.1"), only_if_route_has="plating")
    assert dq.applies(plated, dq.Facts(route_stages=("polishing", "qc"))) == (False, "its route has no plating")
    assert dq.applies(plated, dq.Facts(route_stages=("plating", "qc")))[0]
    rings = check("measure", unit="mm", min=D("1"), only_designs_containing="ring")
    assert not dq.applies(rings, dq.Facts(design="Pear drop earrings"))[0]
    assert dq.applies(rings, dq.Facts(design="Signet Ring"))[0]
    assert dq.applies(rings, dq.Facts(design="Wedding rings"))[0]


@pytest.mark.parametrize("kind,kw,text,says", [
    ("measure", dict(unit="mm", min=D("1")), "abc", "'abc' is not a number"),
    ("measure", dict(unit="mm", min=D("1")), "1..2", "is not a number"),
    ("weight", dict(tolerance_pct=D("2")), "5 bananas", "unknown weight unit"),
    ("weight", dict(tolerance_pct=D("2")), "0", "cannot be right"),
    ("size", dict(tolerance=D("0.25")), "six", "not a ring size"),
    ("visual", {}, "maybe", "neither pass nor fail"),
    ("measure", dict(unit="mm", min=D("1")), "  ", "no answer"),
])
def test_answers_that_cannot_be_read_are_refused(kind, kw, text, says):
    c = check(kind, name="the check", **kw)
    with pytest.raises(dq.BadAnswer) as exc:
        dq.judge(c, text, dq.Facts(reference_grams=D("5"), spec_size=D("6.5")))
    assert says in str(exc.value) and str(exc.value).startswith("the check:")


def test_evaluation_and_the_proposal_for_a_failure(cfg):
    plan = cfg.plan_for("qc", "custom-ring", "Solitaire ring")
    facts = dq.Facts(reference_grams=D("4.960"), spec_size=D("6.5"), has_stones=True,
                     route_stages=("cleanup", "polishing", "qc"), design="Solitaire ring")
    answers = {"weight": "4.99", "size": "6.5", "shank": "1.21", "alignment": "1", "secure": "p", "finish": "f"}
    ev = dq.evaluate(plan.checks, answers, facts)
    assert ev.missing == ("hallmark legible",) and ev.result == "incomplete"
    ev = dq.evaluate(plan.checks, answers | {"hallmark": "p"}, facts)
    assert ev.result == dq.FAIL and [r.check.id for r in ev.failed] == ["shank", "finish"]
    code, redo, reason = dq.proposal(ev, cfg, ("cleanup", "polishing"), "polishing")
    # the first failed check's first code, and the stage that code is redone at
    assert (code, redo) == ("THIN-SHANK", "cleanup")
    assert reason == "shank thickness 1.21 mm is below 1.4 mm; finish as specified: failed"
    # a defect whose stage the piece has not been through falls back to the last stage done
    assert dq.proposal(ev, cfg, ("polishing",), "polishing")[1] == "polishing"
    ok = dq.evaluate(plan.checks, answers | {"shank": "1.8", "finish": "p", "hallmark": "p"}, facts)
    assert ok.passed and ok.result == dq.PASS


def test_checklist_items_the_plan_leaves_out_become_checks():
    plan_checks = (check("visual", name="Stones secure"),)
    out = dq.checklist_checks(plan_checks, ("stones secure", "hallmark legible"))
    assert [c.name for c in out] == ["Stones secure", "hallmark legible"]
    assert out[1].kind == "visual" and out[1].id == "checklist-hallmark-legible"


def test_a_rejection_offers_the_defects_that_apply_to_its_stage(cfg, site):
    ring = site.routes["custom-ring"]
    setting = [d.code for d in cfg.defects_for("stone-setting", ring)]
    # the stage's own defects first, then those of the stages before it; none of polishing or plating
    assert setting[:4] == ["LOOSE-STONE", "STONE-TILT", "CHIPPED-STONE", "PRONG"]
    assert set(setting[4:]) == {"POROSITY", "THIN-SHANK", "WRONG-SIZE"}
    assert "PLATING-STAIN" not in setting and "SCRATCH" not in setting
    polishing = [d.code for d in cfg.defects_for("polishing", ring)]
    assert len(polishing) == 11 and polishing[0] == "SCRATCH" and "PLATING-THIN" not in polishing
    # on a route with plating, the QC stage offers plating's defects as well
    assert "PLATING-THIN" in [d.code for d in cfg.defects_for("qc", site.routes["casting-line"])]
    # a defect that names its stages applies to those alone; one without redo applies everywhere
    named = dq.Defect("BENT", "bent", "cleanup", ("polishing",))
    assert named.applies_to("polishing", ring) and not named.applies_to("stone-setting", ring)
    assert dq.Defect("OTHER", "other").applies_to("casting", ring)


def test_a_defect_naming_an_unknown_stage_is_a_config_error(site, tmp_path):
    from floorkiosk.domain.tomlread import TomlReader

    f = tmp_path / "qc.toml"
    f.write_text('[[defects]]\ncode = "BENT"\ntext = "bent"\nstages = ["polish"]\n')
    problems: list[str] = []
    dq.validate_qc(TomlReader(f, problems), site.stages, site.routes)
    assert any("qc.toml:4:" in p and "'stages' must list stages of routes.toml" in p for p in problems), problems
