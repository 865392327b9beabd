"""Position batches on the wire: one malformed item never sinks the batch; a body that is not a
batch is refused whole with the field at fault."""

from datetime import UTC, datetime

import msgspec
import pytest

from mobsrc.zones.batches import BatchError, MalformedItem, PositionItem, decode_batch, encode_item

GOOD = {"machine_code": "520115EX000001C", "fix_time": "2026-03-02T09:00:00+08:00", "lon": 106.7, "lat": 26.58}


def body(*items) -> bytes:
    return msgspec.json.encode({"positions": list(items)})


def test_well_formed_batch_decodes_every_item():
    items = decode_batch(body(GOOD, {**GOOD, "crs": "gcj02", "engine_on": True, "hdop": 0.9}), 10)
    assert [type(i) for i in items] == [PositionItem, PositionItem]
    assert items[1].crs == "gcj02" and items[1].engine_on is True
    assert items[0].fix_time_utc == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_time_without_offset_is_beijing_time():
    item = decode_batch(body({**GOOD, "fix_time": "2026-03-02T09:00:00"}), 10)[0]
    assert item.fix_time_utc == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(("bad", "field"), [
    ({**GOOD, "fix_time": "yesterday"}, "fix_time"),
    ({**GOOD, "lon": "106.7"}, "lon"),
    ({**GOOD, "crs": "utm"}, "crs"),
    ({**GOOD, "hdop": -1}, "hdop"),
    ({"machine_code": "X", "lon": 1, "lat": 2}, "_item"),  # fix_time missing
    (42, "_item"),
])
def test_a_malformed_item_is_answered_with_its_field_and_the_rest_decode(bad, field):
    items = decode_batch(body(GOOD, bad, GOOD), 10)
    assert isinstance(items[0], PositionItem) and isinstance(items[2], PositionItem)
    assert isinstance(items[1], MalformedItem) and items[1].index == 1 and items[1].field == field
    assert msgspec.json.decode(items[1].raw) == bad


@pytest.mark.parametrize(("raw", "field"), [
    (b"", "_body"), (b"{", "_body"), (b"[]", "positions"), (b'{"positions": 3}', "positions"),
    (b'{"positions": []}', "positions"), (b'{"items": []}', "positions"),
])
def test_a_body_that_is_not_a_batch_is_refused_whole(raw, field):
    with pytest.raises(BatchError) as error:
        decode_batch(raw, 10)
    assert error.value.field == field


def test_too_many_items_are_refused():
    with pytest.raises(BatchError, match="at most 2"):
        decode_batch(body(GOOD, GOOD, GOOD), 2)


def test_encoded_item_keeps_what_was_sent():
    item = decode_batch(body({**GOOD, "satellites": 9}), 10)[0]
    assert msgspec.json.decode(encode_item(item)) == {**GOOD, "satellites": 9}
