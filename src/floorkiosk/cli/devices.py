"""`floorkiosk scale …`, `floorkiosk sim scale` and `floorkiosk decode`: bench devices from a terminal."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from decimal import Decimal

from floorkiosk.errors import FloorkioskError  # when the command runs: start-up cost


def register(sub: argparse._SubParsersAction) -> None:
    scale = sub.add_parser("scale", help="talk to a serial lab scale")
    ssub = scale.add_subparsers(dest="scale_command", metavar="ACTION")

    read = ssub.add_parser("read", help="print the scale's readings (Ctrl-C stops)")
    read.add_argument("url", help="port: /dev/ttyUSB0, /dev/serial/by-id/…, socket://host:port")
    read.add_argument("--profile", required=True, help="scale profile (see `floorkiosk scale profiles`)")
    read.add_argument("--stable", action="store_true", help="print only stable readings, once each")
    read.add_argument("--count", type=int, default=0, help="stop after this many lines (0 = never)")
    read.add_argument("--interval", type=float, default=0.1, help="seconds between polls (poll mode)")
    read.add_argument("--readability", help="smallest step in grams (default: the profile's)")
    read.add_argument("--unit", help="the unit the balance is set to (g, dwt, ct …): what a line without one is in")
    read.set_defaults(func=_scale_read)

    pr = ssub.add_parser("probe", help="find which profile and serial settings a scale answers to")
    pr.add_argument("url")
    pr.add_argument("--profile", action="append", help="only try this profile (repeatable)")
    pr.add_argument("--all", action="store_true", help="keep trying after the first answer")
    pr.add_argument("--timeout", type=float, default=0.4, help="seconds to wait for each answer")
    pr.set_defaults(func=_scale_probe)

    lp = ssub.add_parser("profiles", help="list the scale profiles")
    lp.set_defaults(func=_scale_profiles)
    scale.set_defaults(func=lambda a: (scale.print_help(), 2)[1])

    sim = sub.add_parser("sim", help="simulated devices")
    simsub = sim.add_subparsers(dest="sim_command", metavar="DEVICE")
    ss = simsub.add_parser("scale", help="serve a simulated balance on a pty and print its path")
    ss.add_argument("--profile", required=True)
    ss.add_argument("--link", help="where to put the port's name (default: a temp folder)")
    ss.add_argument("--weight", default="0", help="grams on the pan at start")
    ss.set_defaults(func=_sim_scale)
    sim.set_defaults(func=lambda a: (sim.print_help(), 2)[1])

    dec = sub.add_parser("decode", help="print the QR / Code 128 codes in image files")
    dec.add_argument("images", nargs="+")
    dec.add_argument("--backend", default="zxing", choices=("zxing", "pyzbar"))
    dec.set_defaults(func=_decode)


def _describe(event: object) -> str:
    from floorkiosk.devices.scales import Reading  # when the command runs: start-up cost

    if isinstance(event, Reading):
        state = "stable" if event.stable else "moving"
        net = {True: " net", False: " gross", None: ""}[event.net]
        return f"{event.value} {event.unit}  ({event.grams} g) {state}{net}"
    return f"[{event.kind.value}] {event.message}"


def _scale_read(args: argparse.Namespace) -> int:
    from floorkiosk.devices.scales import Reading, ScaleMonitor  # when the command runs: start-up cost

    done = threading.Event()
    printed = 0
    lock = threading.Lock()

    def show(event: object) -> None:
        nonlocal printed
        with lock:
            if done.is_set():
                return
            print(_describe(event), flush=True)
            printed += 1
            if args.count and printed >= args.count:
                done.set()

    def on_event(event: object) -> None:
        if not args.stable or not isinstance(event, Reading):
            show(event)

    monitor = ScaleMonitor(
        args.url,
        args.profile,
        on_event,
        interval=args.interval,
        readability=Decimal(args.readability) if args.readability else None,
        on_stable=show if args.stable else None,
        unit=args.unit,
    )
    monitor.start()
    try:
        while not done.wait(0.2):
            pass
    finally:
        monitor.stop()
    return 0


def _scale_probe(args: argparse.Namespace) -> int:
    from floorkiosk.devices.scaleparse import show  # when the command runs: start-up cost
    from floorkiosk.devices.scales import ScaleError, probe  # when the command runs: start-up cost

    print(f"probing {args.url} …", flush=True)
    heard: list = []
    try:
        results = probe(args.url, profiles=args.profile, timeout=args.timeout, first_only=not args.all, heard=heard)
    except ScaleError as exc:
        print(exc)
        return 1
    if not results and heard:
        print("bytes arrived, but no profile reads them as a balance's line:")
        for settings, raw in heard[:3]:
            print(f"  at {settings.describe()}: '{show(raw, 32)}' ({len(raw)} bytes)")
        if len(heard) > 3:
            print(f"  … and at {len(heard) - 3} more settings")
        print("a wrong baud rate or parity, noise on the line, or another device on this port: "
              "check the scale's interface menu and the cable")
        return 1
    if not results:
        print("nothing answered: check the cable, that the scale is on, and its interface menu")
        return 1
    for r in results:
        tag = "answers" if r.weighs else "something replied"
        print(f"{tag}: profile {r.profile} at {r.settings.describe()}: {_describe(r.event)}")
    return 0 if results[0].weighs else 1


def _scale_profiles(args: argparse.Namespace) -> int:
    from floorkiosk.devices.profiles import list_profiles, load_profile  # when the command runs: start-up cost

    for name in list_profiles():
        p = load_profile(name)
        print(f"{name:26} {p.mode:10} {p.serial.describe():10} {p.title}")
    return 0


SIM_HELP = """commands: put GRAMS | settle | wobble | unit U | overload | underload | error | busy |
          silent | garbage | normal | unplug | replug | quit"""


def _sim_scale(args: argparse.Namespace) -> int:
    from floorkiosk.devices.sim import ScaleSimulator  # when the command runs: start-up cost

    sim = ScaleSimulator(args.profile, link=args.link)
    path = sim.start()
    sim.put(args.weight)
    sim.settle()
    print(path, flush=True)
    print(f"# {sim.profile.title} on {sim.device}; {SIM_HELP}", file=sys.stderr, flush=True)
    try:
        if not sys.stdin or not sys.stdin.readable() or sys.stdin.closed:
            while True:
                time.sleep(3600)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            cmd, rest = words[0].lower(), words[1:]
            try:
                if cmd in ("quit", "exit"):
                    break
                if cmd == "put" and rest:
                    sim.put(rest[0])
                elif cmd == "unit" and rest:
                    sim.set_unit(rest[0])
                elif cmd in ("settle", "wobble", "overload", "underload", "error", "busy", "silent",
                             "garbage", "normal", "unplug", "replug"):
                    getattr(sim, cmd)()
                else:
                    print(SIM_HELP, file=sys.stderr)
            except FloorkioskError as exc:
                print(f"sim: {exc}", file=sys.stderr)
        else:
            # stdin closed (started in the background): keep serving until interrupted
            while True:
                time.sleep(3600)
    finally:
        sim.stop()
    return 0


def _decode(args: argparse.Namespace) -> int:
    from floorkiosk.devices.camera import decode_image  # when the command runs: start-up cost

    found_any = False
    for path in args.images:
        try:
            codes = decode_image(path, backend=args.backend)
        except FloorkioskError as exc:
            print(exc)  # the message names the file
            continue
        if not codes:
            print(f"{path}: nothing found")
        for c in codes:
            found_any = True
            print(f"{path}: {c.format}: {c.text}")
    return 0 if found_any else 1
