"""The "##" outer frame: start bytes, header, BCC, frame extraction and a stream splitter.

standards-telemetry.md 1.3 [CONFIRMED]:
    "##" | command (1) | VIN (17) | software version (1) | encryption (1) | length N (2, BE)
    | data unit (N) | BCC (1)       total = N + 25
BCC = XOR of every byte from the command unit to the last data byte, so XOR over the whole
frame including the BCC is 0.  No escaping: "##" may occur inside a data unit, frames are
delimited by length + BCC only (1.3, 7.3).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

from mobsrc.registry.identifiers import vin_problem

START = b"##"
HEADER = struct.Struct(">2sB17sBBH")
HEADER_SIZE = 24
FRAME_OVERHEAD = 25            # header + BCC; minimum frame length
MAX_DATA_UNIT = 65531          # [SECONDARY — SL M_GB_17691_SZ_DATA_MAX]
NOT_ENCRYPTED = 0x01           # the only code every source agrees on (1.6)
#: encryption codes seen in any source (1.6 [DISAGREE]); used to judge header plausibility
KNOWN_ENCRYPTION_CODES = frozenset({0x01, 0x02, 0x03, 0x04, 0x05, 0xFE, 0xFF})
#: defined commands 0x01-0x08 and vendor/downstream 0x80-0xFE (1.5); 0x09-0x7F reserved
#: [UNCONFIRMED] — used only by the splitter's header plausibility check
PLAUSIBLE_COMMANDS = frozenset(range(0x01, 0x09)) | frozenset(range(0x80, 0xFF))


class FrameError(ValueError):
    """Malformed frame: `offset` is the byte offset (in the frame) where decoding failed."""

    def __init__(self, offset: int, reason: str, expected: object = None, got: object = None):
        self.offset, self.reason, self.expected, self.got = offset, reason, expected, got
        detail = "" if expected is None and got is None else f" (expected {expected}, got {got})"
        super().__init__(f"offset {offset}: {reason}{detail}")


class EncodeError(ValueError):
    """A message that cannot be put on the wire (naive time, field out of range...)."""


def compute_bcc(data: bytes | bytearray | memoryview) -> int:
    """XOR of all bytes, folded in big-integer halves (C speed, no per-byte loop)."""
    n = len(data)
    if n == 0:
        return 0
    value = int.from_bytes(data, "little")
    while n > 1:
        half = (n + 1) >> 1
        value = (value & ((1 << (8 * half)) - 1)) ^ (value >> (8 * half))
        n = half
    return value


def build_frame(command: int, vin: bytes, software_version: int, encryption: int,
                data_unit: bytes, max_data_unit: int = MAX_DATA_UNIT) -> bytes:
    """Assemble header + data unit + BCC."""
    if len(vin) != 17:
        raise EncodeError(f"VIN must be 17 bytes, got {len(vin)}")
    if len(data_unit) > max_data_unit:
        raise EncodeError(f"data unit of {len(data_unit)} bytes exceeds {max_data_unit}")
    try:
        head = HEADER.pack(START, command, vin, software_version, encryption, len(data_unit))
    except struct.error as err:
        raise EncodeError(f"header field out of range: {err}") from None
    body = head + data_unit
    return body + bytes((compute_bcc(memoryview(body)[2:]),))


def check_frame(data: bytes, max_data_unit: int = MAX_DATA_UNIT) -> int:
    """Validate start, length and BCC of exactly one frame; return the data-unit length."""
    if len(data) < FRAME_OVERHEAD:
        raise FrameError(len(data), "frame shorter than header + BCC", FRAME_OVERHEAD, len(data))
    if data[0:2] != START:
        raise FrameError(0, "start bytes", START.hex(), bytes(data[0:2]).hex())
    length = (data[22] << 8) | data[23]
    if length > max_data_unit:
        raise FrameError(22, "data-unit length above the maximum", f"<= {max_data_unit}", length)
    if len(data) != length + FRAME_OVERHEAD:
        raise FrameError(22, "frame length != data-unit length + 25",
                         length + FRAME_OVERHEAD, len(data))
    bcc = compute_bcc(memoryview(data)[2:-1])
    if bcc != data[-1]:
        raise FrameError(len(data) - 1, "check code (BCC)", f"0x{bcc:02X}", f"0x{data[-1]:02X}")
    return length


# --- VIN (GB 16735, standards-telemetry.md 4.1 [CONFIRMED]) ------------------------------
# The check-digit rule lives in registry.identifiers (pure); these are the flags a frame carries.
_VIN_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")   # no I, O, Q


def vin_chars_ok(vin: str) -> bool:
    """17 characters, digits and capitals except I, O, Q (the check digit aside)."""
    return len(vin) == 17 and _VIN_ALPHABET.issuperset(vin)


def vin_check_ok(vin: str) -> bool:
    """Characters valid and position 9 equals the GB 16735 check digit."""
    return vin_problem(vin) is None


# --- incremental splitter for a TCP byte stream (1.16 steps 1-2) --------------------------
class GarbageReason(StrEnum):
    NO_START = "no_start"                        # bytes before any "##"
    LENGTH_TOO_LARGE = "length_too_large"        # data-unit length above the cap
    IMPLAUSIBLE_HEADER = "implausible_header"    # VIN not ASCII or unknown encryption code
    BAD_BCC = "bad_bcc"                          # complete candidate whose XOR is not 0
    TRUNCATED = "truncated"                      # left in the buffer at close()


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One complete frame whose length and BCC check; `offset` counts from stream start."""
    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Garbage:
    """`nbytes` discarded bytes starting at stream `offset`; reason of the first discard."""
    offset: int
    nbytes: int
    reason: GarbageReason


_VIN_BYTES_OK = bytes([0]) + bytes(range(0x20, 0x7F))


def _is_plausible_header(buf: bytearray, pos: int) -> bool:
    if buf[pos + 21] not in KNOWN_ENCRYPTION_CODES or buf[pos + 2] not in PLAUSIBLE_COMMANDS:
        return False
    return not bytes(buf[pos + 3:pos + 20]).translate(None, _VIN_BYTES_OK)


class FrameSplitter:
    """feed(bytes) -> [RawFrame | Garbage]; resyncs byte by byte after garbage or bad BCC.

    `check_header` rejects a "##" candidate whose command is reserved (0x00, 0x09-0x7F), whose
    VIN bytes are not ASCII/NUL or whose encryption code is unknown, so garbage holding "##"
    rarely stalls the stream while a bogus length is awaited.  A stall costs latency, not data:
    once the bogus length is buffered its BCC fails, one byte is dropped and every frame
    buffered meanwhile is recovered (close() does the same without waiting).
    """

    def __init__(self, *, max_data_unit: int = MAX_DATA_UNIT, check_header: bool = True):
        self.max_data_unit = max_data_unit
        self.check_header = check_header
        self._buf = bytearray()
        self._base = 0                 # stream offset of _buf[0]
        self._garbage: list = []       # pending [offset, nbytes, reason]
        self._ready: list[Garbage] = []   # completed garbage runs not yet reported

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[RawFrame | Garbage]:
        self._buf += chunk
        events: list[RawFrame | Garbage] = []
        pos = self._scan(events)
        del self._buf[:pos]
        self._base += pos
        self._flush_garbage(events)
        return events

    def close(self) -> list[RawFrame | Garbage]:
        """End of stream: frames still recoverable from the buffer (a bogus candidate may have
        been waiting for its length), the rest as truncated garbage."""
        events: list[RawFrame | Garbage] = []
        self._scan(events, final=True)
        self._base += len(self._buf)
        self._buf.clear()
        self._flush_garbage(events)
        return events

    def _scan(self, events: list, final: bool = False) -> int:
        buf, pos, n = self._buf, 0, len(self._buf)
        while pos < n:
            start = buf.find(START, pos)
            if start < 0:
                keep = 1 if buf[n - 1] == 0x23 and not final else 0   # '#' may start a frame
                self._discard(pos, n - keep - pos, GarbageReason.NO_START)
                return n - keep
            self._discard(pos, start - pos, GarbageReason.NO_START)
            pos = start
            verdict = self._judge_candidate(buf, pos, n) if n - pos >= HEADER_SIZE else None
            if verdict is None and not final:
                return pos                                # wait for more bytes
            if verdict is None or isinstance(verdict, GarbageReason):
                self._discard(pos, 1, verdict or GarbageReason.TRUNCATED)
                pos += 1
                continue
            self._flush_garbage(events)
            events.append(RawFrame(self._base + pos, bytes(buf[pos:verdict])))
            pos = verdict
        return pos

    def _judge_candidate(self, buf: bytearray, pos: int, n: int) -> int | GarbageReason | None:
        """End offset of a good frame at pos, a reason to drop its first byte, or None."""
        length = (buf[pos + 22] << 8) | buf[pos + 23]
        if length > self.max_data_unit:
            return GarbageReason.LENGTH_TOO_LARGE
        if self.check_header and not _is_plausible_header(buf, pos):
            return GarbageReason.IMPLAUSIBLE_HEADER
        end = pos + length + FRAME_OVERHEAD
        if end > n:
            return None
        if compute_bcc(memoryview(buf)[pos + 2:end]) != 0:
            return GarbageReason.BAD_BCC
        return end

    def _discard(self, pos: int, nbytes: int, reason: GarbageReason) -> None:
        if nbytes <= 0:
            return
        offset = self._base + pos
        pending = self._garbage
        if pending and pending[0] + pending[1] == offset:
            pending[1] += nbytes
            return
        if pending:
            self._ready.append(Garbage(*pending))
        self._garbage = [offset, nbytes, reason]

    def _flush_garbage(self, events: list) -> None:
        events.extend(self._ready)
        self._ready.clear()
        if self._garbage:
            events.append(Garbage(*self._garbage))
            self._garbage = []
