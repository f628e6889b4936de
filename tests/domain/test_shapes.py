"""Every event type has one declared payload shape; the verbs record only payloads that fit it."""

from __future__ import annotations

import pytest

from floorkiosk.domain import events as ev
from floorkiosk.domain import shapes
from floorkiosk.workshop import sync
from floorkiosk.workshop.demo import make_demo_site
from floorkiosk.workshop.site import AREAS, open_shop


def test_every_event_type_an_area_describes_has_a_shape_and_every_shape_is_described():
    described = {t for a in (*AREAS, sync.AREA) for t in a.describers}
    assert described - set(shapes.SHAPES) == set(), "described but no shape declared"
    # a login or logout is no job's history; every other type is told in some job's or lot's history
    assert set(shapes.SHAPES) - described == {ev.PERSON_LOGGED_IN, ev.PERSON_LOGGED_OUT, ev.PIN_REFUSED}


def test_every_event_of_the_demo_site_fits_its_shape(tmp_path):
    make_demo_site(tmp_path / "site", jobs=30)
    shop = open_shop(tmp_path / "site")
    try:
        seen = set()
        for e in shop.journal.events():
            assert shapes.problems(e.type, e.payload) == [], e
            seen.add(e.type)
        # the demo walks jobs through their stages, QC, stones and the metal ledger
        assert {ev.JOB_CREATED, ev.WEIGHT_RECORDED, ev.STAGE_VERIFIED, ev.PHOTO_ATTACHED} <= seen
        assert len(seen) >= 10
    finally:
        shop.close()


@pytest.mark.parametrize("payload,wrong", [
    ({"phase": "in"}, "missing 'grams'"),
    ({"phase": "in", "grams": 4.5}, "'grams' holds 4.5"),
    ({"phase": "in", "grams": "4.5", "colour": "red"}, "'colour' is not part of its payload"),
    ([1], "payload is list"),
    ({"phase": "in", "grams": "4.5", "override": {"by": "P1"}}, "'override' holds"),
])
def test_a_payload_that_does_not_fit_is_named(payload, wrong):
    found = shapes.problems(ev.WEIGHT_RECORDED, payload)
    assert any(wrong in p for p in found), found
    assert all(p.startswith("weight.recorded: ") for p in found)


def test_a_payload_that_fits_has_no_problems_and_an_unknown_type_has_one():
    assert shapes.problems(ev.WEIGHT_RECORDED, {"phase": "out", "grams": "4.512", "raw": "ST,GS,    4.512 g",
                                                "override": {"by": "P1", "code": "x", "reasons": ["a"]}}) == []
    assert shapes.problems("job.teleported", {}) == ["job.teleported: no payload shape is declared for this event type"]


def test_the_shop_refuses_to_record_a_payload_no_reader_expects(tmp_path):
    make_demo_site(tmp_path / "site", jobs=3)
    shop = open_shop(tmp_path / "site")
    try:
        before = shop.journal.count()
        with pytest.raises(ValueError, match="'colour' is not part of its payload"):
            shop.event(ev.LABEL_REPRINTED, "J000001", None, None, {"reason": "lost", "colour": "red"})
        assert shop.journal.count() == before
    finally:
        shop.close()
