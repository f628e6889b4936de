"""No password of a hub address is ever shown: not masked addresses, not reprs (which Textual's crash
report prints with every frame's locals), not the errors of a hub that cannot be reached, not
`floorkiosk sync status`."""

from __future__ import annotations

import io
import os
import socket
from urllib.parse import quote

import pytest
from rich.console import Console
from rich.traceback import Traceback

from config_helpers import copy_example, edit  # tests/ is on the path (pytest rootdir)
from floorkiosk.cli import main
from floorkiosk.domain.config import load_site
from floorkiosk.store import hub
from floorkiosk.workshop.site import init_site

# A password holding every character that has a meaning in an address, in pieces long enough to spot.
PASSWORD = "alpha7/bravo8@charlie9:delta0?echo1#foxtrot2 golf3'hotel4"
PIECES = ["alpha7", "bravo8", "charlie9", "delta0", "echo1", "foxtrot2", "golf3", "hotel4"]
SHORT = "se/cret"  # the one of the issue: a / in it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kv_quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def addresses(port: int, password: str = PASSWORD) -> dict[str, str]:
    """One address per way of writing a password, each naming the hub at 127.0.0.1:port."""
    enc = quote(password, safe="")
    return {
        "url, percent-encoded": f"postgresql://bench:{enc}@127.0.0.1:{port}/fk",
        "url, in the query": f"postgresql://127.0.0.1:{port}/fk?user=bench&password={enc}",
        "url, / as written": f"postgresql://bench:{SHORT}@127.0.0.1:{port}/fk",
        "url, @ as written": f"postgresql://bench:se@cret@127.0.0.1:{port}/fk",
        "url, ? # : as written": f"postgresql://bench:se?cr#et:x@127.0.0.1:{port}/fk",
        "url, the host left out": "postgresql://bench:secretpass/fk",
        "key=value, quoted": f"host=127.0.0.1 port={port} user=bench password={kv_quoted(password)} dbname=fk",
        "key=value, unquoted": f"host=127.0.0.1 port={port} user=bench password=al/ph@a:b?c#d dbname=fk",
        "key=value, a space unquoted": f"host=127.0.0.1 port={port} password=alpha7 bravo8 dbname=fk",
    }


def leaks(text: str) -> list[str]:
    found = [p for p in PIECES if p in text]
    for secret in (SHORT, "cret@", "secretpass", "al/ph@a", "ph@a:b", "cr#et", "alpha7", quote(PASSWORD, safe="")):
        if secret in text:
            found.append(secret)
    return found


@pytest.mark.parametrize("form", list(addresses(5432)))
def test_a_masked_address_holds_no_piece_of_its_password(form):
    dsn = addresses(5432)[form]
    shown = hub.mask_dsn(dsn)
    assert leaks(shown) == [], f"{form}: {shown}"
    assert "***" in shown or "not shown" in shown
    address = hub.HubAddress(dsn, user="fk_setting", password="s3cr3t/x@y")
    texts = [str(address), repr(address)]
    if form != "key=value, a space unquoted":  # not an address: text around it cannot tell where it ends
        texts.append(address.scrub(f"the server said: {dsn} refused"))
    for text in texts:
        assert leaks(text) == [] and "s3cr3t" not in text, f"{form}: {text}"


def test_a_readable_address_is_shown_with_everything_but_its_password():
    enc = quote(PASSWORD, safe="")
    assert hub.mask_dsn(f"postgresql://bench:{enc}@hub.shop:5433/fk?options=-csearch_path%3Dshop1") == \
        "postgresql://bench:***@hub.shop:5433/fk?options=-csearch_path%3Dshop1"
    assert hub.mask_dsn(f"host=hub.shop user=bench password={kv_quoted(PASSWORD)} dbname=fk") == \
        "user=bench password=*** dbname=fk host=hub.shop"
    # libpq reads these otherwise than meant (a piece of the password as the host, port or database)
    assert hub.mask_dsn(f"postgresql://bench:{SHORT}@hub.shop/fk") == "(a hub address that cannot be read; not shown)"
    with pytest.raises(hub.HubError, match="write a password's / as %2F"):
        hub.schema_of(f"postgresql://bench:{SHORT}@hub.shop/fk")


@pytest.mark.parametrize("form", list(addresses(5432)))
def test_a_hub_that_cannot_be_reached_says_so_without_the_password(form):
    dsn = addresses(free_port())[form]
    with pytest.raises(hub.HubError) as err:
        hub.connect(hub.HubAddress(dsn), timeout=1)
    text = str(err.value)
    assert leaks(text) == [], f"{form}: {text}"
    assert "cannot reach the hub" in text or "cannot be read" in text


def test_a_server_that_refuses_says_so_without_the_password():
    base = os.environ.get("FLOORKIOSK_TEST_PG")
    if not base:
        pytest.skip("FLOORKIOSK_TEST_PG is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    parts = hub.dsn_parts(base)
    enc = quote(PASSWORD, safe="")
    dsn = f"postgresql://{parts.get('user', 'postgres')}:{enc}@{parts['host']}:{parts.get('port', 5432)}/faults_no_such_db"
    with pytest.raises(hub.HubError) as err:
        hub.connect(hub.HubAddress(dsn), timeout=3)
    text = str(err.value)
    assert "faults_no_such_db" in text and leaks(text) == [], text


def crash_report(site, settings, address) -> str:
    """What Textual prints when the kiosk crashes (textual.app.App._fatal_error): every frame's locals."""
    def screen_code(site, settings, address):
        raise RuntimeError("a bug in a screen")

    try:
        screen_code(site, settings, address)
    except RuntimeError:
        out = io.StringIO()
        Console(file=out, width=200, color_system=None).print(
            Traceback(show_locals=True, width=None, locals_max_length=5))
        return out.getvalue()
    raise AssertionError("no crash")


def hub_site(tmp_path, dsn: str):
    cfg = copy_example(tmp_path / "cfg")
    edit(cfg / "site.toml", "[site]\n", f"[site]\nhub = {dsn!r}\n".replace("'", '"') if "'" not in dsn else
         f"[site]\nhub = '''{dsn}'''\n")
    return cfg


def test_the_site_settings_and_a_crash_report_hold_no_password(tmp_path):
    dsn = f"postgresql://bench:{quote(PASSWORD, safe='')}@hub.shop/fk"
    site = load_site(hub_site(tmp_path, dsn))
    assert site.settings.hub == dsn  # the address is there for the hub's code to use
    settings = site.settings
    address = hub.HubAddress(site.settings.hub, user="fk_setting", password="s3cr3t")
    for text in (repr(site), repr(settings), str(settings), repr(address)):
        assert leaks(text) == [] and "s3cr3t" not in text, text

    report = crash_report(site, settings, address)
    assert "a bug in a screen" in report and "settings" in report
    assert leaks(report) == [] and "s3cr3t" not in report, report
    assert "2468" not in report and "1357" not in report  # nor a supervisor's PIN


@pytest.mark.parametrize("form", ["url, percent-encoded", "url, / as written", "url, in the query"])
def test_sync_status_of_an_unreachable_hub_shows_no_password(tmp_path, capsys, form):
    dsn = addresses(free_port())[form]
    init_site(tmp_path / "site", hub_site(tmp_path, dsn), origin="bench-secrets")
    code = main(["--site", str(tmp_path / "site"), "sync", "status"])
    out, err = capsys.readouterr()
    assert code != 0
    assert leaks(out + err) == [], out + err
    assert "offline" in out + err or "cannot be read" in out + err, out + err
    assert "Traceback" not in err
