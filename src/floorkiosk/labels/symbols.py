"""The two symbols on every label: QR (qrcode) and Code 128 (python-barcode), plus their ZPL field data.

PNG and PDF draw the module patterns computed here. ZPL lets the Zebra draw its own symbols
(sharp at any dpi), but with field data derived from the same encodings, so a ZPL label's Code 128
has exactly the width the layout reserved for it and its QR the version the layout sized.
"""

from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.constants
import qrcode.util
from barcode.charsets import code128 as c128
from barcode.codex import Code128

# Quartile error correction: job bags get scratched and creased; every payload of the scheme
# (FK:J:J000123 is 12 characters) still fits version 1 (21 x 21 modules) at this level.
QR_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
QR_ECL_LETTER = "Q"
QR_QUIET = 4  # modules of light margin on each side (ISO/IEC 18004)
CODE128_QUIET = 10  # modules of light margin on each side (ISO/IEC 15417)

_QR_ALNUM = frozenset(qrcode.util.ALPHA_NUM.decode())
_B_CHARS = {value: char for char, value in c128.B.items()}
_A_CHARS = {value: char for char, value in c128.A.items()}
_START = {103: "A", 104: "B", 105: "C"}
# Zebra ^BC invocation codes (ZPL II guide, "Code 128 Invocation Characters"): start codes and the
# CODE A/B/C switches. Symbol values 99/100/101 switch subsets except where they mean FNC4.
_ZPL_START = {"A": ">9", "B": ">:", "C": ">;"}
_ZPL_SWITCH = {99: (">5", "C"), 100: (">6", "B"), 101: (">7", "A")}


class SymbolError(ValueError):
    """A payload that a symbol cannot carry."""


def qr_alphanumeric(payload: str) -> bool:
    """True when QR alphanumeric mode can carry the payload (upper case, digits, space $%*+-./:)."""
    return all(c in _QR_ALNUM for c in payload)


@lru_cache(maxsize=256)
def qr_version(alphanumeric: bool, length: int) -> int:
    """The smallest QR version holding `length` characters in the given mode (depends on nothing else)."""
    mode = qrcode.util.MODE_ALPHA_NUM if alphanumeric else qrcode.util.MODE_8BIT_BYTE
    q = qrcode.QRCode(error_correction=QR_ERROR_CORRECTION)
    q.add_data(qrcode.util.QRData((b"A" if alphanumeric else b"a") * length, mode=mode))
    try:
        return q.best_fit()
    except qrcode.exceptions.DataOverflowError:
        raise SymbolError(f"{length} characters are too many for a QR code") from None


def qr_side(payload: str) -> int:
    """Modules on a side of the payload's QR symbol, quiet zone excluded."""
    return 17 + 4 * qr_version(qr_alphanumeric(payload), len(payload.encode("utf-8")))


@lru_cache(maxsize=2048)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (True = dark), quiet zone excluded, in the same mode and version as qr_side."""
    alnum = qr_alphanumeric(payload)
    mode = qrcode.util.MODE_ALPHA_NUM if alnum else qrcode.util.MODE_8BIT_BYTE
    q = qrcode.QRCode(error_correction=QR_ERROR_CORRECTION, border=0)
    q.add_data(qrcode.util.QRData(payload.encode("utf-8"), mode=mode))
    q.make(fit=True)
    return tuple(tuple(bool(m) for m in row) for row in q.modules)


def zpl_qr_data(payload: str) -> str:
    """^FD data for ^BQ: error correction, manual input and the character mode named explicitly, so
    the printer cannot pick another mode (and so another version) than the layout sized."""
    if qr_alphanumeric(payload):
        return f"{QR_ECL_LETTER}M,A{payload}"
    data = payload.encode("utf-8")
    return f"{QR_ECL_LETTER}M,B{len(data):04d}{payload}"


@lru_cache(maxsize=4096)
def code128_values(payload: str) -> tuple[int, ...]:
    """Symbol values: start code, data and subset switches, without check symbol and stop."""
    if not payload:
        raise SymbolError("an empty payload cannot be printed as Code 128")
    try:
        # A fresh encoder each time: python-barcode keeps its current subset on the instance.
        return tuple(Code128(payload).encoded)
    except (ValueError, RuntimeError) as exc:
        raise SymbolError(f"Code 128 cannot carry {payload!r}: {exc}") from None


def code128_modules(payload: str) -> str:
    """The bar pattern, '1' dark and '0' light per module, check symbol and stop included."""
    return Code128(payload).build()[0]


def code128_width(payload: str) -> int:
    """Modules from first to last bar: data symbols, check symbol (11 each) and stop (13)."""
    return 11 * (len(code128_values(payload)) + 1) + 13


def zpl_code128_data(payload: str) -> str:
    """^FD data for ^BC in mode N, with Zebra invocation codes spelling out the same subsets and
    switches as python-barcode chose, so printer and PNG produce the same symbol."""
    values = code128_values(payload)
    subset = _START[values[0]]
    out = [_ZPL_START[subset]]
    for v in values[1:]:
        if v in _ZPL_SWITCH and not (subset == "B" and v == 100) and not (subset == "A" and v == 101):
            code, subset = _ZPL_SWITCH[v]
            out.append(code)
        elif subset == "C":
            out.append(f"{v:02d}")
        else:
            char = (_B_CHARS if subset == "B" else _A_CHARS).get(v)
            if char is None or not (" " <= char <= "~") or char in "^~":
                # Control characters, FNC codes and ZPL's own prefixes never occur in our payloads.
                raise SymbolError(f"Code 128 payload {payload!r} has a character ZPL cannot carry")
            out.append("><" if char == ">" else char)
    return "".join(out)
