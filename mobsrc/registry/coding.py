"""Registration codes for non-road mobile machinery. Pure.

The national and Guiyang code formats are UNCONFIRMED (standards-telemetry.md §4.3: "treat it as
an opaque string"), so mobsrc issues its own code, designed to be read, typed and checked on site
without a network:

    520115 EX 000123 C      (printed with hyphens: 520115-EX-000123-C; stored without)
    |      |  |      +- check character over the 14 characters before it (GB 32100-style mod 31)
    |      |  +-------- serial within (district, machine type), 6 digits, never reused
    |      +----------- machine type, 2 letters (MACHINE_TYPE_CODES)
    +------------------ GB/T 2260 code of the registering district (e.g. 520115 Guanshanhu)

Why this shape: the district and type can be read off the label by an inspector; the serial is
per district and type so codes stay short; and the check character catches every single
mistyped character and every swap of two adjacent characters (see check_character), so a
typing slip never lands on another machine's code.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class MachineType(str, enum.Enum):
    EXCAVATOR = "excavator"
    LOADER = "loader"
    BULLDOZER = "bulldozer"
    ROLLER = "roller"
    CRANE = "crane"
    FORKLIFT = "forklift"
    PAVER = "paver"
    GRADER = "grader"
    DRILLING_RIG = "drilling_rig"
    CONCRETE_PUMP = "concrete_pump"
    GENERATOR_SET = "generator_set"
    AERIAL_WORK_PLATFORM = "aerial_work_platform"
    TRACTOR = "tractor"
    OTHER = "other"


MACHINE_TYPE_CODES = {
    MachineType.EXCAVATOR: "EX", MachineType.LOADER: "LD", MachineType.BULLDOZER: "BD",
    MachineType.ROLLER: "RL", MachineType.CRANE: "CR", MachineType.FORKLIFT: "FL",
    MachineType.PAVER: "PV", MachineType.GRADER: "GR", MachineType.DRILLING_RIG: "DR",
    MachineType.CONCRETE_PUMP: "CP", MachineType.GENERATOR_SET: "GS",
    MachineType.AERIAL_WORK_PLATFORM: "AW", MachineType.TRACTOR: "TR", MachineType.OTHER: "OT",
}
TYPE_OF_CODE = {code: machine_type for machine_type, code in MACHINE_TYPE_CODES.items()}

VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
# The check character is written without I, O, S, V, Z (easily read as 1, 0, 5, U, 2).
CHECK_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(14)]
SERIAL_DIGITS = 6
MAX_SERIAL = 10**SERIAL_DIGITS - 1
_CODE = re.compile(r"^(\d{6})([A-Z]{2})(\d{6})([0-9A-HJ-NPQRTUWXY])$")


def check_character(body: str) -> str:
    """Weighted sum mod 31 with weights 3^i (the GB 32100 scheme, over 0-9A-Z values).

    31 is prime and consecutive weights differ by a factor 3, so a single wrong character
    (value change d, 0 < |d| < 31) or a swap of adjacent characters a, b (error 2(a-b)w) never
    keeps the sum: every such error is caught. |d| = 31 needs a digit where a letter belongs,
    which the code's shape already rejects.
    """
    total = sum(VALUES[c] * w for c, w in zip(body, WEIGHTS))
    return CHECK_ALPHABET[(31 - total % 31) % 31]


def issue_code(district_code: str, machine_type: MachineType, serial: int) -> str:
    if not re.fullmatch(r"\d{6}", district_code):
        raise ValueError(f"district code must be 6 digits (GB/T 2260), got {district_code!r}")
    if not 1 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial must be within 1..{MAX_SERIAL}, got {serial}")
    body = f"{district_code}{MACHINE_TYPE_CODES[machine_type]}{serial:0{SERIAL_DIGITS}d}"
    return body + check_character(body)


def canonical(code: str) -> str:
    """What a person typed or a scanner read -> the stored form (no separators, upper case)."""
    return re.sub(r"[\s\-_.·]", "", code).upper()


def display(code: str) -> str:
    return f"{code[:6]}-{code[6:8]}-{code[8:14]}-{code[14:]}"


@dataclass(frozen=True)
class ParsedCode:
    code: str
    district_code: str
    machine_type: MachineType
    serial: int


def parse_code(text: str) -> ParsedCode | str:
    """The parts of a well-formed code, or the reason it is not one (offline verification)."""
    code = canonical(text)
    match = _CODE.match(code)
    if match is None:
        return "a registration code is 6 digits, 2 letters, 6 digits and a check character"
    district, type_code, serial, check = match.groups()
    if type_code not in TYPE_OF_CODE:
        return f"unknown machine type code {type_code}"
    if check_character(code[:-1]) != check:
        return "check character does not match: the code was mistyped or forged"
    return ParsedCode(code, district, TYPE_OF_CODE[type_code], int(serial))
