"""A serial scanner feeds the same scan path as the keyboard; the device strip; the kiosk command."""

from __future__ import annotations

import os
import pty
import tty

import pytest

from kiosk_helpers import until

from floorkiosk.cli import main as cli_main
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.devices import BenchDevices
from floorkiosk.kiosk.screens import WorklistScreen
from floorkiosk.kiosk.widgets import strip_text


async def test_a_serial_scanner_on_a_pty_logs_in_like_the_keyboard(workshop, clock):
    master, slave = pty.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    site = workshop()
    # the last bench of site.toml (dispatch) gets a serial scanner on the pty
    with open(site / "config" / "site.toml", "a") as f:
        f.write(f'[benches.scanner]\ntype = "serial"\nurl = "{os.ttyname(slave)}"\nsuffix = "\\r"\n')
    app = make_app(site, "dispatch", clock=clock)
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            await until(pilot, lambda: app.devices.cells["scanner"].text == "serial")
            os.write(master, b"FK:P:B1004\r")
            await until(pilot, lambda: app.person is not None)
            assert app.person.id == "dev" and isinstance(app.screen, WorklistScreen)
            assert app.scans[-1] == ("serial", "FK:P:B1004")
            os.write(master, b"not-ours\r")
            await until(pilot, lambda: app.scans[-1] == ("serial", "not-ours"))
            assert "not a floorkiosk code" in app.last_message[0]
    finally:
        os.close(master)
        os.close(slave)


async def test_device_strip_says_what_is_missing_in_words(workshop, clock):
    app = make_app(workshop(), "design", clock=clock)  # the design bench has no devices at all
    async with app.run_test(size=(100, 32)):
        text = strip_text(app.devices.cells.values()).plain
        for words in ("keyboard", "no scale", "no camera", "no printer", "hub: none"):
            assert words in text


def test_bench_devices_none_has_nothing_but_the_keyboard(workshop):
    from floorkiosk.workshop.site import open_shop

    shop = open_shop(workshop())
    try:
        d = BenchDevices.none(shop, "setting")
        d.start()
        assert d.cells["scale"].state == "none" and d.cells["camera"].state == "none"
        assert not d.has_scale and d.camera_source() is None
        d.stop()
    finally:
        shop.close()


def test_kiosk_command_refuses_an_unknown_bench_before_the_screen(workshop, capsys):
    site = workshop()
    assert cli_main(["--site", str(site), "kiosk", "--bench", "engraving-room"]) == 2
    err = capsys.readouterr().err
    assert "no bench 'engraving-room'" in err and "setting" in err


def test_kiosk_command_without_a_site_says_how_to_make_one(tmp_path, capsys):
    assert cli_main(["--site", str(tmp_path / "nowhere"), "kiosk", "--bench", "setting"]) == 2
    assert "floorkiosk init" in capsys.readouterr().err


async def test_hub_cell_shows_offline_with_the_events_queued(workshop, clock):
    # A hub address where nothing listens (loopback port 1): the bench works on, and says so.
    site = workshop(hub='"postgresql://bench@127.0.0.1:1/floorkiosk"')
    app = make_app(site, "casting", clock=clock)
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: app.devices.cells["hub"].text.startswith("hub: offline"), timeout=10)
        queued = int(app.devices.cells["hub"].text.split(",")[1].split()[0])
        from kiosk_helpers import scan

        await scan(pilot, "FK:P:B1001")  # a login is one more event for the hub
        app._poll_hub()
        await until(pilot, lambda: app.devices.cells["hub"].text.startswith(f"hub: offline, {queued + 1} event"))
        assert app.person is not None  # the screen kept answering
        assert "✗ hub: offline" in app.screen.query_one("#strip").render().plain


def test_a_scale_profile_that_does_not_exist_refuses_to_start_with_its_line(workshop, clock):
    from floorkiosk.errors import ConfigError

    site = workshop()
    cfg = site / "config" / "site.toml"
    cfg.write_text(cfg.read_text().replace('profile = "and-standard"', 'profile = "no-such-balance"'))
    with pytest.raises(ConfigError) as exc:
        make_app(site, "setting", clock=clock)
    assert any("site.toml:" in p and "no scale profile 'no-such-balance'" in p for p in exc.value.problems)


async def test_a_scale_with_an_unreadable_profile_file_is_named_and_weighing_says_so(workshop, jobs, clock):
    site = workshop()
    cfg = site / "config" / "site.toml"
    # a profile file of the site's own that went missing: only found out when the scale is opened
    cfg.write_text(cfg.read_text().replace('"sim:and-standard"', '"sim:no-such-balance.toml"')
                   .replace('profile = "and-standard"', 'profile = "no-such-balance.toml"'))
    app = make_app(site, "setting", clock=clock)
    async with app.run_test(size=(100, 32)) as pilot:
        assert "no-such-balance" in app.devices.cells["scale"].text
        assert not app.devices.has_scale
        from kiosk_helpers import scan

        from floorkiosk.kiosk.dialogs import WeighDialog

        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog)
                    and "NO SCALE" in str(app.screen.query_one("#weigh-sign").render()))
        await scan(pilot, "FK:C:ACCEPT")
        assert isinstance(app.screen, WeighDialog)
        assert app.shop.job(jobs.set).stage("stone-setting").weight_in is None


async def test_a_hid_scanner_that_cannot_be_read_is_shown_and_the_keyboard_still_scans(workshop, clock):
    site = workshop()
    with open(site / "config" / "site.toml", "a") as f:  # the last bench (dispatch)
        f.write('[benches.scanner]\ntype = "hid"\ndevice = "/dev/input/by-id/no-such-scanner-event-kbd"\n')
    app = make_app(site, "dispatch", clock=clock)
    async with app.run_test(size=(100, 32)) as pilot:
        # without evdev, or without that device: either way the strip says so
        await until(pilot, lambda: app.devices.cells["scanner"].state == "off")
        assert app.devices.cells["scanner"].text.startswith("scanner: ")
        from kiosk_helpers import scan

        await scan(pilot, "FK:P:B1004")
        assert app.person is not None and app.person.id == "dev"
