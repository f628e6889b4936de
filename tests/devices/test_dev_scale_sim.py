"""One contract, run against every scale profile: the generic driver and the profile's simulator
talking through a real pty."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from floorkiosk.devices.profiles import SerialSettings, list_profiles, load_profile
from floorkiosk.devices.scales import (
    Reading,
    Scale,
    ScaleError,
    ScaleStatus,
    StatusKind,
)
from floorkiosk.domain import units

PROFILES = list_profiles()
# Toledo 8217 sends a status byte, not a number, while moving or below zero  [reference §5.4]
NO_NUMBER_WHILE_MOVING = {"toledo-8217"}
# Shinko Vibra has only the E status for over/under range  [reference §6]
FAULT_KIND = {("shinko-vibra", "overload"): StatusKind.ERROR, ("shinko-vibra", "underload"): StatusKind.ERROR}


def shown(profile: str, grams: str, unit: str | None = None) -> Decimal:
    """What the balance displays for `grams`, back in grams: the value it can show, converted exactly."""
    p = load_profile(profile)
    unit = unit or p.default_unit or "g"
    places = int(p.sim.get("decimals", {}).get(unit, 2))
    value = units.from_grams(Decimal(grams), unit).quantize(Decimal(1).scaleb(-places))
    return units.to_grams(value, unit)


def stable_reading(scale: Scale, unit: str | None = None, timeout: float = 3.0) -> Reading:
    """A stable reading (in `unit`, if given): lines streamed before a change are skipped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = scale.read_stable(deadline - time.monotonic())
        if isinstance(r, Reading) and (unit is None or r.unit == unit):
            return r
        if isinstance(r, ScaleStatus) and r.kind is not StatusKind.UNSTABLE:
            raise AssertionError(r)
    raise AssertionError(f"no stable reading in {unit}")


def wait_for_grams(scale: Scale, grams: Decimal, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = scale.read_stable(1.0)
        if isinstance(last, Reading) and last.grams == grams:
            return
    raise AssertionError(f"never read {grams} g; last {last}")


@pytest.fixture(params=PROFILES)
def bench(request, make_sim):
    sim = make_sim(request.param)
    scale = Scale(sim.path, request.param, unit=sim.unit)  # as a bench's config names the balance's unit
    yield request.param, sim, scale
    scale.close()


def test_stable_weight(bench):
    name, sim, scale = bench
    sim.put("12.34")
    sim.settle()
    r = stable_reading(scale)
    assert r.stable
    assert r.grams == shown(name, "12.34")
    assert r.raw  # the line as received is kept


def test_settles_by_itself_after_put(bench):
    name, sim, scale = bench
    sim.put("5.5")  # moves for settle_time, then settles
    r = stable_reading(scale)
    assert r.grams == shown(name, "5.5")


def test_unstable_weight(bench):
    name, sim, scale = bench
    sim.put("20")
    sim.wobble()
    scale.flush()
    r = scale.read_now(1.0)
    if name in NO_NUMBER_WHILE_MOVING:
        assert isinstance(r, ScaleStatus) and r.kind is StatusKind.UNSTABLE
    else:
        assert isinstance(r, Reading) and not r.stable
    # a stable read does not hand out a moving number
    still = scale.read_stable(0.6)
    assert isinstance(still, ScaleStatus) and still.kind is StatusKind.UNSTABLE
    assert "settle" in still.message or "moving" in still.message


def test_negative_weight(bench):
    name, sim, scale = bench
    sim.put("-3.25")
    sim.settle()
    if name in NO_NUMBER_WHILE_MOVING:
        r = scale.read_now(1.0)
        assert isinstance(r, ScaleStatus) and r.kind is StatusKind.UNDERLOAD
        return
    r = stable_reading(scale)
    assert r.value < 0
    assert r.grams == shown(name, "-3.25")


def test_every_unit_converts_exactly(bench):
    name, sim, scale = bench
    sim.put("31.1034768")  # one troy ounce
    sim.settle()
    for unit in sorted(set(load_profile(name).units.values())):
        sim.set_unit(unit)
        scale.flush()
        r = stable_reading(scale, unit)
        assert r.unit == unit
        assert r.grams == units.to_grams(r.value, unit)  # exact, no float on the way
        assert r.grams == shown(name, "31.1034768", unit)


@pytest.mark.parametrize("fault", ["overload", "underload", "error"])
def test_fault_states_are_never_numbers(bench, fault):
    name, sim, scale = bench
    if fault not in sim.can:
        with pytest.raises(Exception, match="no .* line"):
            getattr(sim, fault)()
        pytest.skip(f"{name}: the sources give no {fault} line")
    sim.put("10")
    sim.settle()
    getattr(sim, fault)()
    scale.flush()
    r = scale.read_now(1.0)
    assert isinstance(r, ScaleStatus), r
    assert r.kind is FAULT_KIND.get((name, fault), StatusKind(fault))
    assert r.message
    # read_stable gives up at once on these states; it does not wait for a number
    assert scale.read_stable(2.0).kind is r.kind
    sim.normal()
    assert stable_reading(scale).grams == shown(name, "10")


def test_garbage_is_unparseable(bench):
    name, sim, scale = bench
    sim.garbage()
    scale.flush()
    r = scale.read_now(1.0)
    assert isinstance(r, ScaleStatus) and r.kind is StatusKind.UNPARSEABLE
    assert "unreadable" in r.message or "no line" in r.message


def test_silence(bench):
    name, sim, scale = bench
    sim.silent()
    scale.flush()
    r = scale.read_now(0.3)
    assert isinstance(r, ScaleStatus) and r.kind is StatusKind.SILENT
    assert "did not answer" in r.message


def test_wrong_baud_rate_is_never_a_number(bench):
    name, sim, scale = bench
    sim.put("7")
    sim.settle()
    good = load_profile(name).serial
    wrong = SerialSettings(19200 if good.baudrate != 19200 else 9600, good.bytesize, good.parity, good.stopbits)
    with Scale(sim.path, name, serial_settings=wrong) as bad:
        results = [bad.read_now(0.3) for _ in range(2)]
    assert all(isinstance(r, ScaleStatus) for r in results), results
    assert {r.kind for r in results} <= {StatusKind.UNPARSEABLE, StatusKind.SILENT}
    assert any("baud" in r.message or "8N1" in r.message or "O1" in r.message or "E1" in r.message for r in results)


def test_unplug_and_replug(bench):
    name, sim, scale = bench
    sim.put("2")
    sim.settle()
    assert isinstance(stable_reading(scale), Reading)
    sim.unplug()
    # A balance that sends on its own (Shinko, continuous mode) may have put a line in the port's
    # buffer just before the cable came out: that line is read, then the disconnection.
    end = time.monotonic() + 10
    r = scale.read_now(0.5)
    while isinstance(r, Reading) and time.monotonic() < end:
        r = scale.read_now(0.5)
    assert isinstance(r, ScaleStatus) and r.kind is StatusKind.DISCONNECTED
    r = scale.read_now(0.5)  # still gone: the port name does not exist
    assert r.kind is StatusKind.DISCONNECTED and "not connected" in r.message
    sim.replug()
    assert stable_reading(scale).grams == shown(name, "2")


def test_reply_split_across_reads(bench):
    name, sim, scale = bench
    sim.split_writes()
    sim.put("8.5")
    sim.settle()
    assert stable_reading(scale).grams == shown(name, "8.5")


def test_tare_and_zero(bench):
    name, sim, scale = bench
    prof = load_profile(name)
    sim.put("10")
    sim.settle()
    stable_reading(scale)
    if not prof.command("tare"):
        with pytest.raises(ScaleError, match="no tare command"):
            scale.tare()
        return
    scale.tare()
    wait_for_grams(scale, Decimal(0))  # some balances do not confirm a tare: see it take effect
    sim.put("15")
    sim.settle()
    r = stable_reading(scale)
    assert r.grams == shown(name, "5")
    if prof.sim.get("net_text"):
        assert r.net is True
    if prof.command("zero"):
        scale.zero()
        wait_for_grams(scale, Decimal(0))


def test_streaming_lines_merged_into_one_read(make_sim):
    for name in [p for p in PROFILES if load_profile(p).mode == "continuous"]:
        sim = make_sim(name)
        sim.merge_writes()
        sim.put("4")
        sim.settle()
        with Scale(sim.path, name) as scale:
            got = [scale.listen(1.0) for _ in range(4)]
        assert all(isinstance(r, Reading) for r in got), (name, got)


def test_mt_sics_stable_command_waits_then_says_busy(make_sim):
    """S waits for stability; a balance that never settles answers S I, shown as not settled."""
    sim = make_sim("mt-sics")
    sim.wobble()
    with Scale(sim.path, "mt-sics") as scale:
        r = scale.read_stable(1.5)
    assert isinstance(r, ScaleStatus) and r.kind is StatusKind.UNSTABLE
    assert b"S\r\n" in sim.commands_seen


def test_continuous_mode_on_a_polled_balance(make_sim):
    """MT-SICS SIR makes a polled balance stream; a continuous-mode profile reads the stream."""
    from dataclasses import replace

    from floorkiosk.devices.profiles import load_profile as lp

    sim = make_sim("mt-sics")
    sim.put("3")
    sim.settle()
    streaming = replace(lp("mt-sics"), mode="continuous")
    with Scale(sim.path, "mt-sics") as poller:
        poller.open()
        poller._write(poller.profile.commands["continuous_start"])
    with Scale(sim.path, streaming) as listener:
        got = [listener.listen(1.0) for _ in range(3)]
    assert all(isinstance(r, Reading) and r.grams == Decimal("3.00") for r in got)
