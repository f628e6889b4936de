"""Hub sub-commands: hub init, sync status|conflicts|resolve|run. Addresses are always shown masked."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from floorkiosk.cli.core import site_dir  # when the command runs: start-up cost
from floorkiosk.errors import FloorkioskError


def register(sub: argparse._SubParsersAction) -> None:
    h = sub.add_parser("hub", help="the PostgreSQL hub shared by many benches").add_subparsers(dest="hub_cmd", metavar="ACTION")
    p = h.add_parser("init", help="create the hub's schema and one role per bench (least rights)")
    p.add_argument("--admin", help="an address with the right to create schemas and roles (default: "
                                   "$FLOORKIOSK_HUB_ADMIN, else the site's hub address)")
    p.add_argument("--credentials", help="folder for each bench's account file (default: SITE/hub-credentials)")
    p.add_argument("--bench", action="append", help="only this bench (repeatable; default: every bench)")
    p.set_defaults(func=cmd_hub_init)
    p = h.add_parser("add-origin", help="register a kiosk's origin to a bench's role (a bench cannot register one)")
    p.add_argument("origin", help="the kiosk's origin (from its node.toml; `sync status` shows it)")
    p.add_argument("--bench", required=True, help="the bench whose role the kiosk writes as")
    p.add_argument("--admin", help="an address with the rights of the hub's owner (default: $FLOORKIOSK_HUB_ADMIN, "
                                   "else the site's hub address)")
    p.set_defaults(func=cmd_hub_add_origin)

    s = sub.add_parser("sync", help="this kiosk's sync with the hub").add_subparsers(dest="sync_cmd", metavar="ACTION")
    p = s.add_parser("status", help="online or offline, events queued here, and every bench's lag on the hub")
    p.set_defaults(func=cmd_sync_status)
    p = s.add_parser("conflicts", help="events the guardrails refuse in the hub's order, for a supervisor")
    p.add_argument("--all", action="store_true", help="include the ones already decided")
    p.add_argument("--job", help="only this job")
    p.set_defaults(func=cmd_sync_conflicts)
    p = s.add_parser("resolve", help="a supervisor accepts or dismisses a conflicting event")
    p.add_argument("event", help="the event id (or its first characters) from `sync conflicts`")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--accept", action="store_true", help="apply it after all, where this decision stands")
    g.add_argument("--dismiss", action="store_true", help="leave it out of the job's state (it stays in the journal)")
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", required=True,
                   help="the supervisor's person id (--by says the same)")
    p.add_argument("--bench", help="the bench the supervisor is at")
    p.add_argument("--pin", help="the supervisor's PIN, when the site asks for one")
    p.add_argument("--note", default="", help="why")
    p.set_defaults(func=cmd_sync_resolve)
    p = s.add_parser("recover", help="bring this kiosk's own events back from the hub (a journal restored from a "
                                     "backup, or cut short), checked by hash and chain")
    p.set_defaults(func=cmd_sync_recover)
    p = s.add_parser("compare", help="every derived table here beside a fresh replay of the hub's journal "
                                     "(a digest per table)")
    p.set_defaults(func=cmd_sync_compare)
    p = s.add_parser("run", help="sync in the foreground (a kiosk without the screen, or a one-off catch-up)")
    p.add_argument("--once", action="store_true", help="one round, then exit (non-zero when the hub is unreachable)")
    p.add_argument("--bench", help="the bench this kiosk is at (shown in the lag table)")
    p.set_defaults(func=cmd_sync_run)


def _open(args: argparse.Namespace):
    from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

    shop = open_shop(site_dir(args))
    if not shop.site.settings.hub:
        shop.close()
        raise FloorkioskError("this site has no hub: set hub = \"postgresql://…\" in [site] of site.toml")
    return shop


def cmd_hub_init(args: argparse.Namespace) -> int:
    from floorkiosk.domain.config import load_site  # when the command runs: start-up cost
    from floorkiosk.store import hub  # when the command runs: start-up cost

    d = site_dir(args)
    site = load_site(d / "config")
    dsn = args.admin or os.environ.get("FLOORKIOSK_HUB_ADMIN") or site.settings.hub
    if not dsn:
        raise FloorkioskError("no hub address: set hub in site.toml or pass --admin")
    benches = args.bench or list(site.benches)
    unknown = [b for b in benches if b not in site.benches]
    if unknown:
        raise FloorkioskError(f"no bench {', '.join(unknown)} in site.toml; benches: {', '.join(site.benches)}")
    creds = Path(args.credentials) if args.credentials else d / "hub-credentials"
    admin = hub.HubAddress(dsn)
    result = hub.init_hub(admin, benches, creds)
    print(f"hub ready at {admin}: schema {result.schema}")
    for bench, role in result.roles.items():
        print(f"  bench {bench}: role {role}, account in {result.credential_files[bench]}")
    print(f"copy each bench's file to its kiosk's site folder as {hub.CREDENTIALS_FILE} (the files hold passwords: "
          "keep them private), and register each kiosk's origin: floorkiosk hub add-origin ORIGIN --bench BENCH")
    return 0


def cmd_hub_add_origin(args: argparse.Namespace) -> int:
    from floorkiosk.domain.config import load_site  # when the command runs: start-up cost
    from floorkiosk.store import hub  # when the command runs: start-up cost

    site = load_site(site_dir(args) / "config")
    dsn = args.admin or os.environ.get("FLOORKIOSK_HUB_ADMIN") or site.settings.hub
    if not dsn:
        raise FloorkioskError("no hub address: set hub in site.toml or pass --admin")
    if args.bench not in site.benches:
        raise FloorkioskError(f"no bench {args.bench} in site.toml; benches: {', '.join(site.benches)}")
    admin = hub.HubAddress(dsn)
    role = hub.register_origin(admin, args.origin, args.bench)
    print(f"origin {args.origin} writes as bench {args.bench} (role {role}) on the hub at {admin}")
    return 0


def cmd_sync_status(args: argparse.Namespace) -> int:
    import psycopg

    from floorkiosk.workshop import sync  # when the command runs: start-up cost
    from floorkiosk.store import hub  # when the command runs: start-up cost

    shop = _open(args)
    try:
        address = hub.address_for(shop.site.settings.hub, shop.dir)
        queued = shop.journal.pending_count()
        n_conflicts = len(sync.conflicts(shop))
        try:
            conn = hub.connect(address, origin=shop.journal.origin, timeout=3)
        except hub.HubError as exc:
            print(f"this kiosk ({shop.journal.origin}): offline, {queued} queued; {exc}")
            return 1
        try:
            try:
                sync.check_own_history(shop.journal, conn, shop.journal.origin)
            except hub.Forked as exc:
                print(f"this kiosk ({shop.journal.origin}): sync stopped, {queued} queued: {exc}")
                return 1
            total, lags = hub.lag(conn)
        except psycopg.Error as exc:
            print(f"this kiosk ({shop.journal.origin}): online, {queued} queued; the hub answered: "
                  f"{address.scrub(str(exc).strip())}")
            return 1
        finally:
            conn.close()
        print(f"this kiosk ({shop.journal.origin}): online, {queued} queued, {n_conflicts} open conflicts; hub {address}")
        print(f"hub: {total} events")
        print(f"  {'bench':12} {'origin':24} {'behind':>7} {'queued':>7} {'on hub':>7}  last sync")
        for b in lags:
            seen = "never" if b.seen_ago_s is None else f"{b.seen_ago_s:.0f} s ago"
            print(f"  {b.bench or '-':12} {b.origin:24} {b.behind:>7} {b.queued:>7} {b.pushed:>7}  {seen}")
        return 0
    finally:
        shop.close()


def cmd_sync_conflicts(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import sync  # when the command runs: start-up cost

    shop = _open(args)
    try:
        rows = sync.conflicts(shop, status=None if args.all else "open", job=args.job)
        if not rows:
            print("no open conflicts" if not args.all else "no conflicts")
            return 0
        for c in rows:
            who = shop.name(c.person) or c.person or "-"
            bench = shop.site.benches.get(c.bench or "")
            print(f"{c.event_id[:12]}  {c.ts}  {c.job}  {c.type} {c.stage or ''}  by {who}"
                  f"{' at ' + bench.name if bench else ''} (kiosk {c.origin})  [{c.status}]")
            for r in c.reasons:
                print(f"    - {r}")
            if c.status != "open":
                print(f"    {c.status} by {shop.name(c.resolved_by)} at {c.resolved_at}" + (f": {c.note}" if c.note else ""))
        return 0
    finally:
        shop.close()


def cmd_sync_resolve(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import sync  # when the command runs: start-up cost

    shop = _open(args)
    try:
        matches = [c for c in sync.conflicts(shop, status=None) if c.event_id.startswith(args.event)]
        if not matches:
            raise FloorkioskError(f"no conflict whose event id starts with {args.event!r}; see `floorkiosk sync conflicts`")
        if len(matches) > 1:
            raise FloorkioskError(f"{args.event!r} matches {len(matches)} conflicts; give more of the event id")
        decision = "accept" if args.accept else "dismiss"
        sync.resolve_conflict(shop, matches[0].event_id, decision, args.by, args.bench, args.note, args.pin)
        print(f"{decision}ed: {matches[0].type} on {matches[0].job}; it reaches the other benches at the next sync")
        return 0
    finally:
        shop.close()


def cmd_sync_compare(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import sync  # when the command runs: start-up cost

    shop = _open(args)
    try:
        c = sync.compare_with_hub(shop)  # a hub that cannot be reached or read: a HubError, said plainly
        for table, mine, theirs in c.tables:
            mark = "same" if mine == theirs else "DIFFERS"
            print(f"{table:<18} here {mine[:16]}  replay {theirs[:16]}  {mark}")
        if not c.comparable:
            print(f"not comparable yet: this bench holds {c.here} events ({c.pending} not yet sent), the hub "
                  f"{c.events}; sync first (`floorkiosk sync run --once`)", file=sys.stderr)
            return 1
        if c.differing:
            print(f"DERIVED: {len(c.differing)} of {len(c.tables)} tables differ from a fresh replay of the hub's "
                  f"{c.events} events: {', '.join(c.differing)}; `floorkiosk db rebuild` derives them again",
                  file=sys.stderr)
            return 1
        print(f"derived tables ok: {len(c.tables)} tables, each as a fresh replay of the hub's {c.events} events gives it")
        return 0
    finally:
        shop.close()


def cmd_sync_recover(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import sync  # when the command runs: start-up cost

    shop = _open(args)
    try:
        r = sync.recover(shop)
        if not r.recovered:
            print(f"nothing to recover: this journal holds every event of this kiosk the hub has (up to #{r.hub_head})")
            return 0
        print(f"brought back {r.recovered} events of this kiosk from the hub (up to #{r.hub_head}), each checked by "
              "its hash and the chain")
        if r.moved:
            print(f"{r.moved} events recorded here since were chained after them, to be sent at the next sync")
        print(f"the journal as it was is kept in {r.kept}")
        return 0
    finally:
        shop.close()


def cmd_sync_run(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import sync  # when the command runs: start-up cost
    from floorkiosk.store.hub import HubError  # when the command runs: start-up cost

    shop = _open(args)
    try:
        if args.once:
            s = sync.Syncer(shop, args.bench)
            try:
                r = s.sync_once()
            except HubError as exc:
                print(f"offline, {shop.journal.pending_count()} queued: {exc}", file=sys.stderr)
                return 1
            except Exception as exc:  # psycopg errors: shown masked
                print(f"offline, {shop.journal.pending_count()} queued: {s.address.scrub(str(exc).strip())}",
                      file=sys.stderr)
                return 1
            finally:
                s.close()
            print(f"pushed {r.pushed}, pulled {r.pulled}, acknowledged {r.acked}, photos up {r.photos_up}"
                  f" down {r.photos_down}; {shop.journal.pending_count()} queued")
            return 0
        w = sync.start_background_sync(shop, args.bench)
        last = ""
        try:
            while True:
                st = sync.status(shop)
                line = str(st) + (f" ({st.last_error})" if st.last_error and not st.online else "")
                if line != last:
                    print(line, flush=True)
                    last = line
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            w.stop()
        return 0
    finally:
        shop.close()
