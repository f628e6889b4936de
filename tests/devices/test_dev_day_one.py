"""Day one with the bench devices: what a balance's line means before it settles, what a probe says
of a port that answers garbage, and how an unplugged balance is told."""

from __future__ import annotations

import time
from decimal import Decimal

from floorkiosk.devices.scales import Reading, Scale, ScaleStatus, StatusKind
from floorkiosk.domain import units


def moving(scale: Scale, timeout: float = 3.0) -> Reading | ScaleStatus:
    """The next reading of a moving weight (the simulator keeps it moving until settled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = scale.read_now()
        if not (isinstance(got, ScaleStatus) and got.kind is StatusKind.SILENT):
            return got
    raise AssertionError("the balance said nothing")


def test_a_moving_sartorius_line_before_the_first_stable_one_is_in_the_balances_configured_unit(make_sim):
    sim = make_sim("sartorius-sbi16")
    sim.set_unit("dwt")
    sim.put("12.345")  # 7.938 dwt
    sim.wobble()  # SBI blanks the unit while the weight moves: "+    7.940    "
    with Scale(sim.path, "sartorius-sbi16", unit="dwt") as scale:
        got = moving(scale)
        assert isinstance(got, Reading) and not got.stable, got
        assert got.unit == "dwt" and got.grams == units.to_grams(got.value, "dwt")
        assert abs(got.value - Decimal("7.938")) < Decimal("0.01")


def test_without_a_configured_unit_a_moving_line_is_moving_not_grams(make_sim):
    sim = make_sim("sartorius-sbi16")
    sim.set_unit("dwt")
    sim.put("12.345")
    sim.wobble()
    with Scale(sim.path, "sartorius-sbi16") as scale:
        got = moving(scale)
        # not "7.938 g": the line carries no unit, and nothing says which one the balance shows
        assert isinstance(got, ScaleStatus) and got.kind is StatusKind.UNSTABLE, got
        assert "unit" in got.message
        sim.settle()
        deadline = time.monotonic() + 3
        while not (isinstance(got, Reading) and got.stable) and time.monotonic() < deadline:
            got = scale.read_now()
        assert isinstance(got, Reading) and got.unit == "dwt" and got.value == Decimal("7.938")
        sim.wobble()  # once the balance has named its unit, a moving line is in it
        got = moving(scale)
        assert isinstance(got, Reading) and not got.stable and got.unit == "dwt"


def test_a_benchs_scale_unit_is_checked_with_the_config(tmp_path):
    from config_helpers import copy_example, edit, problems  # tests/ is on the path (pytest rootdir)

    from floorkiosk.domain.config import load_site

    cfg = copy_example(tmp_path / "ok")
    edit(cfg / "site.toml", 'unit = "g"  ', 'unit = "dwt"')
    assert load_site(cfg).benches["polishing"].scale.get("unit") == "dwt"
    cfg = copy_example(tmp_path / "bad")
    line = edit(cfg / "site.toml", 'unit = "g"  ', 'unit = "lb"')
    assert problems(cfg) == [f"{cfg / 'site.toml'}:{line}: bench 'polishing': scale unit 'lb' is not a weight unit; "
                             "use g, mg, ct, dwt, ozt, oz or gr"]


def test_scale_probe_on_a_port_that_sends_garbage_says_what_arrived(make_sim, capsys):
    from floorkiosk.cli import main

    sim = make_sim("mt-sics")
    sim.garbage()  # random 8-bit bytes ending in LF, whatever is asked
    assert main(["scale", "probe", sim.path, "--profile", "mt-sics", "--timeout", "0.2"]) == 1
    out = capsys.readouterr().out
    assert "nothing answered" not in out
    assert "bytes arrived, but no profile reads them" in out
    first = next(line for line in out.splitlines() if line.startswith("  at 9600 8N1: '"))
    assert "\\x" in first and "bytes)" in first  # an escaped excerpt of what came, and how much


def test_scale_probe_on_a_silent_port_still_says_nothing_answered(make_sim, capsys):
    from floorkiosk.cli import main

    sim = make_sim("mt-sics")
    sim.silent()
    assert main(["scale", "probe", sim.path, "--profile", "mt-sics", "--timeout", "0.1"]) == 1
    assert "nothing answered" in capsys.readouterr().out


class Told:
    """What a monitor tells, in order (from its thread)."""

    def __init__(self) -> None:
        self.items: list[object] = []

    def __call__(self, ev: object) -> None:
        self.items.append(ev)

    def down(self) -> list[str]:
        return [e.message for e in self.items if isinstance(e, ScaleStatus) and e.kind is StatusKind.DISCONNECTED]


def wait(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def test_an_unplugged_balance_is_told_once_then_reconnecting(make_sim):
    from floorkiosk.devices.scales import ScaleMonitor

    sim = make_sim("mt-sics")
    sim.put("5")
    sim.settle()
    told = Told()
    mon = ScaleMonitor(sim.path, "mt-sics", told, interval=0.01, retry=0.01).start()
    try:
        wait(lambda: any(isinstance(e, Reading) for e in told.items))
        sim.unplug()
        wait(lambda: mon.retries >= 30)  # thirty attempts to open the port again, all failed
        assert told.down() == [f"scale not connected at {sim.path}: the port went away (cable unplugged, or the "
                               "balance switched off)", "reconnecting…"]
        sim.replug()
        wait(lambda: isinstance(told.items[-1], Reading))
        assert mon.retries == 0
        sim.unplug()  # a second time: told again, once
        wait(lambda: mon.retries >= 30)
        assert len(told.down()) == 4 and told.down()[3] == "reconnecting…"
    finally:
        mon.stop()


def test_a_port_that_is_not_there_says_so_in_words_once(tmp_path):
    from floorkiosk.devices.scales import ScaleMonitor

    told = Told()
    missing = tmp_path / "ttyUSB-scale"
    mon = ScaleMonitor(str(missing), "mt-sics", told, retry=0.01).start()
    try:
        wait(lambda: mon.retries >= 30)
    finally:
        mon.stop()
    assert told.down() == [f"scale not connected at {missing}: no such port (unplugged, or the bench's config "
                           "names another port)", "reconnecting…"]
    assert "Errno" not in " ".join(told.down())


def test_a_serial_scanner_that_stays_away_is_told_once_then_reconnecting(tmp_path):
    from floorkiosk.devices.scanners import SerialScanner

    states: list[str] = []
    sc = SerialScanner(str(tmp_path / "no-scanner"), lambda text: None, on_state=states.append, retry=0.01)
    attempts = []
    real = sc._open_device

    def counted():
        attempts.append(1)
        return real()

    sc._open_device = counted
    sc.start()
    try:
        wait(lambda: len(attempts) >= 30)
    finally:
        sc.stop()
    assert states == ["disconnected: no such port (unplugged, or the bench's config names another port)",
                      "reconnecting…"]
