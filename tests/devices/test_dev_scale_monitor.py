"""ScaleMonitor (the kiosk's live reading), pyserial URL transports, probing, and the profile loader."""

from __future__ import annotations

import socket
import threading
import time
from decimal import Decimal

import pytest

from floorkiosk.devices.profiles import (
    ProfileError,
    list_profiles,
    load_profile,
    profile_from_dict,
)
from floorkiosk.devices.scaleparse import Framer, Parser, Reading, same_weight
from floorkiosk.devices.scales import (
    Scale,
    ScaleMonitor,
    ScaleStatus,
    StatusKind,
    probe,
)
from floorkiosk.paths import drivers_dir


class Events:
    def __init__(self) -> None:
        self.items: list[object] = []
        self.stable: list[Reading] = []
        self.cond = threading.Condition()

    def __call__(self, ev: object) -> None:
        with self.cond:
            self.items.append(ev)
            self.cond.notify_all()

    def on_stable(self, r: Reading) -> None:
        with self.cond:
            self.stable.append(r)
            self.cond.notify_all()

    def wait_for(self, pred, timeout: float = 3.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ev in self.items:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such event; got {self.items[-5:]}")
                self.cond.wait(left)

    def clear(self) -> None:
        with self.cond:
            self.items.clear()


def is_reading(grams: str):
    return lambda ev: isinstance(ev, Reading) and ev.stable and ev.grams == Decimal(grams)


def is_status(kind: StatusKind):
    return lambda ev: isinstance(ev, ScaleStatus) and ev.kind is kind


@pytest.mark.parametrize("profile", ["mt-sics", "shinko-vibra"])  # one polled, one streaming
def test_monitor_follows_the_pan_and_reconnects(make_sim, profile):
    sim = make_sim(profile)
    sim.put("12.5")
    sim.settle()
    events = Events()
    mon = ScaleMonitor(sim.path, profile, events, interval=0.05, on_stable=events.on_stable).start()
    try:
        events.wait_for(is_reading("12.5"))
        sim.overload()
        events.wait_for(is_status(StatusKind.OVERLOAD if profile == "mt-sics" else StatusKind.ERROR))
        sim.normal()
        sim.unplug()
        gone = events.wait_for(is_status(StatusKind.DISCONNECTED))
        assert "went away" in gone.message or "No such file" in gone.message
        events.clear()
        sim.replug()
        replugged = time.monotonic()
        events.wait_for(is_reading("12.5"), timeout=2.0)  # the promise: back within 2 s
        assert time.monotonic() - replugged < 2.0
    finally:
        mon.stop()
    assert not mon._thread


def test_tare_while_the_monitor_polls(make_sim):
    """The kiosk tares from its own thread while the monitor polls: the port lock keeps them apart."""
    sim = make_sim("mt-sics")
    sim.put("7.25")
    sim.settle()
    events = Events()
    mon = ScaleMonitor(sim.path, "mt-sics", events, interval=0.01).start()
    try:
        events.wait_for(is_reading("7.25"))
        for _ in range(5):
            mon.tare()  # MT-SICS confirms each tare with "T S …"; a lost reply would raise
        events.clear()
        events.wait_for(is_reading("0.00"))
    finally:
        mon.stop()


def test_monitor_reports_silence_and_garbage(make_sim):
    sim = make_sim("ohaus")
    events = Events()
    mon = ScaleMonitor(sim.path, "ohaus", events, interval=0.05).start()
    try:
        sim.silent()
        events.wait_for(is_status(StatusKind.SILENT))
        sim.garbage()
        events.wait_for(is_status(StatusKind.UNPARSEABLE))
    finally:
        mon.stop()


def test_on_stable_fires_once_per_new_weight(make_sim):
    """Noise below the readability is not a new weight; a real change is."""
    sim = make_sim("mt-sics")
    sim.put("10")
    sim.settle()
    events = Events()
    mon = ScaleMonitor(sim.path, "mt-sics", events, interval=0.02, readability="0.05", on_stable=events.on_stable).start()
    try:
        events.wait_for(is_reading("10.00"))
        for _ in range(5):  # several polls of the same stable weight
            events.wait_for(lambda ev: len(events.items) > 8)
        sim.put("10.02")  # below readability 0.05 g: noise
        sim.settle()
        events.wait_for(is_reading("10.02"))
        sim.put("0")
        sim.settle()
        events.wait_for(is_reading("0.00"))
        sim.put("10")
        sim.settle()
        events.clear()
        events.wait_for(is_reading("10.00"))
    finally:
        mon.stop()
    assert [r.grams for r in events.stable] == [Decimal("10.00"), Decimal("0.00"), Decimal("10.00")]


def test_monitor_on_a_port_that_does_not_exist():
    events = Events()
    mon = ScaleMonitor("/dev/serial/by-id/no-such-balance", "mt-sics", events).start()
    try:
        ev = events.wait_for(is_status(StatusKind.DISCONNECTED))
    finally:
        mon.stop()
    assert "not connected" in ev.message and "no-such-balance" in ev.message


def test_socket_url_serial_over_lan():
    """socket://host:port, as with a serial-to-Ethernet converter: a real TCP server answers MT-SICS."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        buf = b""
        with conn:
            while True:
                data = conn.recv(64)
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    cmd, buf = buf.split(b"\r\n", 1)
                    conn.sendall({b"SI": b"S D      1.23 g\r\n", b"S": b"S S      4.56 ct\r\n"}.get(cmd, b"ES\r\n"))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with Scale(f"socket://127.0.0.1:{port}", "mt-sics") as scale:
        now = scale.read_now(1.0)
        stable = scale.read_stable(2.0)
    server.close()
    assert isinstance(now, Reading) and now.grams == Decimal("1.23") and not now.stable
    assert isinstance(stable, Reading) and stable.unit == "ct" and stable.grams == Decimal("0.912")


def test_loop_url_reads_back_what_was_written():
    """loop:// echoes: a stream profile reads the lines written to it."""
    with Scale("loop://", "generic-stream") as scale:
        scale.open()
        scale._port.write(b"  1.50 g\r\n" * 6)
        got = [scale.listen(0.5) for _ in range(6)]
    assert all(isinstance(r, Reading) and r.grams == Decimal("1.50") for r in got)
    assert not got[0].stable and got[-1].stable  # the window rule: five equal values settle it


@pytest.mark.parametrize("profile", ["and-standard", "sartorius-sbi16", "toledo-8217"])
def test_probe_finds_profile_and_settings(make_sim, profile):
    sim = make_sim(profile)
    sim.put("25")
    sim.settle()
    results = probe(sim.path, timeout=0.25)
    assert results and results[0].weighs
    assert results[0].settings == load_profile(profile).serial
    # a dialect may answer first (KERN KCP for MT-SICS); the family's base profile is tried first
    assert results[0].profile == profile


def test_probe_prefers_base_profile_over_dialect(make_sim):
    sim = make_sim("kern-kcp")
    results = probe(sim.path, timeout=0.25)
    assert results[0].profile == "mt-sics"  # same protocol; the base name says what it speaks


def test_probe_with_nothing_there(raw_pty):
    assert probe(raw_pty.path, profiles=["mt-sics", "ohaus"], timeout=0.1) == []


# -- profiles --------------------------------------------------------------------------------------


def test_every_profile_loads_and_cites_its_source():
    names = list_profiles()
    assert len(names) >= 11
    for name in names:
        p = load_profile(name)
        assert p.source, name
        text = (drivers_dir() / "scales" / f"{name}.toml").read_text()
        assert text.lstrip().startswith("#"), f"{name}: the profile starts with a comment naming its source"
        assert "scale-protocols.md" in text or "user profile" in text


def test_profile_inherits_from_its_family():
    kcp, sics = load_profile("kern-kcp"), load_profile("mt-sics")
    assert kcp.replies == sics.replies and kcp.poll_gap == 0.1 and sics.poll_gap == 0
    assert kcp.extends == "mt-sics"


def test_a_user_profile_from_a_file(tmp_path):
    f = tmp_path / "bench-7.toml"
    f.write_text(
        'title = "Bench 7 balance"\nmode = "continuous"\n[units]\ng = "g"\n'
        '[[reply]]\nkind = "weight"\npattern = \'^W(?P<value>[-0-9.]+)(?P<unit>g)(?P<s>[SU])$\'\n'
        'stable_group = "s"\nstable_values = ["S"]\n'
    )
    p = load_profile(str(f))
    r = Parser(p).parse(b"W12.5gS")
    assert isinstance(r, Reading) and r.stable and r.grams == Decimal("12.5")


@pytest.mark.parametrize(
    "raw,problem",
    [
        ({"mode": "poll", "reply": [{"kind": "weight", "pattern": "(?P<value>x)"}]}, "commands.immediate"),
        ({"mode": "stream"}, "mode must be"),
        ({"mode": "continuous", "reply": [{"kind": "weight", "pattern": "(?P<value>"}]}, "bad pattern"),
        ({"mode": "continuous", "reply": [{"kind": "weight", "pattern": "x"}]}, "needs a (?P<value>"),
        ({"mode": "continuous", "reply": [{"kind": "number", "pattern": "x"}]}, "kind must be"),
        ({"mode": "continuous", "units": {"T": "tonne"}, "reply": [{"kind": "weight", "pattern": "(?P<value>x)"}]}, "not a floorkiosk unit"),
        ({"mode": "continuous", "reply": []}, "no reply of kind 'weight'"),
    ],
)
def test_bad_profiles_are_refused_with_the_reason(raw, problem):
    with pytest.raises(ProfileError, match=problem.replace("(", r"\(").replace("?", r"\?")):
        profile_from_dict(raw, "bench.toml")


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ProfileError, match="mt-sics"):
        load_profile("no-such-balance")


# -- pure pieces -----------------------------------------------------------------------------------


def test_framer_joins_splits_and_flushes_garbage():
    f = Framer(b"\r\n", max_frame=16)
    assert f.feed(b"S S  1") == []
    assert f.feed(b".00 g\r") == [b"S S  1.00 g"]
    assert f.feed(b"\nS D  2.00 g\r\nS S") == [b"S D  2.00 g"]
    assert f.pending == b"S S"
    f.reset()
    assert f.feed(bytes(range(0x80, 0x80 + 20))) == [bytes(range(0x80, 0x80 + 20))]


def test_units_are_converted_exactly():
    p = Parser(load_profile("mt-sics"))
    cases = {
        b"S S      1.000 ct": Decimal("0.2"),
        b"S S      1.000 dwt": Decimal("1.55517384"),
        b"S S     1.0000 ozt": Decimal("31.1034768"),
        b"S S     1.0000 oz": Decimal("28.349523125"),
        b"S S      100.0 GN": Decimal("6.479891"),
        b"S S      250 mg": Decimal("0.250"),
    }
    for line, grams in cases.items():
        r = p.parse(line)
        assert isinstance(r, Reading) and r.grams == grams, line


def test_same_weight_uses_readability():
    p = Parser(load_profile("mt-sics"))
    a, b, c = (p.parse(x) for x in (b"S S 10.00 g", b"S S 10.01 g", b"S S 10.02 g"))
    assert same_weight(a, b, Decimal("0.02")) and not same_weight(a, c, Decimal("0.02"))
    assert not same_weight(a, b, None)
