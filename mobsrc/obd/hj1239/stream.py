"""Per-connection stream decoder for the TCP gateway: bytes in, decoded events out.

FrameSplitter finds frames by length + BCC (1.16 steps 1-2); each frame is then decoded with
the connection's layout hint.  The hint is learned from the first report whose layout was
detected unambiguously, unless the caller fixed it (per-terminal profile).
"""
from __future__ import annotations

from dataclasses import dataclass

from mobsrc.obd.hj1239.codec import decode_frame
from mobsrc.obd.hj1239.framing import MAX_DATA_UNIT, FrameError, FrameSplitter, Garbage
from mobsrc.obd.hj1239.messages import Frame, Layout, Report


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    offset: int        # stream offset of the frame's first byte
    frame: Frame
    data: bytes        # the raw frame, for storage / forwarding (HJ 1239.3 5.3.3)


@dataclass(frozen=True, slots=True)
class UndecodableFrame:
    """Length and BCC check, but the data unit is malformed."""
    offset: int
    data: bytes
    error: FrameError


StreamEvent = DecodedFrame | UndecodableFrame | Garbage


class FrameStreamDecoder:
    """feed(bytes) -> [DecodedFrame | UndecodableFrame | Garbage]."""

    def __init__(self, *, layout: Layout | None = None, learn_layout: bool = True,
                 max_data_unit: int = MAX_DATA_UNIT, check_header: bool = True):
        self.layout = layout
        self._learn = learn_layout and layout is None
        self._max = max_data_unit
        self._splitter = FrameSplitter(max_data_unit=max_data_unit, check_header=check_header)

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return [self._decode(event) if not isinstance(event, Garbage) else event
                for event in self._splitter.feed(chunk)]

    def close(self) -> list[StreamEvent]:
        """Connection closed: frames still recoverable from the buffer, then garbage."""
        return [self._decode(event) if not isinstance(event, Garbage) else event
                for event in self._splitter.close()]

    def _decode(self, raw) -> DecodedFrame | UndecodableFrame:
        try:
            frame = decode_frame(raw.data, layout=self.layout, max_data_unit=self._max)
        except FrameError as err:
            return UndecodableFrame(raw.offset, raw.data, err)
        message = frame.message
        if self._learn and isinstance(message, Report) and message.is_complete:
            self.layout = message.layout
            self._learn = False
        return DecodedFrame(raw.offset, frame, raw.data)
