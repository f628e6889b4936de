"""Kiosk sub-command: `floorkiosk kiosk --bench NAME` runs the bench kiosk full screen."""

from __future__ import annotations

import argparse

from floorkiosk.cli.core import site_dir  # when the command runs: start-up cost


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kiosk", help="run the full-screen kiosk of one bench")
    p.add_argument("--bench", required=True, help="the bench's id in site.toml (e.g. setting, polishing, qc)")
    p.add_argument("--demo", action="store_true", help="demo extras: codes to paste, simulated weights")
    p.set_defaults(func=cmd_kiosk)


def cmd_kiosk(args: argparse.Namespace) -> int:
    from floorkiosk.kiosk.app import run_kiosk  # when the command runs: start-up cost
    from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

    d = site_dir(args)
    shop = open_shop(d)  # a missing site or an unknown bench is said plainly, before the screen takes over
    try:
        shop.bench(args.bench)
    finally:
        shop.close()
    return run_kiosk(d, args.bench, demo=args.demo)
