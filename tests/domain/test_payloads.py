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
