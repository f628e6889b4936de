"""Labour, metal and stones per job, the cost of poor quality, the day's metal prices and quotes.

Reads what the site already keeps (the work runs folded from the journal, the metal ledger's moves
and lots, the stone parcels, the job cards) and hands it to domain/costing.py. The one thing it
records is the day's price of a metal (`floorkiosk metal price`, a ``metal.priced`` event).
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from floorkiosk.domain import costing as dc
from floorkiosk.domain import events as ev
from floorkiosk.domain import qc as dq
from floorkiosk.domain.metal import grams as ug_grams
from floorkiosk.domain.state import JobState
from floorkiosk.domain.worktime import WorkClock
from floorkiosk.domain.worktime import ts as parse_ts
from floorkiosk.errors import Refused
from floorkiosk.workshop import capacity, cards
from floorkiosk.workshop.shop import Shop

# "82.40", "82.40/g", "82.40 per gram"; any other unit is refused in words
_PRICE_RE = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)\s*(?:(?:/|per)\s*([a-z]+))?\s*$", re.I)
_PER_GRAM = frozenset({"g", "gram", "grams", "gr"})
_PER_OZT = frozenset({"oz", "ozt", "toz", "ounce", "troy"})
MAX_PER_GRAM = Decimal(1_000)  # above any precious metal's price per gram: a figure per ounce or kilo
MAX_PIECE_GRAMS = Decimal(2_000)  # a quote is for one piece
JUMP = 10  # a price this many times above or below the metal's last one is a unit mistaken (an ounce is 31.1 g)


# --- the day's metal price ----------------------------------------------------------------------
def _metals(shop: Shop) -> dict[str, str]:
    """upper-case metal -> as the alloys name it (Au, Ag, Pt)."""
    return {a.metal.upper(): a.metal for a in shop.site.alloys.values()}


def parse_per_gram(text: str, currency: str) -> Decimal:
    """A price per gram of fine metal as typed; a price per ounce, per kilo or above any metal's is refused."""
    m = _PRICE_RE.match(str(text))
    if not m:
        raise Refused(f"price {text!r} is not an amount per gram such as 82.40")
    unit = (m.group(2) or "g").lower()
    try:
        v = Decimal(dc.plain_amount(m.group(1), "price"))
    except ValueError as exc:
        raise Refused(str(exc)) from None
    except InvalidOperation:
        raise Refused(f"price {text!r} is not an amount per gram such as 82.40") from None
    if unit in _PER_OZT:
        raise Refused(f"price {text!r} is per troy ounce: give it per gram "
                      f"({v} / 31.1035 = {(v / dc.GRAMS_PER_OZT).quantize(dc.CENT)} {currency} a gram)")
    if unit not in _PER_GRAM:
        raise Refused(f"price {text!r} is per {unit!r}: give the price of one gram of fine metal, such as 82.40")
    if v <= 0:
        raise Refused(f"price {text!r} must be more than 0")
    if v > MAX_PER_GRAM:
        raise Refused(f"{v} {currency} a gram is more than any metal costs: is that a price per troy ounce "
                      f"({(v / dc.GRAMS_PER_OZT).quantize(dc.CENT)} a gram) or per kilo ({(v / 1000).quantize(dc.CENT)})?")
    if v != v.quantize(Decimal("0.0001")):
        raise Refused(f"price {text!r} has more than four decimals")
    return v


def record_price(shop: Shop, metal: str, per_gram: str, *, person_id: str, currency: str | None = None,
                 day: str | None = None, bench_id: str | None = None) -> ev.Event:
    """`floorkiosk metal price`: the day's price of a gram of fine metal, recorded as an event."""
    known = _metals(shop)
    name = known.get(str(metal).strip().upper())
    if name is None:
        raise Refused(f"unknown metal {metal!r}; the alloys of site.toml are of {', '.join(sorted(known.values()))}")
    shop.person(person_id)
    if bench_id is not None:
        shop.bench(bench_id)
    cur = shop.site.planning.currency
    if currency is not None and currency.strip().upper() != cur:
        raise Refused(f"prices are kept in {cur} (planning.toml [costs] currency), not {currency!r}: "
                      f"convert it to {cur} first")
    v = parse_per_gram(per_gram, cur)
    last = prices(shop).get(name)
    if last:
        was_day, was = last[-1]
        if v > was * JUMP or v * JUMP < was:
            raise Refused(f"{v} {cur} a gram is {'above' if v > was else 'below'} {JUMP} times the last price of {name} "
                          f"({was} on {was_day}): is it per gram of fine metal? (a troy ounce is 31.1035 g, "
                          f"{v} per ounce is {(v / dc.GRAMS_PER_OZT).quantize(dc.CENT)} a gram)")
    today = cards.site_today(shop)
    try:
        d = date.fromisoformat(day) if day else today
    except ValueError:
        raise Refused(f"date {day!r} is not a date like 2026-12-03") from None
    if d > today:
        raise Refused(f"{d} is after today ({today}): a price is recorded for a day that has come")
    return shop.journal.append(shop.event(dc.METAL_PRICED, None, person_id, bench_id,
                                          {"metal": name, "per_gram": str(v), "currency": cur, "day": d.isoformat()}))


def prices(shop: Shop) -> dict[str, list[tuple[date, Decimal]]]:
    """metal -> (day, price per gram of fine metal), by day; the latest recorded for a day stands."""
    by: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for e in shop.journal.events(types=[dc.METAL_PRICED]):
        p = e.payload
        by[p["metal"]][date.fromisoformat(p["day"])] = Decimal(p["per_gram"])
    return {k: sorted(v.items()) for k, v in by.items()}


# --- gathering a job's cost ---------------------------------------------------------------------
def _lots(shop: Shop) -> dict[str, list[tuple[date, str]]]:
    out: dict[str, list[tuple[date, str]]] = defaultdict(list)
    tz = shop.site.planning.calendar.tz
    for lot, alloy, at in shop.journal.query("SELECT lot, alloy, received_at FROM metal_lots"):
        try:
            d = dc_day(at, tz)
        except (TypeError, ValueError):
            continue
        out[alloy].append((d, lot))
    for v in out.values():
        v.sort()
    return out


def dc_day(stamp: str, tz) -> date:
    return parse_ts(stamp).astimezone(tz).date()


def _in_list(col: str, ids: list[str] | None) -> tuple[str, list[str]]:
    if ids is None:
        return "", []
    return f" AND {col} IN ({','.join('?' * len(ids))})", list(ids)


@dataclass
class _Metal:
    piece: dict[str, int]  # job -> booked weight now, micrograms
    first_day: dict[str, date]
    losses: dict[str, list[dc.Loss]]


def _metal(shop: Shop, ids: list[str] | None) -> _Metal:
    q = shop.journal.query
    where, params = _in_list("job", ids)
    piece = {j: b for j, b in q(f"SELECT job, book_ug FROM metal_pieces WHERE 1 = 1{where}", params)}
    first = {}
    for j, d in q(f"SELECT job, MIN(day) FROM metal_moves WHERE job IS NOT NULL{where} GROUP BY job", params):
        try:
            first[j] = date.fromisoformat(d)
        except (TypeError, ValueError):
            continue
    losses: dict[str, list[dc.Loss]] = defaultdict(list)
    # weighed in minus weighed out, where it left (a stage, or between benches); a move of a whole piece
    for j, stage, person, lost in q(
            "SELECT job, src_stage, src_person, SUM(book_ug - ug) FROM metal_moves WHERE kind = 'piece'"
            f" AND job IS NOT NULL{where} GROUP BY job, src_stage, src_person", params):
        if lost:
            losses[j].append(dc.Loss(stage or "between benches", person or "", ug_grams(lost)))
    # a tree's loss (metal in - pieces - sprue - buttons) shared among its pieces by their weight
    settled = {t: (b, p) for t, b, p in q("SELECT tree, SUM(book_ug), MAX(src_person) FROM metal_moves"
                                          " WHERE kind = 'settle' GROUP BY tree")}
    if settled:
        cut = q(f"SELECT job, tree, ug FROM metal_moves WHERE kind = 'cut' AND job IS NOT NULL{where}", params)
        total = dict(q("SELECT tree, SUM(ug) FROM metal_moves WHERE kind = 'cut' GROUP BY tree"))
        casting = _casting_stage(shop)
        for j, tree, u in cut:
            if tree in settled and total.get(tree):
                lost, person = settled[tree]
                losses[j].append(dc.Loss(casting, person or "", ug_grams(lost) * Decimal(u) / Decimal(total[tree])))
    return _Metal(piece, first, losses)


def _casting_stage(shop: Shop) -> str:
    from floorkiosk.workshop.metal import settings_of  # the metal area's settings, read where needed

    return settings_of(shop).casting_stage


def _work(clock: WorkClock, rates_of, now, ids: set[str] | None) -> dict[str, list[dc.Work]]:
    """Each job's runs: the first of a stage is its work, each later one rework charged to the first's person."""
    by: dict[tuple[str, str], list[tuple[str, str, float]]] = defaultdict(list)
    for r in clock.runs:
        if ids is None or r.job in ids:
            by[(r.job, r.stage)].append((r.started, r.person, r.seconds / 3600))
    for (job, stage), run in clock.open.items():
        if ids is None or job in ids:
            by[(job, stage)].append((run.started_ts, run.person, (clock.so_far(job, stage, now) or 0.0) / 3600))
    out: dict[str, list[dc.Work]] = defaultdict(list)
    for (job, stage), runs in by.items():
        runs.sort()
        first = runs[0][1]
        skill = rates_of(stage)
        for i, (_, person, hours) in enumerate(runs):
            out[job].append(dc.Work(stage, skill, person, hours, i > 0, first if i > 0 else ""))
    return out


def job_inputs(shop: Shop, job_ids: list[str] | None = None, clock: WorkClock | None = None) -> list[dc.JobInput]:
    site = shop.site
    ids = None
    if job_ids is not None:
        ids = []
        for j in job_ids:
            ids.append(shop.job(j).id)  # NotFound in words for a job that is not here
    where, params = _in_list("id", ids)
    rows = shop.journal.query(f"SELECT id, state, status FROM jobs WHERE 1 = 1{where} ORDER BY id", params)
    jobs = {jid: (JobState.from_dict(json.loads(raw)), status) for jid, raw, status in rows}
    wanted = set(jobs)
    price_of: dict[str, Decimal] = {}
    for e in shop.journal.events(types=[ev.JOB_CREATED]):
        if e.job in wanted and e.payload.get("price") not in (None, ""):
            price_of[e.job] = Decimal(e.payload["price"])
    clock = clock or capacity.work_clock(shop)
    skill_of = {s.id: s.skill for s in site.stages.values()}
    work = _work(clock, lambda st: skill_of.get(st, ""), shop.clock(), wanted if ids is not None else None)
    metal = _metal(shop, ids)
    lots = _lots(shop)
    price_tab = prices(shop)
    setting = dq.qc_config(site).stones.setting_stage or "stone-setting"
    scrap: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    w2, p2 = _in_list("job", ids)
    for j, line, setter, broken, lost in shop.journal.query(
            f"SELECT job, line, setter, broken_n, lost_n FROM stone_parcels WHERE broken_n + lost_n > 0{w2}", p2):
        scrap[j].append((line, broken + lost, setter or ""))
    today = cards.site_today(shop)
    out = []
    for jid, (job, status) in jobs.items():
        alloy = site.alloys.get(job.alloy)
        fin = alloy.fineness if alloy else Decimal(0)
        first = metal.first_day.get(jid, today)
        lot = dc.lot_for(lots.get(job.alloy, []), first)
        lot_day = next((d for d, name in lots.get(job.alloy, []) if name == lot), first)
        per, _ = dc.price_on(price_tab.get(alloy.metal, []) if alloy else [], lot_day)
        line_costs = [Decimal(s["cost"]) if s.get("cost") not in (None, "") else None for s in job.stones]
        scraps = []
        for line, n, setter in scrap.get(jid, []):
            stone = job.stones[line - 1] if 0 < line <= len(job.stones) else {}
            c = line_costs[line - 1] if 0 < line <= len(line_costs) else None
            each = c / int(stone.get("count") or 1) if c is not None else None
            scraps.append(dc.Scrap(setting, setter, n, None if each is None else each * n))
        out.append(dc.JobInput(jid, job.route, job.design, job.alloy, fin, price_of.get(jid), per, lot,
                               ug_grams(metal.piece.get(jid, 0)), work.get(jid, []), metal.losses.get(jid, []),
                               line_costs, scraps, status == "open"))
    return out


def recent_jobs(shop: Shop, days: int) -> list[str]:
    """The open jobs and those finished in the last `days` days (the site's days), by id."""
    since = (cards.site_today(shop) - timedelta(days=days)).isoformat()
    return [j for (j,) in shop.journal.query("SELECT job FROM kpi_jobs WHERE open = 1 OR completed_day >= ? ORDER BY job",
                                             (since,))]


def job_costs(shop: Shop, job_ids: list[str] | None = None, clock: WorkClock | None = None) -> list[dc.JobCost]:
    rates = shop.site.planning.rates
    return [dc.cost_job(j, rates) for j in job_inputs(shop, job_ids, clock)]


# --- quotes --------------------------------------------------------------------------------------
def quote(shop: Shop, route: str, design: str, alloy: str, grams: str | Decimal) -> tuple[dc.Quote, float]:
    """Custom work priced from history: each stage's hours (median and middle half of its recent runs)
    × the rate of its skill, the metal at today's price, and the loss past jobs of the alloy had."""
    t0 = time.perf_counter()
    site = shop.site
    r = site.routes.get(route)
    if r is None:
        raise Refused(f"unknown route {route!r}; routes: {', '.join(site.routes)}")
    a = site.alloys.get(alloy)
    if a is None:
        raise Refused(f"unknown alloy {alloy!r}; alloys: {', '.join(site.alloys)}")
    if not str(design).strip():
        raise Refused("no design: say what the piece is (Halo ring, Stacking ring …)")
    from floorkiosk.workshop.metal import _weight  # the metal area's weight checks (units, microgram, range)

    text = str(grams).strip()
    unit_m = re.match(r"^(.*?)\s*([a-z]+)$", text, re.I)
    g = _weight(unit_m.group(1), unit_m.group(2), "metal weight") if unit_m else _weight(text, "g", "metal weight")
    if g > MAX_PIECE_GRAMS:
        raise Refused(f"{g.normalize():f} g is more than a piece of jewelry weighs ({MAX_PIECE_GRAMS} g): is the unit right?")
    g = Decimal(format(g.normalize(), "f"))
    std = capacity.standards(shop)
    rates = site.planning.rates
    stages = []
    missing = []
    for sid in r.stage_ids:
        st = site.stages[sid]
        s = std.of(sid, route, design)
        rate = rates.get(st.skill)
        if rate is None and f"no labour rate for skill {st.skill!r}" not in missing:
            missing.append(f"no labour rate for skill {st.skill!r}")
        stages.append(dc.QuoteStage(sid, st.skill, s.hours, s.low, s.high, s.runs, s.basis,
                                    None if rate is None else Decimal(str(rate))))
    per, _ = dc.price_on(prices(shop).get(a.metal, []), cards.site_today(shop))
    if per is None:
        missing.append(f"no price for {a.metal} (floorkiosk metal price)")
    loss, basis = _loss_history(shop, route, alloy)
    return dc.Quote(route, design, alloy, g, a.fineness, per, stages, loss, basis, missing), time.perf_counter() - t0


def _loss_history(shop: Shop, route: str, alloy: str) -> tuple[dc.Spread | None, str]:
    """Loss in % of the metal put in, per delivered job of this alloy on this route (else any route)."""
    q = shop.journal.query
    rows = q("SELECT p.job, p.route, p.book_ug, COALESCE(SUM(CASE WHEN m.kind = 'piece' THEN m.book_ug - m.ug END), 0)"
             " FROM metal_pieces p LEFT JOIN metal_moves m ON m.job = p.job"
             " WHERE p.alloy = ? AND p.acct = 'delivered' GROUP BY p.job", (alloy,))
    tree_loss = {}
    settled = dict(q("SELECT tree, SUM(book_ug) FROM metal_moves WHERE kind = 'settle' GROUP BY tree"))
    if settled:
        total = dict(q("SELECT tree, SUM(ug) FROM metal_moves WHERE kind = 'cut' GROUP BY tree"))
        for j, tree, u in q("SELECT job, tree, ug FROM metal_moves WHERE kind = 'cut' AND job IS NOT NULL"):
            if tree in settled and total.get(tree):
                tree_loss[j] = tree_loss.get(j, 0) + settled[tree] * u / total[tree]
    by_route, any_route = [], []
    for job, rt, book, lost in rows:
        lost = lost + tree_loss.get(job, 0)
        put_in = book + lost
        if put_in <= 0:
            continue
        pct = 100 * lost / put_in
        any_route.append(pct)
        if rt == route:
            by_route.append(pct)
    if len(by_route) >= 3:
        return dc.spread(by_route), f"{alloy} on {route}"
    if any_route:
        return dc.spread(any_route), f"{alloy} on any route"
    return None, "no delivered job of the alloy yet"


