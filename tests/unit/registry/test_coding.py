"""Registration codes: structure, check character, offline verification."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobsrc.registry.coding import MAX_SERIAL, MachineType, ParsedCode, canonical, display, issue_code, parse_code

DISTRICTS = st.sampled_from(["520102", "520103", "520111", "520115", "520181"])
TYPES = st.sampled_from(list(MachineType))
SERIALS = st.integers(min_value=1, max_value=MAX_SERIAL)
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_code_layout():
    code = issue_code("520115", MachineType.EXCAVATOR, 123)
    assert code[:14] == "520115EX000123" and len(code) == 15
    assert display(code) == f"520115-EX-000123-{code[-1]}"
    assert parse_code(display(code).lower()) == ParsedCode(code, "520115", MachineType.EXCAVATOR, 123)


@given(DISTRICTS, TYPES, SERIALS)
def test_issued_codes_verify_offline(district, machine_type, serial):
    parsed = parse_code(issue_code(district, machine_type, serial))
    assert parsed == ParsedCode(issue_code(district, machine_type, serial), district, machine_type, serial)


@given(DISTRICTS, TYPES, SERIALS, st.integers(0, 14), st.sampled_from(ALPHANUMERIC))
def test_any_single_mistyped_character_is_caught(district, machine_type, serial, position, char):
    code = issue_code(district, machine_type, serial)
    typo = code[:position] + char + code[position + 1:]
    if typo != code:
        assert not isinstance(parse_code(typo), ParsedCode)


@given(DISTRICTS, TYPES, SERIALS, st.integers(0, 13))
def test_any_swap_of_adjacent_characters_is_caught(district, machine_type, serial, position):
    code = issue_code(district, machine_type, serial)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    if swapped != code:
        assert not isinstance(parse_code(swapped), ParsedCode)


@pytest.mark.parametrize("text, reason", [
    ("520115-EX-000123", "6 digits, 2 letters"), ("520115ZZ0001234", "unknown machine type"),
])
def test_malformed_codes_are_explained(text, reason):
    assert reason in parse_code(text)


def test_canonical_strips_separators():
    assert canonical(" 520115-ex-000123-c ") == "520115EX000123C"


@pytest.mark.parametrize("district, serial", [("52011", 1), ("520115", 0), ("520115", MAX_SERIAL + 1)])
def test_issue_code_refuses_bad_parts(district, serial):
    with pytest.raises(ValueError):
        issue_code(district, MachineType.LOADER, serial)
