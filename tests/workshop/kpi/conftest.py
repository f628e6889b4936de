"""A small repair workshop (tests/workshop/kpi/site3) and a hand-timed week of five jobs for the KPI tests.

Mon 16 Nov 09:00  J1..J4 created (J1 due Fri 20, J2 due Thu 19, J3 express due Wed 18, J4 due Wed 18)
  10:00 Ben starts setting J1 and J2; 11:00 finishes J2; 11:30 Eva rejects J2's setting (redo)
  12:00 Ben finishes J1; 13:00 Eva verifies it; 14:00-16:00 Chloé polishes J1
Tue 17  09:00-10:00 Ben sets J2 again; 10:30 Eva verifies it; 10:00-11:00 Dev delivers J1
  11:00-12:00 Chloé polishes J2; 14:00-15:00 Chloé polishes J3; 16:00 the client delays J3 to the 28th
Wed 18  09:00 Sofia starts setting J4 (still at it); 10:00-10:30 Dev delivers J3
Thu 19  09:00 J5 created, due Sat 21 (waits for setting)
Fri 20  09:00-09:30 Dev delivers J2 (a day late); now is Fri 20 12:00
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from handclock import HandClock  # tests/ is on the path (pytest rootdir)

from floorkiosk.workshop import verbs
from floorkiosk.workshop import kpi

SITE3 = Path(__file__).resolve().parent / "site3"


def Clock() -> HandClock:
    """The tests' one clock, on the Monday the small KPI workshop's history starts."""
    return HandClock(datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def small(tmp_path):
    from floorkiosk.workshop.site import init_site, open_shop

    clock = Clock()
    init_site(tmp_path / "site", SITE3, origin="kpi-test")
    shop = open_shop(tmp_path / "site", clock=clock)
    shop.test_clock = clock
    yield shop
    shop.close()


def week_of_five(shop) -> dict[str, str]:
    c = shop.test_clock
    c.at(16, 9)
    j1, j2, j3, j4 = verbs.create_jobs(shop, [
        dict(route="simple", design="Ring resize", alloy="18KY", due="2026-11-20"),
        dict(route="simple", design="Stone reset", alloy="18KY", due="2026-11-19"),
        dict(route="express", design="Chain polish", alloy="925", due="2026-11-18"),
        dict(route="simple", design="Eternity band", alloy="18KY", due="2026-11-18"),
    ])
    c.at(16, 10)
    verbs.start(shop, j1, "ben", "setting")
    verbs.start(shop, j2, "ben", "setting")
    c.at(16, 11)
    verbs.finish(shop, j2, "ben", "setting")
    c.at(16, 11, 30)
    verbs.reject(shop, j2, "eva", "qc", "setting", defect="LOOSE-STONE", reason="a stone moves")
    c.at(16, 12)
    verbs.finish(shop, j1, "ben", "setting")
    c.at(16, 13)
    verbs.verify(shop, j1, "eva", "qc", "setting", pin=shop.person("eva").pin)
    c.at(16, 14)
    verbs.start(shop, j1, "chloe", "polishing")
    c.at(16, 16)
    verbs.finish(shop, j1, "chloe", "polishing")
    c.at(17, 9)
    verbs.start(shop, j2, "ben", "setting")
    c.at(17, 10)
    verbs.start(shop, j1, "dev", "dispatch")
    verbs.finish(shop, j2, "ben", "setting")
    c.at(17, 10, 30)
    verbs.verify(shop, j2, "eva", "qc", "setting", pin=shop.person("eva").pin)
    c.at(17, 11)
    verbs.finish(shop, j1, "dev", "dispatch")
    verbs.start(shop, j2, "chloe", "polishing")
    c.at(17, 12)
    verbs.finish(shop, j2, "chloe", "polishing")
    c.at(17, 14)
    verbs.start(shop, j3, "chloe", "polishing")
    c.at(17, 15)
    verbs.finish(shop, j3, "chloe", "polishing")
    c.at(17, 16)
    kpi.delay_job(shop, j3, by="client", new_due="2026-11-28", reason="away until the 27th", person_id="eva")
    c.at(18, 9)
    verbs.start(shop, j4, "sofia", "setting")
    c.at(18, 10)
    verbs.start(shop, j3, "dev", "dispatch")
    c.at(18, 10, 30)
    verbs.finish(shop, j3, "dev", "dispatch")
    c.at(19, 9)
    (j5,) = verbs.create_jobs(shop, [dict(route="simple", design="Pendant bail", alloy="925", due="2026-11-21")])
    c.at(20, 9)
    verbs.start(shop, j2, "dev", "dispatch")
    c.at(20, 9, 30)
    verbs.finish(shop, j2, "dev", "dispatch")
    c.at(20, 12)
    return {"J1": j1, "J2": j2, "J3": j3, "J4": j4, "J5": j5}
