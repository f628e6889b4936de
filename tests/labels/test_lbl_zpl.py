"""ZPL: byte-exact against golden files, and the printer's own symbols scan back when drawn as a
Zebra reads the commands."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from floorkiosk.labels import SUPPORTED_DPI, LabelError, fonts, load_template, render_zpl
from floorkiosk.labels.layout import dots

from .helpers import PAYLOADS, RECORDS, decode, zpl_symbols_image

GOLDEN = Path(__file__).parent / "golden"
# FLOORKIOSK_UPDATE_GOLDEN=1 rewrites the files after a deliberate change; review the diff.
UPDATE = os.environ.get("FLOORKIOSK_UPDATE_GOLDEN") == "1"

CASES = [(name, 203) for name in sorted(RECORDS)] + [("job_bag", 300), ("job_bag", 600), ("command_card", 600)]


def check_golden(name: str, data: bytes) -> None:
    # Text is fitted with the label typeface's widths, so the bytes depend on it being installed.
    assert fonts.font_path(True) is not None, "DejaVu Sans Condensed is missing: install fonts-dejavu-core"
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(data)
    assert path.exists(), f"no golden file {path.name}: run with FLOORKIOSK_UPDATE_GOLDEN=1 once and review it"
    assert data == path.read_bytes(), f"ZPL differs from {path.name}"


@pytest.mark.parametrize("name,dpi", CASES)
def test_zpl_matches_golden_file(name, dpi):
    check_golden(f"{name}_{dpi}.zpl", render_zpl(load_template(name), RECORDS[name], dpi))


def test_many_labels_with_copies_match_golden_file(job_bag):
    records = [{**RECORDS["job_bag"], "job": f"J{n:06d}", "rush": n == 8} for n in (7, 8)]
    data = render_zpl(job_bag, records, 203, copies=2)
    check_golden("job_bag_two_jobs_copies_203.zpl", data)
    assert data.count(b"^XA") == data.count(b"^XZ") == 2 and data.count(b"^PQ2") == 2


@pytest.mark.parametrize("dpi", SUPPORTED_DPI)
def test_zpl_symbols_scan_back(template_name, dpi):
    tpl = load_template(template_name)
    zpl = render_zpl(tpl, RECORDS[template_name], dpi).decode()
    img = zpl_symbols_image(zpl, dots(tpl.width_mm, dpi), dots(tpl.height_mm, dpi))
    payload = PAYLOADS[template_name]
    assert decode(img) == [("Code128", payload), ("QRCode", payload)]


@pytest.mark.parametrize("dpi", SUPPORTED_DPI)
def test_zpl_states_the_stock_in_dots_and_utf8(job_bag, dpi):
    zpl = render_zpl(job_bag, RECORDS["job_bag"], dpi).decode()
    assert f"^PW{dots(76, dpi)}^LL{dots(51, dpi)}" in zpl and "^CI28" in zpl


def test_zpl_code128_module_fits_with_quiet_zones_at_203(template_name):
    tpl = load_template(template_name)
    zpl = render_zpl(tpl, RECORDS[template_name], 203).decode()
    fo_x, module = map(int, re.search(r"\^FO(\d+),\d+\^BY(\d+),", zpl).groups())
    from floorkiosk.labels.symbols import code128_values, code128_width

    width = code128_width(code128_values(PAYLOADS[template_name])) * module
    assert module >= 2 and fo_x >= 10 * module and fo_x + width + 10 * module <= dots(tpl.width_mm, 203)


def test_text_cannot_inject_zpl_commands(job_bag):
    record = {**RECORDS["job_bag"], "design": "Ring^XZ^XA~JA_x\\&y", "client_initials": "~HS"}
    zpl = render_zpl(job_bag, record, 203).decode()
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1 and "~JA" not in zpl and "~HS" not in zpl
    assert "^FH^FDRing_5EXZ_5EXA_7EJA_5Fx_5C&y^FS" in zpl


def test_utf8_text_passes_through(tmp_path):
    tpl = load_template("badge_card")
    zpl = render_zpl(tpl, {**RECORDS["badge_card"], "name": "Zoë Ødegård"}, 203)
    assert "Zoë Ødegård".encode() in zpl


def test_bad_copies_and_records_change_nothing(job_bag):
    with pytest.raises(LabelError, match="copies"):
        render_zpl(job_bag, RECORDS["job_bag"], 203, copies=0)
    good = RECORDS["job_bag"]
    with pytest.raises(LabelError, match="not a job number"):
        render_zpl(job_bag, [good, {**good, "job": "X-1"}], 203)
