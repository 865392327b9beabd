"""Position batches on the wire: decoding and the per-item answer vocabulary. Pure.

A batch is `{"positions": [item, ...]}` (JSON, decoded with msgspec: no per-record marshmallow
on the hot path; the marshmallow schema in schemas.py documents the same shape). One malformed
item never sinks the batch: the typed decode of the whole body is tried first (fast path); if
any item fails it, every item is decoded on its own and the bad ones are answered `malformed`
with the field at fault. Only a body that is not such an object at all is refused as a whole.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from mobsrc.core import clock

Rate = Annotated[float, msgspec.Meta(ge=0)]


class PositionItem(msgspec.Struct, omit_defaults=True):
    """One fix as a terminal or platform sends it. Exactly one machine identifier is needed
    (both may be given when they name the same machine)."""

    fix_time: datetime  # RFC 3339; without an offset it is Beijing time
    lon: float
    lat: float
    machine_code: str | None = None
    terminal_id: str | None = None
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    hdop: Rate | None = None
    accuracy_m: Rate | None = None
    satellites: Annotated[int, msgspec.Meta(ge=0, le=255)] | None = None
    speed_kmh: Annotated[float, msgspec.Meta(ge=0, le=1000)] | None = None
    heading: Annotated[float, msgspec.Meta(ge=0, lt=360)] | None = None
    engine_on: bool | None = None
    engine_rpm: Annotated[float, msgspec.Meta(ge=0, le=20000)] | None = None
    position_valid: bool | None = None  # false: the terminal repeats its last valid fix

    @property
    def fix_time_utc(self) -> datetime:
        return clock.as_utc(self.fix_time)


class _Batch(msgspec.Struct):
    positions: list[PositionItem]


class _RawBatch(msgspec.Struct):
    positions: list[msgspec.Raw]


class ItemStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"  # already stored (same machine, fix time and place): nothing new
    REJECTED = "rejected"


class IngestReason(StrEnum):
    """Rejections decided before screening; screening's own codes are fixes.RejectReason."""

    MALFORMED = "malformed"
    NO_MACHINE_IDENTIFIER = "no_machine_identifier"
    UNKNOWN_MACHINE = "unknown_machine"  # no such machine, or not one this sender may report
    MACHINE_MISMATCH = "machine_mismatch"  # machine_code and terminal_id name different machines


@dataclass(frozen=True)
class MalformedItem:
    index: int
    field: str
    detail: str
    raw: bytes


class BatchError(ValueError):
    """The body is not a position batch at all (answered 400 or 422 as a whole)."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


_PATH = re.compile(r"at `\$\.?(.*)`$")


def decode_batch(body: bytes, max_items: int) -> list[PositionItem | MalformedItem]:
    """Items in input order; malformed ones as MalformedItem. Raises BatchError."""
    try:
        items: list = msgspec.json.decode(body, type=_Batch).positions
    except msgspec.ValidationError:
        items = [_decode_item(i, raw) for i, raw in enumerate(_raw_items(body))]
    except msgspec.DecodeError as error:
        raise BatchError("_body", f"not valid JSON ({error})") from None
    if not items:
        raise BatchError("positions", "no positions in the batch")
    if len(items) > max_items:
        raise BatchError("positions", f"{len(items)} positions; at most {max_items} per batch")
    return items


def encode_item(item: PositionItem) -> bytes:
    """The item as JSON, to keep a rejected item's raw record."""
    return msgspec.json.encode(item)


def _raw_items(body: bytes) -> list[msgspec.Raw]:
    try:
        return msgspec.json.decode(body, type=_RawBatch).positions
    except msgspec.ValidationError as error:
        raise BatchError("positions", f"expected an object with an array 'positions' ({_where(error)})") from None


def _decode_item(index: int, raw: msgspec.Raw) -> PositionItem | MalformedItem:
    try:
        return msgspec.json.decode(raw, type=PositionItem)
    except msgspec.ValidationError as error:
        return MalformedItem(index, _where(error), str(error).split(" - at ")[0], bytes(raw))


def _where(error: msgspec.ValidationError) -> str:
    match = _PATH.search(str(error))
    return match.group(1) if match and match.group(1) else "_item"
