"""Real-time / re-send data units (0x02/0x03) in the GB and HJ layouts, with detection.

standards-telemetry.md 1.4 [CONFIRMED]:
    GB 17691: collection time (6), {info type (1), info serial (2), body}...
    HJ 1239:  send time (6), info serial (2), {info type (1), collection time (6), body}...,
              then optional signature {R len, R, S len, S}
Detection (1.16 step 5): the layout that consumes the data unit exactly wins; a per-terminal
profile hint breaks ties and is kept when neither layout is exact.  Without a hint and without
an exact layout, the parse with the most known blocks wins; if none parsed a single known
block and one layout failed, its FrameError is raised.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mobsrc.obd.hj1239.bodies import (
    KNOWN_TYPES,
    decode_block,
    decode_signature,
    encode_block,
    encode_signature,
)
from mobsrc.obd.hj1239.framing import EncodeError, FrameError
from mobsrc.obd.hj1239.messages import (
    InfoBlock,
    Layout,
    LayoutSource,
    RealtimeReport,
    Report,
    ResentReport,
    Signature,
    UnknownBlock,
)
from mobsrc.obd.hj1239.times import TIME_SIZE, decode_time, encode_time

#: GB layout: several stream blocks under one time are 1 Hz samples, block k at t0 + k*step
#: [SECONDARY — ZX only, 1.4]
GB_SAMPLE_INTERVAL = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class _Candidate:
    layout: Layout
    blocks: tuple[InfoBlock, ...]
    collected_at: datetime | None
    sent_at: datetime | None
    serial: int | None
    signature: Signature | None
    exact: bool          # consumed the whole unit with known types only
    bad_times: int       # wire times that are not calendar times

    @property
    def known_blocks(self) -> int:
        return sum(not isinstance(b, UnknownBlock) for b in self.blocks)


def _parse_gb(data: bytes, start: int, end: int, step: timedelta) -> _Candidate:
    if end - start < TIME_SIZE:
        raise FrameError(start, "GB layout: collection time", "6 bytes", end - start)
    t0 = decode_time(data[start:start + TIME_SIZE])
    blocks: list[InfoBlock] = []
    seen: dict[int, int] = {}
    pos, exact = start + TIME_SIZE, True
    while pos < end:
        info_type = data[pos]
        if info_type not in KNOWN_TYPES:
            blocks.append(UnknownBlock(info_type, bytes(data[pos + 1:end])))
            exact = False
            break
        if pos + 3 > end:
            raise FrameError(pos + 1, "GB info serial", "2 bytes", end - pos - 1)
        k = seen.get(info_type, 0)
        seen[info_type] = k + 1
        at = t0 if not k or t0 is None else t0 + step * k
        serial = data[pos + 1] << 8 | data[pos + 2]
        block, pos = decode_block(info_type, data, pos + 3, end, at, serial)
        blocks.append(block)
    return _Candidate(Layout.GB, tuple(blocks), t0, None, None, None, exact, t0 is None)


def _parse_hj(data: bytes, start: int, end: int) -> _Candidate:
    if end - start < TIME_SIZE + 2:
        raise FrameError(start, "HJ layout: send time + info serial", "8 bytes", end - start)
    sent_at = decode_time(data[start:start + TIME_SIZE])
    serial = data[start + 6] << 8 | data[start + 7]
    blocks: list[InfoBlock] = []
    pos, bad = start + TIME_SIZE + 2, int(sent_at is None)
    fallback = None      # (blocks so far, bad times, signature): where a signature could start
    while pos < end:
        signature = decode_signature(data, pos, end)
        if signature is not None:
            fallback = (len(blocks), bad, signature)
        info_type = data[pos]
        try:
            if info_type not in KNOWN_TYPES or pos + 1 + TIME_SIZE > end:
                raise FrameError(pos, "HJ info type", "a known type or the signature", info_type)
            at = decode_time(data[pos + 1:pos + 1 + TIME_SIZE])
            block, pos = decode_block(info_type, data, pos + 1 + TIME_SIZE, end, at, None)
        except FrameError:
            return _hj_rest(data, pos, end, blocks, bad, fallback, (sent_at, serial))
        blocks.append(block)
        bad += at is None
    return _Candidate(Layout.HJ, tuple(blocks), None, sent_at, serial, None, True, bad)


def _hj_rest(data, pos, end, blocks, bad, fallback, head) -> _Candidate:
    """The greedy block parse stopped at `pos`: fall back to the last offset where a
    well-formed signature fills the rest (real R lengths, 32, are no info type), else keep
    the rest as an UnknownBlock — or re-raise when the type was known but its body short."""
    sent_at, serial = head
    if fallback is not None:
        count, bad, signature = fallback
        return _Candidate(Layout.HJ, tuple(blocks[:count]), None, sent_at, serial, signature,
                          True, bad)
    if data[pos] in KNOWN_TYPES:
        if pos + 1 + TIME_SIZE > end:
            raise FrameError(pos + 1, "HJ collection time", "6 bytes", end - pos - 1)
        decode_block(data[pos], data, pos + 1 + TIME_SIZE, end, None, None)   # raises
    unknown = UnknownBlock(data[pos], bytes(data[pos + 1:end]))
    return _Candidate(Layout.HJ, (*blocks, unknown), None, sent_at, serial, None, False, bad)


def _parse(layout: Layout, data: bytes, start: int, end: int, step: timedelta) -> _Candidate:
    return _parse_hj(data, start, end) if layout is Layout.HJ else _parse_gb(data, start, end, step)


def decode_report(data: bytes, start: int, end: int, *, resent: bool, hint: Layout | None = None,
                  gb_sample_interval: timedelta = GB_SAMPLE_INTERVAL) -> Report:
    """Decode data[start:end] as a 0x02 (or 0x03 when `resent`) data unit."""
    first = hint or Layout.HJ
    order = (first, Layout.GB if first is Layout.HJ else Layout.HJ)
    candidates: list[_Candidate] = []
    errors: dict[Layout, FrameError] = {}
    for layout in order:
        try:
            candidate = _parse(layout, data, start, end, gb_sample_interval)
        except FrameError as err:
            errors[layout] = err
            continue
        if candidate.exact and not candidate.bad_times:
            candidates = [candidate]
            break
        candidates.append(candidate)
    chosen = _choose(candidates, errors, hint)
    source = LayoutSource.PROFILE if chosen.layout is hint else LayoutSource.DETECTED
    kind = ResentReport if resent else RealtimeReport
    return kind(chosen.layout, chosen.blocks, chosen.collected_at, chosen.sent_at, chosen.serial,
                chosen.signature, source)


def _choose(candidates: list[_Candidate], errors: dict[Layout, FrameError],
            hint: Layout | None) -> _Candidate:
    exact = [c for c in candidates if c.exact]
    if len(exact) == 1 and len(candidates) == 1:
        return exact[0]
    if exact:
        return max(exact, key=lambda c: (c.layout is hint, -c.bad_times, c.known_blocks,
                                         c.layout is Layout.HJ))
    if hint is not None:
        for candidate in candidates:
            if candidate.layout is hint:
                return candidate
        raise errors[hint]
    best = max(candidates, default=None,
               key=lambda c: (c.known_blocks, -c.bad_times, c.layout is Layout.HJ))
    if best is not None and (best.known_blocks or not errors):
        return best
    raise max(errors.values(), key=lambda err: err.offset)   # the layout that got furthest


def encode_report(report: Report) -> bytes:
    """The data unit of a 0x02/0x03 frame in the report's layout."""
    if report.layout is Layout.HJ:
        return _encode_hj(report)
    parts = [encode_time(report.collected_at)]
    for block in report.blocks:
        if isinstance(block, UnknownBlock):
            parts.append(bytes((block.info_type,)) + block.data)
            continue
        if block.serial is None or not 0 <= block.serial <= 0xFFFF:
            raise EncodeError(f"GB layout needs a 16-bit serial per block, got {block.serial}")
        parts.append(bytes((block.info_type,)) + block.serial.to_bytes(2, "big"))
        parts.append(encode_block(block))
    return b"".join(parts)


def _encode_hj(report: Report) -> bytes:
    if report.serial is None or not 0 <= report.serial <= 0xFFFF:
        raise EncodeError(f"HJ layout needs a 16-bit info serial, got {report.serial}")
    parts = [encode_time(report.sent_at), report.serial.to_bytes(2, "big")]
    for block in report.blocks:
        parts.append(bytes((block.info_type,)))
        if isinstance(block, UnknownBlock):
            parts.append(block.data)
            continue
        parts.append(encode_time(block.collected_at))
        parts.append(encode_block(block))
    if report.signature is not None:
        parts.append(encode_signature(report.signature))
    return b"".join(parts)
