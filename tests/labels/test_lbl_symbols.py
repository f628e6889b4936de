"""The symbols: our fast paths give exactly what qrcode and python-barcode give, and ZPL field data
spells the same Code 128 the PNG draws."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest
import qrcode
import qrcode.util
from barcode.codex import Code128

from floorkiosk.domain.payloads import COMMANDS, Kind, encode
from floorkiosk.labels import symbols

from .helpers import read_back_code128


def scheme_payloads(n: int = 400, seed: int = 5) -> list[str]:
    """Payloads of every kind, with digit runs of every length (odd ones too) at every position."""
    rng = random.Random(seed)
    out = [encode(Kind.JOB, str(i)) for i in (0, 1, 9, 10, 99, 123, 4567, 999999)]
    out += [encode(Kind.COMMAND, c) for c in COMMANDS]
    alphabet = string.ascii_letters + "._-"
    for _ in range(n):
        kind = rng.choice([Kind.BATCH, Kind.BADGE, Kind.STONE_PARCEL])
        value = rng.choice(string.ascii_letters + string.digits)
        for _ in range(rng.randint(0, 30)):
            value += rng.choice(string.digits) if rng.random() < 0.6 else rng.choice(alphabet)
        out.append(encode(kind, value))
    return out


def test_code128_values_are_python_barcodes_own():
    for p in scheme_payloads():
        assert symbols.code128_values(p) == tuple(Code128(p).encoded), p


def test_code128_width_matches_the_drawn_pattern():
    for p in scheme_payloads(100):
        assert len(symbols.code128_modules(p)) == symbols.code128_width(symbols.code128_values(p))


def test_a_job_number_switches_to_subset_c_for_its_digits():
    assert symbols.zpl_code128_data("FK:J:J000123") == ">:FK:J:J>5000123"
    assert symbols.zpl_code128_data("FK:C:START") == ">:FK:C:START"
    # An odd run of digits: pairs in C, the last digit back in B (as python-barcode does).
    assert symbols.zpl_code128_data("FK:S:SP12345") == ">:FK:S:SP>51234>65"


def test_zpl_field_data_reads_back_to_the_same_symbol():
    for p in scheme_payloads():
        assert read_back_code128(symbols.zpl_code128_data(p)) == symbols.code128_values(p), p


def test_qr_symbol_is_exactly_what_qrcode_makes():
    for p in scheme_payloads(150, seed=9):
        mode = qrcode.util.MODE_ALPHA_NUM if symbols.qr_alphanumeric(p) else qrcode.util.MODE_8BIT_BYTE
        q = qrcode.QRCode(error_correction=symbols.QR_ERROR_CORRECTION, border=0)
        q.add_data(qrcode.util.QRData(p.encode(), mode=mode))
        q.make(fit=True)
        assert np.array_equal(symbols.qr_array(p), np.array(q.modules, dtype=bool)), p
        assert symbols.qr_side(p) == len(q.modules)


def test_each_derived_mask_variant_is_qrcodes_own():
    for p in ("FK:J:J000123", "FK:S:sp-0007_b", "FK:P:B1001"):
        q = symbols._qr_code(p)
        for k in range(8):
            q.makeImpl(False, k)
            assert np.array_equal(symbols.qr_variant(p, k), np.array(q.modules, dtype=bool))


def test_penalty_scores_agree_with_qrcode():
    for p in scheme_payloads(20, seed=2):
        q = symbols._qr_code(p)
        for k in range(8):
            q.makeImpl(True, k)
            assert symbols.qr_penalty(np.array(q.modules, dtype=bool)) == qrcode.util.lost_point(q.modules)


def test_the_workshops_codes_make_version_1_qr_symbols():
    # Job numbers, batch and badge codes and commands: 21 x 21 modules, the smallest QR there is.
    for p in ("FK:J:J000123", "FK:J:J999999", "FK:B:B0042", "FK:P:B1001", "FK:S:SP0007",
              *(encode(Kind.COMMAND, c) for c in COMMANDS)):
        assert symbols.qr_side(p) == 21, p
    # The longest payload the scheme allows, in byte mode, still stays at version 4.
    assert max(symbols.qr_side(p) for p in scheme_payloads(300)) <= 33
    assert symbols.qr_side("FK:S:" + "x" * 32) == 33


def test_zpl_qr_data_names_its_mode():
    assert symbols.zpl_qr_data("FK:J:J000123") == "QM,AFK:J:J000123"
    assert symbols.zpl_qr_data("FK:P:ana_1") == "QM,B0010FK:P:ana_1"


def test_empty_payload_is_refused():
    with pytest.raises(symbols.SymbolError):
        symbols.code128_values("")
