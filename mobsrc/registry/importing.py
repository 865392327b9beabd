"""Reading an operator's machine list (CSV) into row dicts the registration schema validates.
Pure: bytes in, rows out; the same schema as the API judges each row.

Operators keep these lists in spreadsheet programs: files come as UTF-8 (with or without BOM) or
GB 18030/GBK, with English or Chinese headers and Chinese values ("挖掘机", "国三").
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from mobsrc.registry.coding import MachineType
from mobsrc.registry.emissions import EmissionStage, Fuel

HEADER_ALIASES = {
    "machine_type": ("machine_type", "type", "机械类型", "机械种类"),
    "brand": ("brand", "品牌"),
    "model": ("model", "型号", "机械型号"),
    "machine_serial": ("machine_serial", "pin", "serial", "机械编号", "整机编号", "出厂编号"),
    "engine_manufacturer": ("engine_manufacturer", "发动机生产厂", "发动机厂家", "发动机制造商"),
    "engine_model": ("engine_model", "发动机型号"),
    "engine_serial": ("engine_serial", "发动机编号", "发动机号"),
    "rated_power_kw": ("rated_power_kw", "rated_power", "额定功率", "额定功率(kw)", "额定功率kw"),
    "fuel": ("fuel", "燃料", "燃料类型"),
    "emission_stage": ("emission_stage", "stage", "排放阶段"),
    "manufactured_on": ("manufactured_on", "manufacture_date", "出厂日期", "生产日期"),
    "terminal_id": ("terminal_id", "终端编号", "终端号"),
    "district_code": ("district_code", "区县代码", "行政区划代码"),
}
_HEADER_OF = {alias.lower(): name for name, aliases in HEADER_ALIASES.items() for alias in aliases}

VALUE_ALIASES = {
    "machine_type": {"挖掘机": MachineType.EXCAVATOR, "装载机": MachineType.LOADER, "推土机": MachineType.BULLDOZER,
                     "压路机": MachineType.ROLLER, "起重机": MachineType.CRANE, "叉车": MachineType.FORKLIFT,
                     "摊铺机": MachineType.PAVER, "平地机": MachineType.GRADER, "钻机": MachineType.DRILLING_RIG,
                     "旋挖钻机": MachineType.DRILLING_RIG, "混凝土泵车": MachineType.CONCRETE_PUMP,
                     "混凝土泵": MachineType.CONCRETE_PUMP, "发电机组": MachineType.GENERATOR_SET,
                     "高空作业平台": MachineType.AERIAL_WORK_PLATFORM, "牵引车": MachineType.TRACTOR,
                     "拖拉机": MachineType.TRACTOR, "其他": MachineType.OTHER},
    "emission_stage": {"国一前": EmissionStage.PRE_CHINA_1, "国一以前": EmissionStage.PRE_CHINA_1,
                       "国一": EmissionStage.CHINA_1, "国二": EmissionStage.CHINA_2,
                       "国三": EmissionStage.CHINA_3, "国四": EmissionStage.CHINA_4,
                       "国i": EmissionStage.CHINA_1, "国ii": EmissionStage.CHINA_2,
                       "国iii": EmissionStage.CHINA_3, "国iv": EmissionStage.CHINA_4},
    "fuel": {"柴油": Fuel.DIESEL, "汽油": Fuel.PETROL, "天然气": Fuel.NATURAL_GAS, "电": Fuel.ELECTRIC,
             "纯电动": Fuel.ELECTRIC, "混合动力": Fuel.HYBRID, "其他": Fuel.OTHER},
}
MAX_ROWS = 20_000


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (encoding, no header, too many rows)."""


@dataclass(frozen=True)
class SheetRow:
    number: int          # 1 = the first row under the header, as a spreadsheet user counts
    values: dict         # canonical field name -> text (or enum value from VALUE_ALIASES)
    unknown_columns: tuple[str, ...]


def decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("the file is neither UTF-8 nor GB18030/GBK text; save it as CSV (UTF-8)")


def _canonical_value(field: str, text: str) -> str:
    alias = VALUE_ALIASES.get(field, {}).get(text.lower().replace(" ", ""))
    return alias.value if alias is not None else text


def read_rows(content: bytes) -> Iterator[SheetRow]:
    """Yield each non-empty data row. Raises UnreadableFile for problems with the whole file."""
    reader = csv.reader(io.StringIO(decode(content)))
    header = next(reader, None)
    if not header:
        raise UnreadableFile("the file is empty; the first row must name the columns")
    names = [_HEADER_OF.get(h.strip().lower()) for h in header]
    if "engine_serial" not in names:
        raise UnreadableFile("no engine_serial (发动机编号) column: check the header row")
    unknown = tuple(h for h, n in zip(header, names) if n is None and h.strip())
    for number, cells in enumerate(reader, start=1):
        if number > MAX_ROWS:
            raise UnreadableFile(f"more than {MAX_ROWS} rows; split the file")
        if not any(c.strip() for c in cells):
            continue
        values = {n: _canonical_value(n, c.strip()) for n, c in zip(names, cells) if n and c.strip()}
        yield SheetRow(number, values, unknown)


def count_rows(content: bytes) -> int:
    return sum(1 for _ in read_rows(content))
