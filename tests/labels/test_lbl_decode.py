"""Every PNG and PDF label, at every supported dpi, scans back to exactly its payload: QR and Code 128."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from floorkiosk.domain.payloads import COMMANDS
from floorkiosk.labels import (
    SUPPORTED_DPI,
    LabelError,
    layout,
    load_template,
    render_pdf,
    render_png,
    render_sheet_pdf,
)
from floorkiosk.labels.layout import PlacedCode128, PlacedQR, min_module
from floorkiosk.labels.pdf import sheet_grid
from floorkiosk.workshop.labelling import command_records
from floorkiosk.labels.symbols import CODE128_QUIET, QR_QUIET

from .helpers import PAYLOADS, RECORDS, decode, decode_png, rasterise


def both(payload: str) -> list[tuple[str, str]]:
    return [("Code128", payload), ("QRCode", payload)]


@pytest.mark.parametrize("dpi", SUPPORTED_DPI)
def test_png_label_scans_back(template_name, dpi):
    png = render_png(load_template(template_name), RECORDS[template_name], dpi)
    img = Image.open(io.BytesIO(png))
    tpl = load_template(template_name)
    # One image pixel per printer dot, and the file says so, so it prints to scale.
    assert img.size == (round(tpl.width_mm * dpi / 25.4), round(tpl.height_mm * dpi / 25.4))
    assert round(img.info["dpi"][0]) == dpi
    assert decode(img) == both(PAYLOADS[template_name])


@pytest.mark.parametrize("dpi", SUPPORTED_DPI)
def test_pdf_label_scans_back(template_name, dpi, tmp_path):
    tpl = load_template(template_name)
    pdf = render_pdf(tpl, [RECORDS[template_name]], dpi)
    (page,) = rasterise(pdf, dpi, tmp_path)
    # The page is the label stock, to the dot.
    assert abs(page.size[0] - tpl.width_mm * dpi / 25.4) <= 1
    assert decode(page) == both(PAYLOADS[template_name])


def test_a_pdf_of_many_labels_has_a_page_each(job_bag, tmp_path):
    records = [{**RECORDS["job_bag"], "job": f"J{n:06d}"} for n in (5, 6, 7)]
    pages = rasterise(render_pdf(job_bag, records, 203), 203, tmp_path)
    assert [decode(p) for p in pages] == [both(f"FK:J:J{n:06d}") for n in (5, 6, 7)]


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_command_card_sheet_scans_back_every_command(paper, tmp_path):
    tpl = load_template("command_card")
    pdf = render_sheet_pdf(tpl, command_records(), 300, paper)
    pages = rasterise(pdf, 300, tmp_path)
    grid = sheet_grid(tpl.width_mm, tpl.height_mm, paper)
    assert len(pages) == -(-len(COMMANDS) // grid.per_page), "a sheet holds as many cards as fit, then the next"
    found = []
    px = 300 / 25.4
    for n in range(len(COMMANDS)):
        page, slot = pages[n // grid.per_page], n % grid.per_page
        col, row = slot % grid.columns, slot // grid.columns
        x = (grid.left + col * (tpl.width_mm + 3)) * px
        y = (grid.top + row * (tpl.height_mm + 3)) * px
        card = page.crop((int(x), int(y), int(x + tpl.width_mm * px), int(y + tpl.height_mm * px)))
        found.append(decode(card))
    assert found == [both(f"FK:C:{c}") for c in COMMANDS]


def test_a_sheet_of_job_bags_runs_onto_more_pages(job_bag, tmp_path):
    grid = sheet_grid(job_bag.width_mm, job_bag.height_mm, "A4")
    records = [{**RECORDS["job_bag"], "job": f"J{n:06d}"} for n in range(1, grid.per_page + 2)]
    pages = rasterise(render_sheet_pdf(job_bag, records, 203, "A4"), 100, tmp_path)
    assert len(pages) == 2


@pytest.mark.parametrize("template_name", sorted(RECORDS))
def test_code128_fits_its_label_at_203_dpi_with_quiet_zones(template_name):
    tpl = load_template(template_name)
    lay = layout(tpl, RECORDS[template_name], 203)
    (bar,) = [i for i in lay.items if isinstance(i, PlacedCode128)]
    assert bar.module >= min_module(203) == 2  # 0.25 mm bars: what a cheap laser reads
    assert bar.x - CODE128_QUIET * bar.module >= 0
    assert bar.x + bar.width + CODE128_QUIET * bar.module <= lay.width
    # And on the printed image: the quiet zones are blank on every row the bars cover.
    img = Image.open(io.BytesIO(render_png(tpl, RECORDS[template_name], 203))).convert("L")
    quiet = CODE128_QUIET * bar.module
    for y in range(bar.y, bar.y + bar.height):
        left = [img.getpixel((x, y)) for x in range(bar.x - quiet, bar.x)]
        right = [img.getpixel((x, y)) for x in range(bar.x + bar.width, bar.x + bar.width + quiet)]
        assert min(left + right) == 255, f"something printed in the quiet zone at row {y}"
        assert img.getpixel((bar.x, y)) == 0 and img.getpixel((bar.x + bar.width - 1, y)) == 0


@pytest.mark.parametrize("dpi", SUPPORTED_DPI)
def test_qr_has_its_quiet_zone_on_the_label(template_name, dpi):
    tpl = load_template(template_name)
    lay = layout(tpl, RECORDS[template_name], dpi)
    (qr,) = [i for i in lay.items if isinstance(i, PlacedQR)]
    q = QR_QUIET * qr.module
    assert qr.x - q >= 0 and qr.y - q >= 0
    assert qr.x + qr.side * qr.module + q <= lay.width and qr.y + qr.side * qr.module + q <= lay.height
    assert qr.module >= min_module(dpi)


def test_long_text_is_shortened_and_the_label_still_scans(job_bag):
    record = {**RECORDS["job_bag"], "design": "Three-stone engagement ring with hidden halo and pavé shoulders"}
    lay = layout(job_bag, record, 203)
    design = next(i for i in lay.items if getattr(i, "text", "").startswith("Three"))
    assert design.text.endswith("…") and len(design.text) < len(record["design"])
    assert decode_png(render_png(job_bag, record, 203)) == both("FK:J:J000123")


def test_a_payload_too_long_for_the_stock_is_refused_not_misprinted():
    tpl = load_template("stone_parcel")
    with pytest.raises(LabelError, match="needs .* mm with its quiet zones at 203 dpi"):
        render_png(tpl, {**RECORDS["stone_parcel"], "parcel": "PARCEL-FROM-SUPPLIER-ABC-2026"}, 203)


@pytest.mark.parametrize("dpi", [0, 150, 250, "300", 300.0, True])
def test_unsupported_dpi_is_refused(job_bag, dpi):
    from floorkiosk.errors import Refused

    render_png(job_bag, RECORDS["job_bag"], 300)  # a template already used at 300 dpi, as in a running kiosk
    with pytest.raises(Refused, match="203, 300 or 600"):
        render_png(job_bag, RECORDS["job_bag"], dpi)


def test_non_latin_text_prints(tmp_path):
    tpl = load_template("badge_card")
    record = {**RECORDS["badge_card"], "name": "Zoë Ødegård-Łukasz"}
    assert decode_png(render_png(tpl, record, 300)) == both("FK:P:B1003")
    (page,) = rasterise(render_pdf(tpl, [record], 300), 300, tmp_path)
    assert decode(page) == both("FK:P:B1003")
