"""Web sub-commands: web (serve the board), web user add|remove|list, web wall; and job link (the client's link)."""

from __future__ import annotations

import argparse
import getpass
import sys

from floorkiosk.cli.core import open_site, site_dir
from floorkiosk.errors import FloorkioskError

ROLES = ("manager", "supervisor", "sales")  # web/views.py ROLES: what each may open


def register(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("web", help="the manager's web board: live board, jobs, KPIs, schedule, drift, metal",
                       description="Serve the site's web board (read-only: nothing changes the shop from the web). "
                                   "People sign in with a name and password set by `web user add`.")
    w.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1; 0.0.0.0: all)")
    w.add_argument("--port", type=int, default=8080, help="the port (default: 8080)")
    w.add_argument("--https", action="store_true",
                   help="people reach it over HTTPS (a proxy in front of it): its cookies go over HTTPS only")
    w.set_defaults(func=cmd_web)
    ws = w.add_subparsers(dest="web_cmd", metavar="ACTION")
    u = ws.add_parser("user", help="who may sign in to the web board").add_subparsers(dest="user_cmd", metavar="ACTION")
    p = u.add_parser("add", help="add a web user (or set a new password and role); asks for the password")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES, help="what the pages show them")
    p.add_argument("--person", help="the person of people.toml the user is, if any")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=cmd_user_add)
    p = u.add_parser("remove", help="remove a web user")
    p.add_argument("name")
    p.set_defaults(func=cmd_user_remove)
    p = u.add_parser("list", help="the web users and their roles")
    p.set_defaults(func=cmd_user_list)
    p = ws.add_parser("wall", help="print a new link for a wall screen (no sign-in); --revoke: withdraw them all")
    p.add_argument("--revoke", action="store_true")
    p.add_argument("--base-url", dest="wall_base", help="the address people open (default: http://127.0.0.1:8080)")
    p.set_defaults(func=cmd_wall)
    # `job link` joins the job commands that core registered before this module
    job = next(a for a in sub.choices["job"]._actions if isinstance(a, argparse._SubParsersAction))
    register_job(job)


def register_job(job: argparse._SubParsersAction) -> None:
    p = job.add_parser("link", help="print a private link that shows one job to its client; --revoke withdraws",
                       description="Print a link that shows the client one job: the stage it is at, the expected "
                                   "date and the photos a supervisor marked for them (--photo), nothing else. "
                                   "--revoke withdraws every link of the job.")
    p.add_argument("job")
    p.add_argument("--person", help="who makes or withdraws the link, or marks a photo (a supervisor)")
    p.add_argument("--revoke", action="store_true", help="withdraw every link of the job")
    p.add_argument("--days", type=int, default=180, help="the link opens for this many days (default: 180)")
    p.add_argument("--photo", metavar="SHA", help="show this photo of the job on the link (its hash, or its first digits)")
    p.add_argument("--hide", action="store_true", help="with --photo: stop showing it")
    p.add_argument("--base-url", default="http://127.0.0.1:8080", help="the web board's address (default: %(default)s)")
    p.set_defaults(func=cmd_job_link)


def _users(args: argparse.Namespace):
    from floorkiosk.web.people import Users  # when the command runs: start-up cost

    d = site_dir(args)
    if not (d / "config").is_dir():
        raise FloorkioskError(f"no site at {d}")
    return Users(d)


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn  # when the command runs: start-up cost

    from floorkiosk.web.app import make_app  # when the command runs: start-up cost

    if not 0 < args.port < 65536:
        raise FloorkioskError(f"--port {args.port}: a port is 1 to 65535")
    users = _users(args)
    shop = open_site(args)
    try:
        if not users.list():
            print("note: no web users yet; add one with `floorkiosk web user add NAME --role manager`", file=sys.stderr)
        print(f"web board on http://{args.host}:{args.port}/ (Ctrl+C stops it)", flush=True)
        uvicorn.run(make_app(shop, users=users, secure_cookies=args.https), host=args.host, port=args.port, log_level="warning")
    finally:
        shop.close()
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    users = _users(args)
    if args.person:
        shop = open_site(args)
        try:
            shop.person(args.person)
        finally:
            shop.close()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise FloorkioskError("the two passwords differ; nothing was changed")
    u = users.add(args.name, args.role, password, args.person)
    print(f"web user {u.name}: {u.role}" + (f" ({u.person})" if u.person else ""))
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    _users(args).remove(args.name)
    print(f"web user {args.name} removed (a session already open ends when it expires or the server restarts)")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    found = _users(args).list()
    if not found:
        print("no web users (floorkiosk web user add NAME --role manager)")
    for u in found:
        print(f"{u.name:20} {u.role:10} {u.person or ''}")
    return 0


def cmd_wall(args: argparse.Namespace) -> int:
    users = _users(args)
    if args.revoke:
        n = users.revoke_walls()
        print(f"{n} wall link{'s' if n != 1 else ''} withdrawn")
        return 0
    base = (args.wall_base or "http://127.0.0.1:8080").rstrip("/")
    print(f"{base}/wall/{users.new_wall()}")
    return 0


def cmd_job_link(args: argparse.Namespace) -> int:
    from urllib.parse import quote

    from floorkiosk.workshop import clientlinks  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        if args.photo:
            sha = clientlinks.mark_photo(shop, args.job, args.photo, args.person, shown=not args.hide)
            job = shop.job(args.job).id
            print(f"{job}: photo {sha[:12]}… {'no longer shown' if args.hide else 'shown'} on the client's link")
            return 0
        if args.hide:
            raise FloorkioskError("--hide goes with --photo SHA")
        if args.revoke:
            n = clientlinks.revoke_links(shop, args.job, args.person)
            print(f"{shop.job(args.job).id}: {n} link{'s' if n != 1 else ''} withdrawn")
            return 0
        token, expires = clientlinks.make_link(shop, args.job, args.person, days=args.days)
        job = shop.job(args.job).id
        print(f"{args.base_url.rstrip('/')}/c/{quote(job)}/{token}")
        print(f"opens until {expires}; only the link shows the token (it is not kept): send it to the client now",
              file=sys.stderr)
        return 0
    finally:
        shop.close()
