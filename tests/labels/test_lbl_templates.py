"""Templates: the shipped ones load, bad ones are refused with every problem named, sites add their own."""

from __future__ import annotations

import pytest

from floorkiosk.errors import ConfigError, NotFound
from floorkiosk.labels import LabelError, layout, list_templates, load_template, render_png, template_names
from floorkiosk.labels.templates import QR, Code128, load_template_file

from .helpers import RECORDS, decode_png

SHIPPED = {"job_bag", "batch_bag", "badge_card", "command_card", "stone_parcel"}


def test_every_label_of_the_issue_ships_as_a_template():
    assert SHIPPED <= set(template_names())
    for t in list_templates():
        assert t.width_mm > 0 and t.height_mm > 0
        kinds = {type(e) for e in t.elements}
        assert QR in kinds and Code128 in kinds, f"{t.name} must carry both symbols"


def test_job_bag_prints_what_the_bench_needs(job_bag):
    lay = layout(job_bag, RECORDS["job_bag"], 203)
    texts = [i.text for i in lay.items if hasattr(i, "text")]
    for wanted in ("J000123", "Pear solitaire, 1.2 ct", "18K yellow gold", "Due 2026-12-24", "RUSH", "MK"):
        assert wanted in texts
    # The job number is the largest text on the bag.
    sizes = {i.text: i.size for i in lay.items if hasattr(i, "text")}
    assert sizes["J000123"] == max(sizes.values())


def test_rush_marker_only_on_rush_jobs(job_bag):
    calm = layout(job_bag, {**RECORDS["job_bag"], "rush": False}, 203)
    assert "RUSH" not in [getattr(i, "text", None) for i in calm.items]
    assert not any(getattr(i, "fill", False) for i in calm.items)


def test_unknown_template_names_the_known_ones():
    with pytest.raises(NotFound) as err:
        load_template("jobbag")
    assert "jobbag" in str(err.value) and "job_bag" in str(err.value)
    with pytest.raises(NotFound):
        load_template("../pyproject")


BAD = '''
kind = "jobs"
width_mm = 50
height_mm = -3
colour = "red"

[[element]]
type = "text"
x = 2
y = 2
w = 60
size = 3
text = "{job.__class__}"
szie = 4

[[element]]
type = "qr"
x = 40
y = 1
size = "big"

[[element]]
type = "barcode"
x = 1
y = 1
'''


def test_a_bad_template_reports_every_problem_at_once(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as err:
        load_template_file(path)
    text = str(err.value)
    for expected in ("'kind' must be one of", "'height_mm' must be above 0", "unknown key 'colour'",
                     "element 1 (text): unknown key 'szie'", "element 2 (qr): 'size' must be a number",
                     "element 3: 'type' must be one of"):
        assert expected in text, expected
    assert all(p.startswith(str(path)) for p in err.value.problems)


def test_elements_outside_the_stock_and_bad_placeholders_are_refused(tmp_path):
    path = tmp_path / "wide.toml"
    path.write_text('''
kind = "job"
width_mm = 50
height_mm = 30
[[element]]
type = "code128"
x = 10
y = 20
w = 45
h = 5
[[element]]
type = "text"
x = 1
y = 1
w = 20
size = 3
text = "{design!r} {alloy"
''')
    with pytest.raises(ConfigError) as err:
        load_template_file(path)
    text = str(err.value)
    assert "outside the 50 x 30 mm stock" in text
    assert "bad placeholder" in text


def test_a_template_without_a_symbol_is_refused(tmp_path):
    path = tmp_path / "plain.toml"
    path.write_text('kind = "job"\nwidth_mm = 50\nheight_mm = 30\n[[element]]\ntype = "text"\n'
                    'x = 1\ny = 1\nw = 20\nsize = 3\ntext = "{job}"\n')
    with pytest.raises(ConfigError, match="a label must scan"):
        load_template_file(path)


def test_not_toml_at_all(tmp_path):
    path = tmp_path / "oops.toml"
    path.write_text("kind = job bag\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_template_file(path)


SMALL_JOB_TAG = '''
# A ring tag: what a site adds by dropping a file in its labels/ folder.
title = "Ring tag"
kind = "job"
width_mm = 60
height_mm = 25

[[element]]
type = "qr"
x = 0
y = 0
size = 14

[[element]]
type = "text"
x = 15
y = 1
w = 44
size = 5
text = "{job} {client_initials}"
bold = true

[[element]]
type = "code128"
x = 0
y = 14
w = 60
h = 10
'''


def test_a_site_adds_a_template_without_code(tmp_path):
    site = tmp_path / "site"
    (site / "labels").mkdir(parents=True)
    (site / "labels" / "ring_tag.toml").write_text(SMALL_JOB_TAG)
    assert "ring_tag" in template_names(site)
    assert "ring_tag" not in template_names()
    tag = load_template("ring_tag", site)
    assert tag.title == "Ring tag" and tag.fields == {"job", "client_initials"}
    for dpi in (203, 300, 600):
        assert decode_png(render_png(tag, RECORDS["job_bag"], dpi)) == [("Code128", "FK:J:J000123"),
                                                                          ("QRCode", "FK:J:J000123")]


def test_a_site_template_replaces_a_shipped_one_of_the_same_name(tmp_path):
    site = tmp_path / "site"
    (site / "labels").mkdir(parents=True)
    (site / "labels" / "job_bag.toml").write_text(SMALL_JOB_TAG)
    assert load_template("job_bag", site).title == "Ring tag"
    assert load_template("job_bag").title == "Job bag"


def test_missing_fields_are_named(job_bag):
    record = dict(RECORDS["job_bag"])
    del record["design"], record["due"]
    with pytest.raises(LabelError, match="needs field\\(s\\) design, due"):
        layout(job_bag, record, 203)


def test_a_bad_key_value_is_refused_not_printed(job_bag):
    with pytest.raises(LabelError, match="not a job number"):
        layout(job_bag, {**RECORDS["job_bag"], "job": "ring 5"}, 203)
    with pytest.raises(LabelError, match="needs the field 'job'"):
        layout(job_bag, {**RECORDS["job_bag"], "job": ""}, 203)
