"""Emission classes of machines and vehicles, and fuels. Pure.

NRMM stages follow GB 20891-2007 (China I, II) and GB 20891-2014 (China III, IV), see
standards-telemetry.md §3.1; heavy-duty vehicles China III to VI (GB 17691).
"""
from __future__ import annotations

import enum


class EmissionStage(str, enum.Enum):
    """NRMM emission stage; the order is the order of strictness (zones compare stages)."""

    PRE_CHINA_1 = "pre_china_1"
    CHINA_1 = "china_1"
    CHINA_2 = "china_2"
    CHINA_3 = "china_3"
    CHINA_4 = "china_4"

    @property
    def rank(self) -> int:
        return list(EmissionStage).index(self)


class VehicleStandard(str, enum.Enum):
    CHINA_3 = "china_3"
    CHINA_4 = "china_4"
    CHINA_5 = "china_5"
    CHINA_6 = "china_6"


class Fuel(str, enum.Enum):
    DIESEL = "diesel"
    PETROL = "petrol"
    NATURAL_GAS = "natural_gas"
    ELECTRIC = "electric"
    HYBRID = "hybrid"
    OTHER = "other"


# HJ 1014-2020: Stage IV machinery of 37-560 kW must carry a positioning / remote terminal
# (standards-telemetry.md §2.2, SECONDARY x3; clause number UNCONFIRMED).
TERMINAL_REQUIRED_KW = (37.0, 560.0)


def is_terminal_required(stage: EmissionStage, rated_power_kw: float) -> bool:
    low, high = TERMINAL_REQUIRED_KW
    return stage is EmissionStage.CHINA_4 and low <= rated_power_kw <= high
