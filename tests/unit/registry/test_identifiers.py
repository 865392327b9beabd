"""Identifier rules, with the vectors of standards-telemetry.md §4.1 and §4.2."""
from __future__ import annotations

import pytest

from mobsrc.registry.identifiers import (
    PlateColour,
    normalize_plate,
    parse_plate_colour,
    plate_problem,
    uscc_check_character,
    uscc_problem,
    vin_check_digit,
    vin_problem,
)


@pytest.mark.parametrize("vin, check", [
    ("1FACP45EXLF192944", "X"), ("WDBEA30D3HA391172", "3"), ("1VWBP7A37DC046870", "7"),
    ("LGDCHA1G8MA127733", "8"), ("LG6ZDANH7EY208182", "7"), ("LTESTKZZ8R0000001", "8"),
])
def test_vin_check_digit_matches_the_documents_vectors(vin, check):
    assert vin_check_digit(vin) == check
    assert vin_problem(vin) is None


@pytest.mark.parametrize("vin, expected", [
    ("LWHTEST1234567895", "should be 9, not 2"),     # F-TIZA test VIN
    ("LSVAM41Z6F2000001", "should be 1, not 6"),     # SDK README sample
    ("LCIAMMBE4G0004671", "letters I, O, Q"),        # illegal letter I
    ("LGDCHA1G8MA12773", "17 characters"),
])
def test_bad_vins_are_explained(vin, expected):
    assert expected in vin_problem(vin)


def test_uscc_check_character_agrees_with_an_independent_implementation():
    # aarioai/id-rule notes that the pilot-era code 91350100M0001TGQXM computes check '1'.
    assert uscc_check_character("91350100M0001TGQX") == "1"
    assert uscc_problem("91350100M0001TGQX1") is None
    assert "should be 1" in uscc_problem("91350100M0001TGQXM")


@pytest.mark.parametrize("position", range(17))
def test_uscc_any_single_substitution_is_caught(position):
    code = "91520115MA6DKQ0X0" + uscc_check_character("91520115MA6DKQ0X0")
    for replacement in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if replacement != code[position]:
            typo = code[:position] + replacement + code[position + 1:]
            assert uscc_problem(typo) is not None, typo


@pytest.mark.parametrize("text, plate", [
    ("贵ａ·１２３４５", "贵A12345"), (" 贵a 12345 ", "贵A12345"), ("贵A-12345", "贵A12345"),
])
def test_plates_are_normalised(text, plate):
    assert normalize_plate(text) == plate


@pytest.mark.parametrize("plate, colour", [
    ("贵A12345", PlateColour.YELLOW), ("贵AD12345", PlateColour.GREEN), ("贵A12345D", PlateColour.YELLOW_GREEN),
    ("贵A1234挂", PlateColour.YELLOW), ("贵AFX1234", None), ("京A12345", PlateColour.BLUE),
])
def test_valid_plates(plate, colour):
    assert plate_problem(plate, colour) is None


@pytest.mark.parametrize("plate, colour", [
    ("A123456", None), ("贵AI2345", None), ("贵A1234", None), ("贵AD12345", PlateColour.YELLOW),
    ("贵A12345", PlateColour.GREEN), ("贵A123456", None),
])
def test_invalid_plates(plate, colour):
    assert plate_problem(plate, colour) is not None


@pytest.mark.parametrize("text, colour", [
    ("blue", PlateColour.BLUE), (" YELLOW ", PlateColour.YELLOW), ("yellow_green", PlateColour.YELLOW_GREEN),
    ("yellow green", PlateColour.YELLOW_GREEN), ("蓝", PlateColour.BLUE), ("蓝色", PlateColour.BLUE),
    ("黄牌", PlateColour.YELLOW), ("绿", PlateColour.GREEN), ("渐变绿色", PlateColour.GREEN),
    ("黄绿双拼", PlateColour.YELLOW_GREEN), ("黑", PlateColour.BLACK), ("白色", PlateColour.WHITE),
    ("其它", PlateColour.OTHER), ("ｙｅｌｌｏｗ", PlateColour.YELLOW),
])
def test_plate_colours_by_their_api_value_or_chinese_name(text, colour):
    assert parse_plate_colour(text) is colour


@pytest.mark.parametrize("text", ["red", "2", "", "黄黄", "yellowish"])
def test_unknown_plate_colours_are_not_guessed(text):
    assert parse_plate_colour(text) is None
