"""Stored JSON is read to the same values whichever reader takes it."""

import json
import math

import pytest

from floorkiosk.domain import events as ev


@pytest.mark.parametrize("text", [
    '{"a":1,"b":[1.5,"x",null,true],"c":{"d":"é ✓"}}',
    '{"big":123456789012345678901234567890}',  # beyond 64 bits: orjson refuses, json reads it
    '[1e400]', '"\\ud83d\\ude00"', '{}', '[]', '0',
])
def test_loads_reads_what_json_reads(text):
    assert ev.loads(text) == json.loads(text)


def test_loads_reads_nan_as_json_does():
    assert math.isnan(ev.loads('{"w":NaN}')["w"])


@pytest.mark.parametrize("text", ["not json", "", "[1,", "{'a':1}"])
def test_loads_refuses_what_is_not_json_with_a_value_error(text):
    with pytest.raises(ValueError):
        ev.loads(text)
