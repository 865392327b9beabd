"""Frozen dataclasses for every command's data unit, the frame header and the frame.

Info blocks (ObdInfo, EngineStream, TwcStream, HybridStream, SupplementaryStream,
UnknownBlock, Signature, Position, Measurement) live in info_blocks.py and are re-exported
here.  Sections cited are those of standards-telemetry.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from mobsrc.obd.hj1239.framing import NOT_ENCRYPTED, vin_chars_ok, vin_check_ok
from mobsrc.obd.hj1239.info_blocks import (  # noqa: F401 — re-exported
    EngineStream,
    HybridStream,
    InfoBlock,
    Measurement,
    ObdInfo,
    Position,
    Signature,
    SupplementaryStream,
    TwcStream,
    UnknownBlock,
    describe_dtc,
)


class Command(IntEnum):
    """Command unit (1.5)."""
    LOGIN = 0x01
    REALTIME = 0x02
    RESENT = 0x03
    LOGOUT = 0x04
    TIME_CALIBRATION = 0x05
    REMOVAL_ALARM = 0x06        # HJ only
    ACTIVATION = 0x07           # HJ only, to the MEE platform
    ACTIVATION_RESPONSE = 0x08  # HJ only, downstream


class Layout(StrEnum):
    """Real-time / re-send data-unit layout (1.4)."""
    GB = "gb17691"   # time, {type, serial, body}...
    HJ = "hj1239"    # send time, serial, {type, time, body}..., signature


class LayoutSource(StrEnum):
    PROFILE = "profile"      # the caller's per-terminal hint was used
    DETECTED = "detected"    # chosen by length consistency
    GIVEN = "given"          # built by code (not decoded)


class FrameStatus(StrEnum):
    DECODED = "decoded"
    ENCRYPTED = "encrypted"              # encryption byte != 0x01: data unit kept raw (1.6)
    UNKNOWN_COMMAND = "unknown_command"  # data unit kept raw


# --- data units per command (1.7) -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Login:
    logged_in_at: datetime | None
    serial: int
    iccid: str                  # 20 ASCII chars


@dataclass(frozen=True, slots=True)
class Report:
    """0x02/0x03.  GB: `collected_at` once + per-block serials.  HJ: `sent_at`, packet
    `serial`, per-block times, optional signature."""
    layout: Layout
    blocks: tuple[InfoBlock, ...]
    collected_at: datetime | None = None   # GB layout
    sent_at: datetime | None = None        # HJ layout
    serial: int | None = None              # HJ layout
    signature: Signature | None = None     # HJ layout
    layout_source: LayoutSource = field(default=LayoutSource.GIVEN, compare=False)

    @property
    def is_complete(self) -> bool:
        """False when an unknown info type stopped the parse (rest kept raw)."""
        return not any(isinstance(b, UnknownBlock) for b in self.blocks)


@dataclass(frozen=True, slots=True)
class RealtimeReport(Report):
    """Command 0x02."""


@dataclass(frozen=True, slots=True)
class ResentReport(Report):
    """Command 0x03: same format, original collection times (1.7)."""


@dataclass(frozen=True, slots=True)
class Logout:
    logged_out_at: datetime | None
    serial: int                 # equals the login serial it closes


@dataclass(frozen=True, slots=True)
class TimeCalibrationRequest:
    """0x05 upstream, empty data unit."""


@dataclass(frozen=True, slots=True)
class TimeCalibrationAnswer:
    """0x05 downstream: platform time, 6 bytes."""
    time: datetime | None


@dataclass(frozen=True, slots=True)
class RemovalAlarm:
    """0x06, 17 bytes (HJ)."""
    at: datetime | None
    serial: int
    position: Position


@dataclass(frozen=True, slots=True)
class Activation:
    """0x07 (HJ): chip ID, SM2 public key X||Y, VIN, signature."""
    at: datetime | None
    chip_id: str                # 16 ASCII chars
    public_key: bytes           # 64 bytes
    vin: str                    # 17 chars
    signature: Signature


class ActivationStatus(IntEnum):
    SUCCESS = 0x01
    FAILURE = 0x02


class ActivationInfo(IntEnum):
    OK = 0x00
    ALREADY_ACTIVATED = 0x01
    VIN_ERROR = 0x02
    OTHER = 0x03                # [SECONDARY]


@dataclass(frozen=True, slots=True)
class ActivationResponse:
    """0x08 downstream, 2 bytes."""
    status: int
    info: int


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Echo-header answer with an empty data unit (1.14) — or any empty data unit of a
    command that normally carries one."""
    command: int


@dataclass(frozen=True, slots=True)
class UnknownCommand:
    command: int
    data: bytes


@dataclass(frozen=True, slots=True)
class EncryptedDataUnit:
    """Encryption byte != 0x01: kept raw, not parsed (1.6, 1.16 step 4)."""
    data: bytes


Message = (Login | RealtimeReport | ResentReport | Logout | TimeCalibrationRequest | TimeCalibrationAnswer
           | RemovalAlarm | Activation | ActivationResponse | Acknowledgement | UnknownCommand | EncryptedDataUnit)


@dataclass(frozen=True, slots=True)
class FrameHeader:
    command: int
    vin: str                    # 17 chars, latin-1 so any byte survives
    software_version: int = 1
    encryption: int = NOT_ENCRYPTED


@dataclass(frozen=True, slots=True)
class Frame:
    header: FrameHeader
    message: Message

    @property
    def vin(self) -> str:
        return self.header.vin

    @property
    def vin_chars_ok(self) -> bool:
        return vin_chars_ok(self.header.vin)

    @property
    def vin_check_ok(self) -> bool:
        """GB 16735 check digit; a flag, never a reason to reject (1.16 step 3)."""
        return vin_check_ok(self.header.vin)

    @property
    def status(self) -> FrameStatus:
        if isinstance(self.message, EncryptedDataUnit):
            return FrameStatus.ENCRYPTED
        if isinstance(self.message, UnknownCommand):
            return FrameStatus.UNKNOWN_COMMAND
        return FrameStatus.DECODED

    @property
    def layout(self) -> Layout | None:
        return self.message.layout if isinstance(self.message, Report) else None
