"""Info-block bodies and the HJ signature: bytes <-> block dataclasses.

Bodies carry no length prefix: the size follows from the type (1.4, 1.8).  Decoders take
the whole frame and absolute offsets so that FrameError offsets point into the frame.
"""
from __future__ import annotations

import struct
from datetime import datetime

from mobsrc.obd.hj1239.framing import EncodeError, FrameError
from mobsrc.obd.hj1239.info_blocks import (
    EngineStream,
    HybridStream,
    InfoBlock,
    ObdInfo,
    Signature,
    SupplementaryStream,
    TwcStream,
    UnknownBlock,
)
from mobsrc.obd.hj1239.tables import OBD_FIXED_SIZE, STREAM_BODIES, InfoType

_OBD_HEAD = struct.Struct(">BBHH17s18s18s36sB")
_MAX_DTCS = 253

#: info type -> (precompiled unpacker, body size, block factory(collected_at, serial, raw))
_STREAMS = {
    InfoType.ENGINE: EngineStream,
    InfoType.TWC: lambda at, serial, raw: TwcStream(at, serial, raw, False),
    InfoType.HYBRID: HybridStream,
    InfoType.TWC_NOX: lambda at, serial, raw: TwcStream(at, serial, raw, True),
    InfoType.SUPPLEMENTARY: SupplementaryStream,
}
STREAM_CODECS = {t: (STREAM_BODIES[t].struct, STREAM_BODIES[t].size, make)
                 for t, make in _STREAMS.items()}
KNOWN_TYPES = frozenset(STREAM_CODECS) | {InfoType.OBD}


def decode_block(info_type: int, data: bytes, pos: int, end: int,
                 collected_at: datetime | None, serial: int | None) -> tuple[InfoBlock, int]:
    """Decode the body of a known info type at data[pos:]; return (block, next offset)."""
    if info_type == InfoType.OBD:
        return decode_obd(data, pos, end, collected_at, serial)
    unpacker, size, make = STREAM_CODECS[info_type]
    if pos + size > end:
        raise FrameError(pos, f"info type 0x{info_type:02X} body", f"{size} bytes", end - pos)
    return make(collected_at, serial, unpacker.unpack_from(data, pos)), pos + size


def _dtcs_following(count: int) -> int:
    """DTC count 0-253 gives that many codes; the invalid marker (0xFE/0xFF) gives none."""
    return count if count <= _MAX_DTCS else 0


def decode_obd(data: bytes, pos: int, end: int,
               collected_at: datetime | None, serial: int | None) -> tuple[ObdInfo, int]:
    if pos + OBD_FIXED_SIZE > end:
        raise FrameError(pos, "OBD body", f"{OBD_FIXED_SIZE} bytes", end - pos)
    protocol, mil, support, readiness, vin, cal, cvn, iupr, count = _OBD_HEAD.unpack_from(data, pos)
    n = _dtcs_following(count)
    start = pos + OBD_FIXED_SIZE
    if start + 4 * n > end:
        raise FrameError(start, f"{n} DTCs", f"{4 * n} bytes", end - start)
    dtcs = struct.unpack_from(f">{n}I", data, start) if n else ()
    block = ObdInfo(collected_at, serial, protocol, mil, support, readiness,
                    vin.decode("latin-1"), cal, cvn, iupr, count, dtcs)
    return block, start + 4 * n


def encode_block(block: InfoBlock) -> bytes:
    """The body bytes of a block (no type, serial or time)."""
    if isinstance(block, ObdInfo):
        return encode_obd(block)
    if isinstance(block, UnknownBlock):
        return block.data
    try:
        return block.body.struct.pack(*block.raw)
    except struct.error as err:
        raise EncodeError(f"info type 0x{block.info_type:02X}: {err}") from None


def encode_obd(block: ObdInfo) -> bytes:
    if len(block.dtcs) != _dtcs_following(block.dtc_count):
        raise EncodeError(f"dtc_count {block.dtc_count} but {len(block.dtcs)} DTCs")
    try:
        head = _OBD_HEAD.pack(
            block.protocol, block.mil, block.support_map, block.readiness_map,
            _exact(block.vin.encode("latin-1"), 17, "OBD VIN"),
            _exact(block.cal_id_raw, 18, "CAL ID"),
            _exact(block.cvn_raw, 18, "CVN"), _exact(block.iupr_raw, 36, "IUPR"), block.dtc_count)
        return head + struct.pack(f">{len(block.dtcs)}I", *block.dtcs)
    except (struct.error, UnicodeEncodeError) as err:
        raise EncodeError(f"OBD block: {err}") from None


def _exact(value: bytes, size: int, what: str) -> bytes:
    if len(value) != size:
        raise EncodeError(f"{what} must be {size} bytes, got {len(value)}")
    return value


def decode_signature(data: bytes, pos: int, end: int) -> Signature | None:
    """A well-formed `R len | R | S len | S` filling exactly data[pos:end], else None."""
    if pos >= end:
        return None
    r_len = data[pos]
    s_at = pos + 1 + r_len
    if s_at >= end or s_at + 1 + data[s_at] != end:
        return None
    return Signature(bytes(data[pos + 1:s_at]), bytes(data[s_at + 1:end]))


def encode_signature(signature: Signature) -> bytes:
    if len(signature.r) > 255 or len(signature.s) > 255:
        raise EncodeError("signature R and S must be at most 255 bytes each")
    return bytes((len(signature.r),)) + signature.r + bytes((len(signature.s),)) + signature.s
