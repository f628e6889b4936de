"""The KPI day counters' times add up to the same value in any order (benches fold in different orders),
and a site whose counters were summed before that gets them derived again when opened."""

from __future__ import annotations

import random
import sqlite3

from floorkiosk.domain import kpi as k
from floorkiosk.workshop import verbs
from floorkiosk.workshop.site import open_shop


def test_a_days_times_sum_to_the_same_bits_in_any_order():
    rnd = random.Random(7)
    terms = [rnd.randrange(1, 10**9) / 1000 for _ in range(500)]  # seconds, to the millisecond
    sums = set()
    for _ in range(5):
        rnd.shuffle(terms)
        t = k.Tally()
        for v in terms:
            t.add(("2026-12-01", "casting", "custom-ring", "ana"), k.LEAD_S, v)
        sums.add(t.rows[("2026-12-01", "casting", "custom-ring", "ana")][k.LEAD_S])
    assert len(sums) == 1
    # added as they come, floats would differ in the last bits from one order to the next
    plain = {sum(rnd.sample(terms, len(terms))) for _ in range(5)}
    assert len(plain) > 1


def test_counters_summed_before_are_derived_again_when_the_site_is_opened(shop, clock):
    j = verbs.create_job(shop, route="custom-ring", design="Solitaire", alloy="18KY", due="2026-12-24")
    verbs.start(shop, j, "dev", "design", "consultation")
    clock.advance(seconds=1234.5678)
    verbs.finish(shop, j, "dev", "design", "consultation", checklist=shop.site.stages["consultation"].checklist)
    before = shop.journal.table_digests()
    site = shop.dir
    shop.close()
    db = sqlite3.connect(site / "journal.db")
    with db:
        db.execute("UPDATE kpi_stage_daily SET lead_s = lead_s + 1e-9")  # the last bits of an older sum
        db.execute("DELETE FROM migrations WHERE name = 'kpi_006_ms_sums'")
    db.close()
    again = open_shop(site)
    try:
        assert again.journal.table_digests() == before
        (lead,) = again.journal.query("SELECT lead_s FROM kpi_stage_daily WHERE stage = 'consultation' AND done = 1")[0]
        assert lead == 1234.567  # stamped to the millisecond
    finally:
        again.close()
