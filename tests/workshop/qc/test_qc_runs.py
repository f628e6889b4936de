"""Who ran a stage, as a defect names it: the same whether the events come one by one or in one batch."""

from __future__ import annotations

from floorkiosk.domain import events as ev


def _history(job: str) -> list[ev.Event]:
    return [
        ev.Event(ev.JOB_CREATED, job, "dev", "design", {"route": "casting-line", "design": "Signet ring",
                                                       "alloy": "18KY", "due": "2026-12-20"}),
        ev.Event(ev.STAGE_STARTED, job, "ana", "casting", {"stage": "casting"}),
        # finished by someone else at another bench: the run keeps the bench it was started at
        ev.Event(ev.STAGE_FINISHED, job, "ben", "cleanup", {"stage": "casting", "checklist": []}),
        ev.Event(ev.STAGE_REJECTED, job, "eva", "qc", {"stage": "casting", "redo": "casting", "defect": "porosity"}),
        ev.Event(ev.STAGE_FINISHED, job, "chloe", "polishing", {"stage": "polishing", "checklist": []}),
        ev.Event(ev.STAGE_REJECTED, job, "eva", "qc", {"stage": "polishing", "defect": "scratch"}),
    ]


def _defects(shop) -> list[tuple]:
    return shop.journal.query("SELECT job, defect, origin, origin_bench, origin_person, design, alloy"
                              " FROM qc_defects WHERE job LIKE 'J9%' ORDER BY job, ts, defect")


def test_one_batch_one_by_one_and_a_rebuild_name_the_same_runs(shop):
    for e in _history("J900001"):
        shop.journal.append(e)  # one event per transaction
    shop.journal.append_many(_history("J900002"))  # all in one
    split = _history("J900003")
    shop.journal.append_many(split[:2])  # started in one batch, finished and rejected in the next
    shop.journal.append_many(split[2:])
    got = _defects(shop)
    expected = []
    for job in ("J900001", "J900002", "J900003"):
        expected += [(job, "POROSITY", "casting", "casting", "ben", "Signet ring", "18KY"),
                     (job, "SCRATCH", "polishing", "polishing", "chloe", "Signet ring", "18KY")]
    assert sorted(got) == sorted(expected)
    runs = shop.journal.query("SELECT job, stage, bench, person FROM qc_runs WHERE job LIKE 'J9%'"
                              " ORDER BY job, stage")
    assert {r[0] for r in runs} == {"J900001", "J900002", "J900003"}
    assert len({(r[1], r[2], r[3]) for r in runs}) == 2  # the same two runs for each job
    before = shop.journal.state_digest()
    shop.journal.rebuild(apart=False)
    assert _defects(shop) == got and shop.journal.state_digest() == before
