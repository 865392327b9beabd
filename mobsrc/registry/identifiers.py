"""Identifier rules: unified social credit code (GB 32100), VIN (GB 16735 / ISO 3779) and
motor-vehicle plates (GA 36). Pure: each function returns the problem as text, or None.

Sources are in standards-telemetry.md §4.1 (VIN) and §4.2 (plates); GB 32100-2015 is the
national standard for the credit code (check character per its clause 4.4, as implemented
alike by several public validators).
"""
from __future__ import annotations

import enum
import re
import unicodedata

# --- Unified social credit code (统一社会信用代码), GB 32100-2015 -------------------------------

# 31 characters: digits and capitals without I, O, S, V, Z. The value of a character is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, ...
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def uscc_check_character(first17: str) -> str:
    """C18 = 31 - (sum of value x weight mod 31); a result of 31 is written 0."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    if not _USCC_SHAPE.match(code):
        return "only digits and capital letters except I, O, S, V, Z; characters 3-8 are the region code"
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return f"check character should be {expected}, not {code[17]}: a character was mistyped"
    return None


def normalize_uscc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")


# --- VIN, GB 16735 / ISO 3779 (standards-telemetry.md §4.1) -------------------------------------

_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))),
               "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_SHAPE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def vin_check_digit(vin: str) -> str:
    """Position 9: sum(value x weight) mod 11, remainder 10 written X."""
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(vin, VIN_WEIGHTS)) % 11
    return "X" if remainder == 10 else str(remainder)


def vin_problem(vin: str) -> str | None:
    if len(vin) != 17:
        return f"must be 17 characters, got {len(vin)}"
    if not _VIN_SHAPE.match(vin):
        bad = sorted({c for c in vin if c not in _VIN_VALUES})
        return f"letters I, O, Q and other characters are not used in a VIN: {''.join(bad) or vin}"
    expected = vin_check_digit(vin)
    if vin[8] != expected:
        return f"check digit (9th character) should be {expected}, not {vin[8]}"
    return None


def normalize_vin(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")


# --- Plates, GA 36-2018 (standards-telemetry.md §4.2) -------------------------------------------

PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
_SERIAL = "[A-HJ-NP-Z0-9]"
# D pure electric, F other new energy [CONFIRMED]; A B C E / G H J K later additions [SECONDARY].
NEW_ENERGY_LETTERS = "DFABCEGHJK"
_ORDINARY = re.compile(rf"^[{PROVINCES}][A-Z]{_SERIAL}{{4}}[A-HJ-NP-Z0-9挂学警港澳]$")
_SMALL_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][A-Z][{NEW_ENERGY_LETTERS}]{_SERIAL}\d{{4}}$")
_LARGE_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][A-Z]\d{{5}}[{NEW_ENERGY_LETTERS}]$")
_EMBASSY = re.compile(rf"^[使]\d{{6}}$|^\d{{6}}[使领]$|^[{PROVINCES}][A-Z]{_SERIAL}{{4}}领$")


class PlateColour(str, enum.Enum):
    """Stored apart from the number: the same number can exist in two colours (§4.2)."""

    BLUE = "blue"                  # small vehicles
    YELLOW = "yellow"              # large vehicles: the usual colour of heavy diesel trucks
    GREEN = "green"                # small new-energy (gradient green), 8 characters
    YELLOW_GREEN = "yellow_green"  # large new-energy, 8 characters
    BLACK = "black"                # embassy/consulate, HK/Macau cross-border
    WHITE = "white"                # police
    OTHER = "other"


# What stations, cameras and clerks write for a plate colour, besides the API's own values.
PLATE_COLOUR_NAMES: dict[str, PlateColour] = {
    **{name: PlateColour.BLUE for name in ("蓝", "蓝色", "蓝牌")},
    **{name: PlateColour.YELLOW for name in ("黄", "黄色", "黄牌")},
    **{name: PlateColour.GREEN for name in ("绿", "绿色", "绿牌", "渐变绿", "渐变绿色")},
    **{name: PlateColour.YELLOW_GREEN for name in ("黄绿", "黄绿色", "黄绿双拼", "黄绿双拼色")},
    **{name: PlateColour.BLACK for name in ("黑", "黑色", "黑牌")},
    **{name: PlateColour.WHITE for name in ("白", "白色", "白牌")},
    **{name: PlateColour.OTHER for name in ("其他", "其它")},
}


def parse_plate_colour(text: str) -> PlateColour | None:
    """'yellow', 'Yellow', 'yellow-green', '黄', '黄色', '渐变绿' -> the colour; None if unknown.
    Numeric codes differ between device makers and are not guessed."""
    folded = unicodedata.normalize("NFKC", text).strip()
    value = re.sub(r"[\s\-]+", "_", folded.lower())
    try:
        return PlateColour(value)
    except ValueError:
        return PLATE_COLOUR_NAMES.get(folded)


def normalize_plate(text: str) -> str:
    """Full-width to half-width, drop spaces, dots and hyphens, upper case: '贵ａ·12345' -> '贵A12345'."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"[\s·.\-_•]", "", folded)


def plate_problem(plate: str, colour: PlateColour | None = None) -> str | None:
    if not plate or plate[0] not in PROVINCES + "使":
        return "must start with a province abbreviation such as 贵"
    if len(plate) == 8:
        if not (_SMALL_NEW_ENERGY.match(plate) or _LARGE_NEW_ENERGY.match(plate)):
            return "an 8-character plate must be a new-energy plate (e.g. 贵AD12345 or 贵A12345D)"
        if colour not in (None, PlateColour.GREEN, PlateColour.YELLOW_GREEN):
            return "new-energy plates are green or yellow-green"
        return None
    if len(plate) != 7:
        return f"must have 7 characters (8 for new-energy plates), got {len(plate)}"
    if _ORDINARY.match(plate) or _EMBASSY.match(plate):
        if colour in (PlateColour.GREEN, PlateColour.YELLOW_GREEN):
            return "green plates have 8 characters"
        return None
    return "after the province and the issuing letter come 5 letters or digits (no I or O)"
