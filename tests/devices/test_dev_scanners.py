"""Scanners: the serial scanner through a real pty, the HID key decoding, and the shared affix rule."""

from __future__ import annotations

import queue

import pytest

from floorkiosk.devices import scanners
from floorkiosk.devices.scanners import (
    HidKeys,
    ScanSplitter,
    SerialScanner,
    strip_affixes,
)
from floorkiosk.errors import FloorkioskError


def test_strip_affixes_is_the_wedge_rule():
    assert strip_affixes("]Q1FK1:J:123\r", "]Q1", "\r") == "FK1:J:123"
    assert strip_affixes("FK1:J:123\r\n", "", "\r") == "FK1:J:123"
    assert strip_affixes("FK1:J:123", "#", "!") == "FK1:J:123"  # absent affixes are not invented


def test_splitter_cuts_at_suffix_across_chunks():
    s = ScanSplitter(prefix="@", suffix="\r\n")
    assert s.feed("@JOB-1") == []
    assert s.feed("7\r\n@BADGE") == ["JOB-17"]
    assert s.feed("-2\r\n\r\n") == ["BADGE-2"]  # an empty scan is not a scan


def test_splitter_without_suffix_uses_line_ends_or_a_pause():
    s = ScanSplitter(suffix="")
    assert s.feed("A1\nB2\r") == ["A1", "B2"]
    assert s.feed("C3") == []
    assert s.flush() == ["C3"]


def test_serial_scanner_through_a_pty(raw_pty):
    got: queue.Queue[str] = queue.Queue()
    states: queue.Queue[str] = queue.Queue()
    sc = SerialScanner(raw_pty.path, got.put, prefix="]C0", suffix="\r", on_state=states.put).start()
    try:
        assert states.get(timeout=2) == "connected"  # opening a port drops what was there before
        raw_pty.write(b"]C0FK1:J:", b"000123\r]C0CMD:START\r", pause=0.02)
        raw_pty.write("]C0Gold 18K–ring\r".encode())  # UTF-8 split by nothing special
        assert got.get(timeout=2) == "FK1:J:000123"
        assert got.get(timeout=2) == "CMD:START"
        assert got.get(timeout=2) == "Gold 18K–ring"
    finally:
        sc.stop()


def test_serial_scanner_reconnects_after_unplug(make_sim, tmp_path):
    """The port name goes away and comes back (a USB scanner re-plugged): scans resume."""
    import os
    import pty
    import tty

    link = tmp_path / "scanner"
    m1, s1 = pty.openpty()
    tty.setraw(s1)
    link.symlink_to(os.ttyname(s1))
    got: queue.Queue[str] = queue.Queue()
    states: queue.Queue[str] = queue.Queue()
    sc = SerialScanner(str(link), got.put, on_state=states.put, retry=0.05).start()
    try:
        assert states.get(timeout=2) == "connected"
        os.write(m1, b"ONE\r")
        assert got.get(timeout=2) == "ONE"
        os.close(m1)
        os.close(s1)
        link.unlink()
        assert states.get(timeout=2).startswith("disconnected")
        m2, s2 = pty.openpty()
        tty.setraw(s2)
        link.symlink_to(os.ttyname(s2))
        while states.get(timeout=3) != "connected":
            pass
        os.write(m2, b"TWO\r")
        assert got.get(timeout=2) == "TWO"
        os.close(m2)
        os.close(s2)
    finally:
        sc.stop()


# Key codes from linux/input-event-codes.h, as a HID scanner in US layout sends them.
KEY_LEFTSHIFT, KEY_ENTER, KEY_F, KEY_K, KEY_1, KEY_SEMICOLON, KEY_J, KEY_0, KEY_MINUS = 42, 28, 33, 37, 2, 39, 36, 11, 12


def press(keys: HidKeys, code: int, shift: bool = False) -> str:
    out = ""
    if shift:
        out += keys.feed(KEY_LEFTSHIFT, 1)
    out += keys.feed(code, 1) + keys.feed(code, 0)
    if shift:
        out += keys.feed(KEY_LEFTSHIFT, 0)
    return out


def test_hid_keys_turn_into_text():
    keys = HidKeys()
    typed = (
        press(keys, KEY_F, True) + press(keys, KEY_K, True) + press(keys, KEY_1)
        + press(keys, KEY_SEMICOLON, True) + press(keys, KEY_J, True) + press(keys, KEY_SEMICOLON, True)
        + press(keys, KEY_0) + press(keys, KEY_MINUS) + press(keys, KEY_1, True) + press(keys, KEY_ENTER)
    )
    assert typed == "FK1:J:0-!\n"
    assert ScanSplitter(suffix="\n").feed(typed) == ["FK1:J:0-!"]


def test_hid_scanner_without_evdev_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_evdev(name, *a, **kw):
        if name == "evdev":
            raise ImportError("No module named 'evdev'")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_evdev)  # an import failure cannot be had otherwise here
    with pytest.raises(FloorkioskError, match=r"floorkiosk\[hid\]"):
        scanners.HidScanner("/dev/input/event0", print)
