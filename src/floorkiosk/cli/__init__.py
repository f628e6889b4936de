"""The `floorkiosk` command. Each area adds its sub-commands from its own module in this package."""

from __future__ import annotations

import argparse
import os
import sys

from floorkiosk.cli import (batch, bench, core, cost, devices, hub, kiosk, labels, metal, plan, qc, report, spc,
                            standards, tooling, web)
from floorkiosk.errors import ConfigError, FloorkioskError

# Each module defines register(subparsers) and sets `func` on its parsers; func(args) -> int exit code.
# They import what a command needs when it runs (the workshop, devices, labels, the kiosk): building
# the parser must stay cheap, so `floorkiosk --help` or `check` does not load every area.
AREAS = (core, batch, kiosk, bench, devices, labels, qc, spc, tooling, metal, report, hub, plan, standards, cost, web)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="floorkiosk", description="The shop-floor system for jewelry workshops.")
    parser.add_argument("--site", help="the site's data folder (default: $FLOORKIOSK_SITE, else ./site)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for area in AREAS:
        area.register(sub)
    return parser


def _not_utf8(argv: list[str]) -> str | None:
    """The first argument that is not UTF-8 text, said as its bytes; None if all are.

    Python hands bytes that are not UTF-8 over as lone surrogates (PEP 383); nothing below the CLI can
    store, look up or print them, so they are refused here, before any command runs.
    """
    for i, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raw = arg.encode("utf-8", "surrogateescape") if isinstance(arg, str) else arg
            return f"argument {i} ({raw!r}) is not valid UTF-8 text: type it again or check the terminal's encoding"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    bad = _not_utf8(argv)
    if bad is not None:
        parser.error(bad)  # argparse's usage error: usage, the message, exit 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("floorkiosk: the site config has errors; nothing was started", file=sys.stderr)
        return 2
    except FloorkioskError as exc:
        print(f"floorkiosk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`floorkiosk metal balance | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
