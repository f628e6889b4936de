"""At the QC station, a piece is judged by the inspection plan of the standards it was made under."""

from __future__ import annotations

from floorkiosk.domain import qc as dq
from floorkiosk.workshop import qc, standards

from .conftest import PHOTO, new_ring, walk


def test_a_piece_made_before_a_tighter_shank_tolerance_is_judged_by_the_old_one_a_new_piece_by_the_new(qshop, tmp_path):
    shop, jobs = qshop
    old = jobs["final"]  # polished, its QC stage due: made under v1 (shank 1.4 to 2.2 mm)
    text = (shop.dir / "config" / "qc.toml").read_text()
    assert text.count("max = 2.2") == 3  # the shank check of each ring plan
    proposal = tmp_path / "qc.toml"
    proposal.write_text(text.replace("max = 2.2", "max = 1.9"))
    p = standards.propose(shop, proposal, why="thin shanks bend: a narrower band", person_id="eva")
    standards.approve(shop, p.version.number, person_id="farid")
    new = new_ring(shop)
    walk(shop, new, "qc")

    def judged(job: str):
        insp = qc.begin(shop, job, "farid", "qc")
        answers = qc._passing_answers(insp) | {"shank": "2.1"}
        return insp, answers, insp.evaluate(answers)

    insp, answers, ev_old = judged(old)
    assert ev_old.passed  # 2.1 mm is within the 2.2 mm it was made under
    _, _, ev_new = judged(new)
    assert not ev_new.passed and [r.check.id for r in ev_new.failed] == ["shank"]
    out = qc.record_inspection(shop, old, "farid", "qc", answers, photo=PHOTO, pin="1357")
    assert out.result == dq.PASS
    shank = next(c for c in out.event.payload["checks"] if c["id"] == "shank")
    assert float(shank["max"]) == 2.2
