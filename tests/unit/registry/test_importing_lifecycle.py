"""CSV reading (encodings, Chinese headers and values) and the machine lifecycle table."""
from __future__ import annotations

import pytest

from mobsrc.core.errors import IllegalTransition
from mobsrc.registry.importing import UnreadableFile, read_rows
from mobsrc.registry.lifecycle import MachineEvent, MachineStatus, allowed_events, next_status

CHINESE = "机械类型,品牌,发动机生产厂,发动机编号,额定功率(kW),排放阶段,燃料\n挖掘机,三一,五十铃,E-1,128,国三,柴油\n\n装载机,柳工,玉柴,E-2,160,国四,柴油\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_reads_chinese_sheets_in_each_encoding(encoding):
    rows = list(read_rows(CHINESE.encode(encoding)))
    assert [r.number for r in rows] == [1, 3]   # blank line skipped, numbering kept
    assert rows[0].values == {"machine_type": "excavator", "brand": "三一", "engine_manufacturer": "五十铃",
                              "engine_serial": "E-1", "rated_power_kw": "128", "emission_stage": "china_3",
                              "fuel": "diesel"}


def test_unknown_columns_are_reported_and_ignored():
    rows = list(read_rows(b"engine_serial,colour\nE-1,red\n"))
    assert rows[0].values == {"engine_serial": "E-1"} and rows[0].unknown_columns == ("colour",)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"), (b"brand,model\nx,y\n", "engine_serial"), (b"\xff\xfe\x00\x81\x82", "UTF-8"),
])
def test_unreadable_files_are_refused_as_a_whole(content, reason):
    with pytest.raises(UnreadableFile, match=reason):
        list(read_rows(content))


LEGAL = {
    (MachineStatus.REGISTERED, MachineEvent.TRANSFER): MachineStatus.TRANSFERRED,
    (MachineStatus.TRANSFERRED, MachineEvent.TRANSFER): MachineStatus.TRANSFERRED,
    (MachineStatus.REGISTERED, MachineEvent.DEREGISTER): MachineStatus.DEREGISTERED,
    (MachineStatus.TRANSFERRED, MachineEvent.DEREGISTER): MachineStatus.DEREGISTERED,
}


@pytest.mark.parametrize("status", list(MachineStatus))
@pytest.mark.parametrize("event", list(MachineEvent))
def test_every_pair_of_status_and_event(status, event):
    if (status, event) in LEGAL:
        assert next_status(status, event) is LEGAL[(status, event)]
    else:
        with pytest.raises(IllegalTransition) as raised:
            next_status(status, event)
        assert raised.value.extra["allowed_events"] == [e.value for e in allowed_events(status)]
