"""The scan payload scheme: every kind round-trips; bare job numbers work; anything else is refused."""

import pytest

from floorkiosk.domain import payloads as p


@pytest.mark.parametrize("kind,value", [(p.Kind.JOB, "J000123"), (p.Kind.BATCH, "B0042"), (p.Kind.BADGE, "B1001"),
                                        (p.Kind.COMMAND, "START"), (p.Kind.STONE_PARCEL, "SP-7")])
def test_round_trip(kind, value):
    raw = p.encode(kind, value)
    assert p.decode(raw) == p.Payload(kind, value)
    assert len(raw) <= 20  # short enough for Code 128 on a 50 mm bag label


@pytest.mark.parametrize("typed,expected", [("J000123", "J000123"), ("j123", "J000123"), ("123", "J000123"),
                                            ("  000123\n", "J000123"), ("FK:J:123", "J000123"), ("fk:j:j7", "J000007")])
def test_bare_job_numbers(typed, expected):
    assert p.decode(typed) == p.Payload(p.Kind.JOB, expected)


def test_commands_typed_by_hand():
    assert p.decode("finish") == p.Payload(p.Kind.COMMAND, "FINISH")


@pytest.mark.parametrize("raw,why", [
    ("https://example.com/product/42", "not a floorkiosk code"),
    ("4006381333931", "not a floorkiosk code"),  # an EAN-13 from a supplier's box
    ("FK:X:whatever", "unknown kind"),
    ("FK:J:12a4", "damaged job number"),
    ("FK:C:DANCE", "unknown command"),
    ("", "empty scan"),
    ("FK:P:bad badge!", "damaged code"),
])
def test_foreign_or_damaged_codes_are_refused_with_what_was_read(raw, why):
    with pytest.raises(p.NotOurCode) as exc:
        p.decode(raw)
    assert why in str(exc.value)
    if raw:
        assert repr(raw.strip()[:20])[1:-1][:10] in str(exc.value)


def test_control_characters_are_shown_not_passed_through():
    with pytest.raises(p.NotOurCode) as exc:
        p.decode("\x1b[A\x07junk")
    assert "\\x1b" in str(exc.value) and "\x1b" not in str(exc.value)


def test_encode_refuses_bad_values():
    with pytest.raises(ValueError):
        p.encode(p.Kind.JOB, "twelve")
    with pytest.raises(ValueError):
        p.encode(p.Kind.COMMAND, "DANCE")


# Look-alike characters: digits from other scripts pass `\d` and `int()`, letters like the long s
# upper-case to ASCII ones; each would open a job or fire a command that was never printed.
LOOK_ALIKES = [
    "FK:J:J\u0660\u0660\u0660\u0660\u0661\u0661",  # Arabic-Indic digits: J٠٠٠٠١١
    "FK:J:J\uff10\uff10\uff10\uff10\uff11\uff11",  # fullwidth digits
    "FK:J:J" + "".join(chr(0x1D7CE + int(d)) for d in "000011"),  # mathematical bold digits
    "FK:J:J\u06f1\u06f1",  # extended Arabic-Indic (Persian) digits
    "FK:J:J0000\u0967\u0967",  # Devanagari digits mixed with ASCII ones
    "J\u0660\u0660\u0660\u0660\u0661\u0661",  # typed bare job numbers
    "\uff11\uff11",
    "j\u0661\u0661",
    "FK:C:\u017ftart",  # long s: 'ſtart'.upper() == 'START'
    "FK:P:B1002\u200b",  # a zero-width space after a badge
    "\u00a0FK:J:J000011",  # a no-break space is not a scanner's white space
]


@pytest.mark.parametrize("raw", LOOK_ALIKES)
def test_look_alike_characters_are_not_our_codes(raw):
    with pytest.raises(p.NotOurCode) as exc:
        p.decode(raw)
    msg = str(exc.value)
    assert msg.startswith("not a floorkiosk code") and "outside ASCII" in msg
    # the refusal names the characters by code point: look-alikes shown as themselves would look right
    assert "\\u" in msg or "\\U" in msg or "\\x" in msg


@pytest.mark.parametrize("typed", ["J\u0660\u0660\u0660\u0660\u0661\u0661", "\uff11\uff11", "j\u0661\u0661",
                                   "1" + "\U0001d7cf"])
def test_look_alike_job_numbers_are_no_job_number(typed):
    assert p.normalize_job(typed) is None  # the shop's lookups and --job arguments go through it
    with pytest.raises(ValueError):
        p.encode(p.Kind.JOB, typed)


@pytest.mark.parametrize("raw,expected", [
    ("FK:J:J000011", p.Payload(p.Kind.JOB, "J000011")),
    ("  FK:J:J000011\r\n", p.Payload(p.Kind.JOB, "J000011")),  # a scanner's suffix, a hand's spaces
    ("\tj11 ", p.Payload(p.Kind.JOB, "J000011")),
    ("fk:c:start", p.Payload(p.Kind.COMMAND, "START")),
    ("FK:P:B1002", p.Payload(p.Kind.BADGE, "B1002")),
])
def test_plain_ascii_codes_still_read(raw, expected):
    assert p.decode(raw) == expected
    assert p.normalize_job("0000011\n") == "J000011"
