"""Rework reopens what was built on it: a stage sent back takes every done stage downstream of it in the
route's graph with it, on all three example routes, parallel branches too; nothing after it may start
until they are done (and verified) again, and the card says which were reopened and why."""

from decimal import Decimal

from floorkiosk.domain import guardrails as g
from floorkiosk.workshop import cards, judge, kpi, qc, verbs

from .conftest import do_stage, final_answers, walk


def job_on(shop, route: str, stones=None) -> str:
    return verbs.create_job(shop, route=route, design="Piece", alloy="14KY", due="2026-12-24",
                            stones=stones or [], person_id="dev", bench_id="design")


def status(shop, job, *stages):
    j = shop.job(job)
    return tuple(j.stage(s).status for s in stages)


def may_start(shop, job, stage) -> g.Decision:
    who = {"qc": "farid", "plating": "chloe", "polishing": "chloe", "stone-setting": "ben", "engraving": "ben",
           "packaging": "dev"}[stage]
    bench = {"qc": "qc", "plating": "polishing", "polishing": "polishing", "stone-setting": "setting",
             "engraving": "setting", "packaging": "dispatch"}.get(stage, stage)
    return judge.decide(shop, g.START, job, who, bench, stage)


def reopened(shop, job) -> dict[str, str]:
    return {s.id: s.reopened for s in cards.job_card(shop, job).stages if s.reopened}


def test_casting_line_qc_fails_with_redo_polishing_and_plating_is_done_again(shop):
    job = job_on(shop, "casting-line")
    grams = walk(shop, job, "qc", Decimal("2.400"))
    verbs.start(shop, job, "farid", "qc", "qc")  # the QC stage under way, as at the station
    out = qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job, finish="f"), defect="SCRATCH",
                               redo="polishing", pin="1357")
    assert out.result == "fail"
    # polishing is redone; plating, built on it, is done again; QC waits for both
    assert status(shop, job, "polishing", "plating", "qc") == ("rework", "rework", "rework")
    assert reopened(shop, job) == {"plating": "Polishing was sent back", "qc": "Polishing was sent back"}
    d = may_start(shop, job, "qc")
    assert not d.allowed and any("Rhodium plating" in r.text for r in d.reasons)
    assert not may_start(shop, job, "plating").allowed  # polishing first
    grams = do_stage(shop, job, "polishing", grams)
    assert not may_start(shop, job, "qc").allowed and may_start(shop, job, "plating").allowed
    do_stage(shop, job, "plating", grams)
    assert may_start(shop, job, "qc").allowed
    assert reopened(shop, job) == {"qc": "Polishing was sent back"}  # plating was done again


def test_custom_ring_setting_verified_before_is_verified_again_after_cleanup_is_redone(shop):
    from .conftest import RING_STONES

    job = job_on(shop, "custom-ring", stones=RING_STONES)
    grams = walk(shop, job, "qc")
    assert status(shop, job, "stone-setting", "polishing") == ("verified", "done")
    verbs.reject(shop, job, "farid", "qc", stage="polishing", defect="POROSITY", redo="cleanup")
    assert status(shop, job, "cleanup", "stone-setting", "polishing") == ("rework", "rework", "rework")
    assert shop.job(job).stage("stone-setting").verified_by is None
    assert reopened(shop, job) == {"stone-setting": "Cleanup was sent back", "polishing": "Cleanup was sent back"}
    assert not may_start(shop, job, "stone-setting").allowed and not may_start(shop, job, "polishing").allowed
    grams = do_stage(shop, job, "cleanup", grams)
    grams = do_stage(shop, job, "stone-setting", grams, verify_by="")  # set again, not yet verified
    d = may_start(shop, job, "polishing")
    assert not d.allowed and [r.code for r in d.reasons] == ["verification"]
    verbs.verify(shop, job, "eva", "qc", "stone-setting", pin="2468")
    assert may_start(shop, job, "polishing").allowed


def test_fabrication_a_parallel_branch_not_built_on_the_rework_stays_done(shop):
    from .conftest import RING_STONES

    job = job_on(shop, "fabrication", stones=RING_STONES)
    grams = walk(shop, job, "qc")
    verbs.reject(shop, job, "farid", "qc", stage="polishing", defect="SCRATCH", redo="engraving")
    # engraving and polishing (after both branches) again; stone setting, the other branch, stands
    assert status(shop, job, "engraving", "polishing", "stone-setting") == ("rework", "rework", "verified")
    assert reopened(shop, job) == {"polishing": "Engraving was sent back"}
    assert not may_start(shop, job, "polishing").allowed
    grams = do_stage(shop, job, "engraving", grams)
    assert may_start(shop, job, "polishing").allowed


def test_the_board_and_the_kpi_tables_agree_with_the_card_on_reopened_stages(shop):
    def lanes():
        return {lane.stage: lane.count for lane in kpi.board(shop, route="casting-line").lanes}

    job = job_on(shop, "casting-line")
    walk(shop, job, "qc", Decimal("2.400"))
    verbs.start(shop, job, "farid", "qc", "qc")
    before = lanes()
    qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job, finish="f"), defect="SCRATCH",
                         redo="polishing", pin="1357")
    rows = dict(shop.journal.query("SELECT stage, status FROM kpi_stages WHERE job = ?", (job,)))
    assert (rows["polishing"], rows["plating"], rows["qc"]) == ("rework", "rework", "rework")
    # on the board the piece waits at polishing again, and is no longer at QC
    after = lanes()
    assert (after["polishing"] - before["polishing"], after["plating"] - before["plating"],
            after["qc"] - before["qc"]) == (1, 0, -1)
    shop.journal.rebuild()  # the fold from the journal says the same
    assert status(shop, job, "polishing", "plating", "qc") == ("rework", "rework", "rework")
    assert lanes() == after


def test_the_board_says_why_a_piece_waits_again_at_a_stage_it_had_done(shop):
    from floorkiosk.kiosk.board import lane_text

    def mine(lane: str):
        ln = next(x for x in kpi.board(shop, route="casting-line", per_lane=50).lanes if x.stage == lane)
        return ln, next(p for p in (*ln.oldest, *ln.late_pieces) if p.job == job)

    job = job_on(shop, "casting-line")
    grams = walk(shop, job, "qc", Decimal("2.400"))
    verbs.start(shop, job, "farid", "qc", "qc")
    qc.record_inspection(shop, job, "farid", "qc", final_answers(shop, job, finish="f"), defect="SCRATCH",
                         redo="polishing", pin="1357")
    lane, piece = mine("polishing")
    assert piece.status == "rework" and piece.reopened == ""  # sent back itself
    do_stage(shop, job, "polishing", grams)
    lane, piece = mine("plating")
    assert piece.status == "rework" and piece.reopened == "Polishing was sent back"
    assert f"{job}" in str(lane_text(lane)) and "↺ reopened: Polishing was sent back" in str(lane_text(lane))


def test_the_card_shows_each_stages_run_count_after_rework(shop):
    from floorkiosk.kiosk.widgets import route_text

    job = job_on(shop, "casting-line")
    grams = walk(shop, job, "qc", Decimal("2.400"))
    verbs.reject(shop, job, "farid", "qc", stage="plating", defect="SCRATCH", redo="polishing")
    do_stage(shop, job, "polishing", grams)
    views = {s.id: s for s in cards.job_card(shop, job).stages}
    assert (views["polishing"].runs, views["plating"].runs, views["casting"].runs) == (2, 1, 1)
    text = str(route_text(cards.job_card(shop, job).stages))
    assert "Polishing ×2" in text and "Casting ×" not in text
