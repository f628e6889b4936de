"""`floorkiosk bench install NAME`: the systemd unit that makes a bench machine boot into its kiosk.

    floorkiosk --site /srv/floorkiosk/site bench install setting --user kiosk \\
        --scale-device /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KXYZ-if00-port0

writes /etc/systemd/system/floorkiosk-bench-setting.service (the kiosk on tty1 in place of its login
prompt, started again whenever it stops, after the scale's device has appeared) and, beside it, two
examples that are not used until renamed: a getty autologin drop-in (the other way to put the kiosk
on the console) and a udev rule (for a scale adapter that /dev/serial/by-id/ cannot name). The
README's "Installing a bench" section walks through it from a fresh Debian machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from floorkiosk.errors import FloorkioskError

DEST = "/etc/systemd/system"
# systemd's own unit-name alphabet: what systemd-escape leaves as it is (systemd.unit(5), "String Escaping")
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.")


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="set up a bench machine")
    bsub = bench.add_subparsers(dest="bench_command", metavar="ACTION")
    ins = bsub.add_parser("install", help="write the systemd unit that starts this bench's kiosk on the console at boot",
                          description="Write the systemd unit that starts `floorkiosk kiosk --bench NAME` on the "
                                      "console at boot (restarted whenever it stops, after the scale's device "
                                      "appears), a getty autologin drop-in example and a udev rule example.")
    ins.add_argument("name", metavar="NAME", help="the bench's id in site.toml")
    ins.add_argument("--user", help="the account the kiosk runs as (default: the one running this, or the one behind sudo)")
    ins.add_argument("--scale-device", metavar="PATH",
                     help="the scale's stable name, /dev/serial/by-id/… (default: the bench's scale url when it is one)")
    ins.add_argument("--tty", default="tty1", help="the console the kiosk takes (default: tty1)")
    ins.add_argument("--dest", default=DEST, help=f"where the unit goes (default: {DEST})")
    ins.add_argument("--force", action="store_true", help="replace files that exist and differ")
    ins.set_defaults(func=cmd_install)
    bench.set_defaults(func=lambda a: (bench.print_help(), 2)[1])


# -- systemd's escaping ----------------------------------------------------------------------------

def escape(text: str) -> str:
    """A string as a unit-name part, as `systemd-escape TEXT` writes it: '/' as '-', and every byte
    outside [A-Za-z0-9:_.] (and a leading '.') as \\xNN."""
    out = []
    for i, byte in enumerate(text.encode("utf-8")):
        ch = chr(byte)
        if ch == "/":
            out.append("-")
        elif ch in _PLAIN and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def escape_path(path: str) -> str:
    """A path as a unit name's stem, as `systemd-escape --path PATH` writes it ("/" alone is "-")."""
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise FloorkioskError(f"{path}: a device path may not hold '.' or '..'")
    return escape("/".join(parts)) if parts else "-"


def device_unit(path: str) -> str:
    """The .device unit systemd makes for a device node or udev link, e.g. dev-serial-by\\x2did-….device."""
    return escape_path(path) + ".device"


# -- the files ---------------------------------------------------------------------------------------

def _exec_word(word: str) -> str:
    """One word of an ExecStart line: specifiers (%) and variables ($) kept literal, quoted if need be."""
    word = word.replace("%", "%%").replace("$", "$$")
    if not word or any(c in word for c in " \t\"'\\;"):
        word = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def kiosk_command(site: Path, bench: str) -> list[str]:
    """The kiosk's command line: this very Python and package, so the unit runs what was installed."""
    return [sys.executable, "-m", "floorkiosk", "--site", str(site), "kiosk", "--bench", bench]


def unit_text(*, bench: str, bench_name: str, site: Path, user: str, tty: str, device: str | None) -> str:
    exec_start = " ".join(_exec_word(w) for w in kiosk_command(site, bench))
    lines = [
        f"# floorkiosk: the kiosk of bench {bench} ({bench_name}) on {tty}, in place of its login prompt.",
        f"# Written by `floorkiosk bench install {bench}`; see the README, \"Installing a bench\".",
        "[Unit]",
        f"Description=floorkiosk kiosk at the {bench_name} bench ({bench}) on {tty}",
        "After=systemd-user-sessions.service plymouth-quit-wait.service getty-pre.target",
        f"Conflicts=getty@{tty}.service",
        f"After=getty@{tty}.service",
        "Before=getty.target",
        "# never give up restarting: a bench without its kiosk is a bench that cannot work",
        "StartLimitIntervalSec=0",
    ]
    if device:
        unit = device_unit(device)
        lines += [
            f"# the scale, {device}: start once it is there. Wants=, not BindsTo=: a scale",
            "# pulled out must not take the screen with it (the kiosk says it is gone and reconnects),",
            "# and a bench whose scale is away at boot still starts, after systemd's device wait.",
            f"Wants={unit}",
            f"After={unit}",
        ]
    lines += [
        "",
        "[Service]",
        "Type=idle",
        f"User={user}",
        "WorkingDirectory=" + str(site).replace("%", "%%"),
        "Environment=TERM=linux LANG=C.UTF-8",
        f"ExecStart={exec_start}",
        "StandardInput=tty",
        "StandardOutput=tty",
        "StandardError=journal",
        f"TTYPath=/dev/{tty}",
        "TTYReset=yes",
        "TTYVHangup=yes",
        "TTYVTDisallocate=yes",
        f"UtmpIdentifier={tty}",
        "Restart=always",
        "RestartSec=2",
        "# the kiosk ends by itself on SIGTERM and SIGHUP with 128+N: a stop, not a failure",
        "SuccessExitStatus=129 143",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def autologin_text(*, bench: str, site: Path, user: str, tty: str, unit: str) -> str:
    command = " ".join(_shell_word(w) for w in kiosk_command(site, bench))
    return "\n".join([
        f"# An example, not in use: systemd reads only *.conf here. The other way to put bench {bench}'s",
        f"# kiosk on {tty}: the console logs {user} in by itself and {user}'s login shell starts the kiosk.",
        f"# To use it instead of {unit}:",
        f"#   systemctl disable --now {unit}",
        f"#   mv {tty}-floorkiosk-autologin.conf.example autologin.conf   (in this folder)",
        f"#   and add to ~{user}/.profile:",
        f'#     [ "$(tty)" = /dev/{tty} ] && exec {command}',
        "#   systemctl daemon-reload && systemctl restart getty@" + tty + ".service",
        "# The getty starts the login again whenever the kiosk ends.",
        "[Service]",
        "ExecStart=",
        f"ExecStart=-/sbin/agetty --autologin {user} --noclear %I $TERM",
        "",
    ])


def udev_text(*, bench: str, device: str | None) -> str:
    port = device or "/dev/ttyUSB0"
    return "\n".join([
        "# An example, not in use. Only for a scale adapter that /dev/serial/by-id/ cannot name (one",
        "# without a serial number, or two alike): a udev rule gives it a name of its own (more in the",
        "# project's drivers/udev/99-floorkiosk-scales.rules).",
        "# 1. find the adapter's ids:",
        f"#      udevadm info --attribute-walk --name={port} | grep -m3 -E 'idVendor|idProduct|serial'",
        "# 2. put them below, uncomment the rule and copy this file to",
        f"#      /etc/udev/rules.d/70-floorkiosk-{bench}.rules",
        "#    then: udevadm control --reload && udevadm trigger",
        f"# 3. install the unit again with --scale-device /dev/floorkiosk/{bench}-scale --force",
        "#    and set the bench's scale url in site.toml to the same name.",
        "# systemd makes a .device unit for every name udev gives a serial port (the unit waits on it).",
        f'#SUBSYSTEM=="tty", ATTRS{{idVendor}}=="0403", ATTRS{{idProduct}}=="6001", SYMLINK+="floorkiosk/{bench}-scale", GROUP="dialout", MODE="0660"',
        "",
    ])


def _shell_word(word: str) -> str:
    import shlex  # when the command runs: start-up cost (every CLI call builds this module's parser)

    return shlex.quote(word)


# -- the command ---------------------------------------------------------------------------------------

def _default_user() -> str:
    import getpass  # when the command runs: start-up cost (every CLI call builds this module's parser)

    return os.environ.get("SUDO_USER") or getpass.getuser()


def _check_user(user: str) -> list[str]:
    """The account must exist; a note when it cannot open serial ports (not in dialout)."""
    import grp  # when the command runs: start-up cost (every CLI call builds this module's parser)
    import pwd

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise FloorkioskError(f"no user {user!r} on this machine: create it first (adduser --disabled-password {user})") from None
    notes = []
    try:
        dialout = grp.getgrnam("dialout")
        if pw.pw_uid != 0 and user not in dialout.gr_mem and pw.pw_gid != dialout.gr_gid:
            notes.append(f"note: {user} is not in the dialout group and cannot open the scale: adduser {user} dialout")
    except KeyError:
        pass
    return notes


def _check_device(device: str) -> list[str]:
    if not device.startswith("/dev/"):
        raise FloorkioskError(f"--scale-device {device}: a device's path under /dev/ (best its /dev/serial/by-id/ name)")
    if device.startswith(("/dev/serial/by-id/", "/dev/floorkiosk/")):  # stable names (udev, drivers/udev/)
        return []
    return [f"note: {device} may name another port after a reboot or a replug; its /dev/serial/by-id/ name does not "
            "(ls -l /dev/serial/by-id/)"]


def cmd_install(args: argparse.Namespace) -> int:
    from floorkiosk.cli.core import site_dir  # when the command runs: start-up cost
    from floorkiosk.domain.config import load_site  # when the command runs: start-up cost

    site = site_dir(args).resolve()
    if not (site / "config").is_dir():
        raise FloorkioskError(f"no site at {site}: create one with `floorkiosk init --site {site}` first")
    config = load_site(site / "config")
    bench = config.benches.get(args.name)
    if bench is None:
        raise FloorkioskError(f"no bench {args.name!r} in {site / 'config' / 'site.toml'}; benches: {', '.join(config.benches)}")
    tty = args.tty.removeprefix("/dev/")
    if not tty or "/" in tty:
        raise FloorkioskError(f"--tty {args.tty}: a console's name, like tty1")
    user = args.user or _default_user()
    notes = _check_user(user)
    device = args.scale_device
    if device is None and bench.scale is not None:
        url = str(bench.scale.get("url", ""))
        device = url if url.startswith("/dev/") else None
    if device is not None:
        notes += _check_device(device)
    elif bench.scale is not None and not str(bench.scale.get("url", "")).startswith("sim:"):
        notes.append("note: the bench has a scale but no /dev/ name for it was given: the kiosk will not wait for it "
                     "(--scale-device /dev/serial/by-id/…)")

    unit = f"floorkiosk-bench-{escape(bench.id)}.service"
    dest = Path(args.dest)
    files = {
        dest / unit: unit_text(bench=bench.id, bench_name=bench.name, site=site, user=user, tty=tty, device=device),
        dest / f"getty@{tty}.service.d" / f"{tty}-floorkiosk-autologin.conf.example":
            autologin_text(bench=bench.id, site=site, user=user, tty=tty, unit=unit),
        dest / f"{unit.removesuffix('.service')}.udev-rules.example": udev_text(bench=bench.id, device=device),
    }
    # every file checked before any is written: all of them or none
    clash = [p for p, text in files.items() if p.exists() and p.read_text(errors="replace") != text]
    if clash and not args.force:
        raise FloorkioskError("; ".join(f"{p} exists and differs" for p in clash)
                              + ": nothing was written (--force replaces them)")
    try:
        for p, text in files.items():
            p.parent.mkdir(parents=True, exist_ok=True)
            if p.exists() and p.read_text(errors="replace") == text:
                print(f"unchanged {p}")
                continue
            tmp = p.with_name(p.name + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, p)  # whole or not at all
            print(f"wrote {p}")
    except OSError as exc:
        raise FloorkioskError(f"{exc.filename or dest}: {exc.strerror} (run it with sudo, or --dest a folder you can write)") from None
    for n in notes:
        print(n, file=sys.stderr)
    print(f"next: systemctl daemon-reload && systemctl enable --now {unit}")
    import shutil  # when the command runs: start-up cost (every CLI call builds this module's parser)
    import subprocess

    if shutil.which("systemd-analyze") is None:
        print("(systemd-analyze is not installed here: the unit was not checked)")
    else:
        check = subprocess.run(["systemd-analyze", "verify", str(dest / unit)], capture_output=True, text=True)
        problems = [ln for ln in (check.stdout + check.stderr).splitlines() if ln.strip()]
        print("systemd-analyze verify: no problems" if not problems else
              "systemd-analyze verify says:\n  " + "\n  ".join(problems))
    return 0
