"""`floorkiosk bench install NAME`: the files a bench machine needs to boot into its kiosk, read back
as systemd reads them, checked by systemd's own tools where the machine has them."""

from __future__ import annotations

import getpass
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from floorkiosk.cli import main
from floorkiosk.cli.bench import device_unit, escape, escape_path

BY_ID = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KXYZ-if00-port0"
UNIT = "floorkiosk-bench-setting.service"
ME = getpass.getuser()


def read_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it (systemd.syntax(7)): [Section] headers, Key=Value lines, a key
    that comes again adds a value, '#' and ';' lines are comments. Duplicate keys are why configparser
    itself cannot read one."""
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = out.setdefault(line[1:-1], {})
            continue
        assert section is not None and "=" in line, f"line {n}: {raw!r} is neither a section nor Key=Value"
        key, value = line.split("=", 1)
        section.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.fixture
def site(tmp_path, capsys):
    d = tmp_path / "shop"
    assert main(["--site", str(d), "init"]) == 0
    capsys.readouterr()
    return d


def install(site, dest, capsys, *args) -> tuple[int, str, str]:
    code = main(["--site", str(site), "bench", "install", *args, "--dest", str(dest)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_unit_starts_the_kiosk_on_tty1_after_the_scale_and_restarts_it(site, tmp_path, capsys):
    dest = tmp_path / "systemd"
    code, out, err = install(site, dest, capsys, "setting", "--user", ME, "--scale-device", BY_ID)
    assert code == 0, err
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["floorkiosk-bench-setting.service", "floorkiosk-bench-setting.udev-rules.example",
                     "getty@tty1.service.d/tty1-floorkiosk-autologin.conf.example"]
    unit = read_unit((dest / UNIT).read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    s, u = unit["Service"], unit["Unit"]
    argv = shlex.split(s["ExecStart"][0])
    assert argv == [sys.executable, "-m", "floorkiosk", "--site", str(site.resolve()), "kiosk", "--bench", "setting"]
    assert s["StandardInput"] == ["tty"] and s["StandardOutput"] == ["tty"] and s["TTYPath"] == ["/dev/tty1"]
    assert s["Restart"] == ["always"] and s["User"] == [ME] and s["Type"] == ["idle"]
    assert "129" in s["SuccessExitStatus"][0].split() and "143" in s["SuccessExitStatus"][0].split()
    scale = r"dev-serial-by\x2did-usb\x2dFTDI_FT232R_USB_UART_A10KXYZ\x2dif00\x2dport0.device"
    assert scale in u["After"] and u["Wants"] == [scale]
    assert u["Conflicts"] == ["getty@tty1.service"]  # the kiosk takes the console's login prompt
    assert u["StartLimitIntervalSec"] == ["0"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert f"systemctl enable --now {UNIT}" in out
    # the command line the unit runs is a working floorkiosk on this very site
    r = subprocess.run(argv[:5] + ["check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_the_getty_example_is_a_drop_in_systemd_ignores_until_renamed(site, tmp_path, capsys):
    dest = tmp_path / "systemd"
    assert install(site, dest, capsys, "polishing", "--user", ME, "--tty", "tty2")[0] == 0
    example = dest / "getty@tty2.service.d" / "tty2-floorkiosk-autologin.conf.example"
    assert not example.name.endswith(".conf")  # systemd reads only *.conf in a drop-in folder
    drop_in = read_unit(example.read_text())
    assert drop_in == {"Service": {"ExecStart": ["", f"-/sbin/agetty --autologin {ME} --noclear %I $TERM"]}}
    assert "kiosk --bench polishing" in example.read_text()
    unit = read_unit((dest / "floorkiosk-bench-polishing.service").read_text())
    assert unit["Service"]["TTYPath"] == ["/dev/tty2"] and unit["Unit"]["Conflicts"] == ["getty@tty2.service"]
    assert "Wants" not in unit["Unit"]  # a simulated balance: no device to wait for


def test_the_scale_device_comes_from_the_bench_config_when_it_is_a_dev_path(site, tmp_path, capsys):
    toml = site / "config" / "site.toml"
    toml.write_text(toml.read_text().replace('url = "sim:and-standard"', f'url = "{BY_ID}"'))
    dest = tmp_path / "systemd"
    code, out, err = install(site, dest, capsys, "setting", "--user", ME)
    assert code == 0, err
    assert device_unit(BY_ID) in read_unit((dest / UNIT).read_text())["Unit"]["After"]


def test_a_bench_that_does_not_exist_is_named_with_the_benches_and_nothing_is_written(site, tmp_path, capsys):
    dest = tmp_path / "systemd"
    code, out, err = install(site, dest, capsys, "setter", "--user", ME)
    assert code == 2
    assert "no bench 'setter'" in err and "benches: design, casting, cleanup, setting, polishing, qc" in err
    assert "Traceback" not in err and not dest.exists()


def test_files_that_exist_and_differ_are_kept_unless_forced(site, tmp_path, capsys):
    dest = tmp_path / "systemd"
    assert install(site, dest, capsys, "setting", "--user", ME)[0] == 0
    unit = dest / UNIT
    unit.write_text(unit.read_text() + "# a local change\n")
    (dest / "floorkiosk-bench-setting.udev-rules.example").unlink()
    before = unit.read_text()
    code, out, err = install(site, dest, capsys, "setting", "--user", ME, "--scale-device", BY_ID)
    assert code == 2 and f"{unit} exists and differs" in err and "--force" in err
    assert unit.read_text() == before
    assert not (dest / "floorkiosk-bench-setting.udev-rules.example").exists()  # all or nothing
    code, out, err = install(site, dest, capsys, "setting", "--user", ME, "--scale-device", BY_ID, "--force")
    assert code == 0 and f"wrote {unit}" in out
    assert "# a local change" not in unit.read_text() and device_unit(BY_ID) in unit.read_text()
    code, out, err = install(site, dest, capsys, "setting", "--user", ME, "--scale-device", BY_ID)
    assert code == 0 and f"unchanged {unit}" in out  # the same files again: nothing to force


def test_bad_users_devices_and_consoles_are_plain_errors(site, tmp_path, capsys):
    dest = tmp_path / "systemd"
    code, _, err = install(site, dest, capsys, "setting", "--user", "no-such-person-here")
    assert code == 2 and "no user 'no-such-person-here'" in err
    code, _, err = install(site, dest, capsys, "setting", "--user", ME, "--scale-device", "COM3")
    assert code == 2 and "under /dev/" in err
    code, _, err = install(site, dest, capsys, "setting", "--user", ME, "--tty", "pts/3")
    assert code == 2 and "a console's name" in err
    assert not dest.exists() and "Traceback" not in err
    code, _, err = install(site, dest, capsys, "setting", "--user", ME, "--scale-device", "/dev/ttyUSB0")
    assert code == 0 and "/dev/serial/by-id/" in err  # allowed, with a word on names that move


@pytest.mark.parametrize("path, stem", [
    (BY_ID, r"dev-serial-by\x2did-usb\x2dFTDI_FT232R_USB_UART_A10KXYZ\x2dif00\x2dport0"),
    ("/dev/ttyUSB0", "dev-ttyUSB0"),
    ("//dev//ttyACM0/", "dev-ttyACM0"),
    ("/", "-"),
    ("/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0", r"dev-serial-by\x2dpath-pci\x2d0000:00:14.0\x2dusb\x2d0:2:1.0\x2dport0"),
    ("/dev/.hidden/scale ö", r"dev-.hidden-scale\x20\xc3\xb6"),  # only a leading '.' is escaped
    ("/.dev/x", r"\x2edev-x"),
])
def test_device_names_are_escaped_as_systemd_escapes_them(path, stem):
    assert escape_path(path) == stem
    tool = shutil.which("systemd-escape")
    if tool is None:
        pytest.skip("systemd-escape is not installed: checked against the fixed names only")
    assert subprocess.run([tool, "--path", path], capture_output=True, text=True).stdout.strip() == stem


def test_a_unit_name_part_escapes_like_systemd_escape():
    assert escape("setting") == "setting" and escape("a-b") == r"a\x2db" and escape(".x") == r"\x2ex"
    assert escape("a/b") == "a-b"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (apt-get install systemd)")
def test_systemd_analyze_verifies_the_unit_and_would_catch_a_broken_one(site, tmp_path, capsys):
    dest = tmp_path / "systemd"
    code, out, err = install(site, dest, capsys, "setting", "--user", ME, "--scale-device", BY_ID)
    assert code == 0 and "systemd-analyze verify: no problems" in out
    r = subprocess.run(["systemd-analyze", "verify", str(dest / UNIT)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == r.stderr.strip() == ""
    # the other way: the same check finds a unit whose program is missing
    broken = tmp_path / "broken" / UNIT
    broken.parent.mkdir()
    broken.write_text((dest / UNIT).read_text().replace(sys.executable, "/nonexistent/python3"))
    r = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True)
    assert r.returncode != 0 and "/nonexistent/python3" in r.stdout + r.stderr


def test_a_destination_that_cannot_be_written_is_a_plain_error(site, tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder\n")
    dest = tmp_path / "a-file" / "systemd"  # refused even to root, unlike a read-only folder
    code, _, err = install(site, dest, capsys, "setting", "--user", ME)
    assert code == 2 and "Not a directory" in err and "--dest" in err and "Traceback" not in err
