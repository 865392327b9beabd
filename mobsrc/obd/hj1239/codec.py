"""decode_frame / encode_frame for every command, and the platform's replies.

standards-telemetry.md 1.5 (commands), 1.7 (data units), 1.14 (answers), 1.16 (procedure).
Direction is inferred from the data unit: an empty data unit of a command that normally
carries one is an Acknowledgement; 0x05 empty = request, 6 bytes = answer.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mobsrc.obd.hj1239.bodies import decode_signature, encode_signature
from mobsrc.obd.hj1239.framing import (
    HEADER,
    HEADER_SIZE,
    MAX_DATA_UNIT,
    NOT_ENCRYPTED,
    EncodeError,
    FrameError,
    build_frame,
    check_frame,
)
from mobsrc.obd.hj1239.layouts import GB_SAMPLE_INTERVAL, decode_report, encode_report
from mobsrc.obd.hj1239.messages import (
    Acknowledgement,
    Activation,
    ActivationResponse,
    Command,
    EncryptedDataUnit,
    Frame,
    FrameHeader,
    Layout,
    Login,
    Logout,
    Message,
    Position,
    RealtimeReport,
    RemovalAlarm,
    Report,
    ResentReport,
    TimeCalibrationAnswer,
    TimeCalibrationRequest,
    UnknownCommand,
)
from mobsrc.obd.hj1239.times import decode_time, encode_time

_LOGIN = struct.Struct(">6sH20s")          # 28 bytes (1.7)
_LOGOUT = struct.Struct(">6sH")            # 8 bytes
_REMOVAL = struct.Struct(">6sHBII")        # 17 bytes
_ACTIVATION = struct.Struct(">6s16s64s17s")  # 103 bytes + signature
_ACTIVATION_RESPONSE = struct.Struct(">BB")


@dataclass(frozen=True, slots=True)
class _Unit:
    """The data unit being decoded: the frame bytes and its [start, end) range."""
    data: bytes
    start: int
    end: int
    command: int

    @property
    def size(self) -> int:
        return self.end - self.start

    def exact(self, size: int, what: str) -> None:
        if self.size != size:
            raise FrameError(22, f"{what} data unit length", size, self.size)


def _login(unit: _Unit, _opts) -> Login:
    unit.exact(_LOGIN.size, "login")
    raw_time, serial, iccid = _LOGIN.unpack_from(unit.data, unit.start)
    return Login(decode_time(raw_time), serial, iccid.decode("latin-1"))


def _logout(unit: _Unit, _opts) -> Logout:
    unit.exact(_LOGOUT.size, "logout")
    raw_time, serial = _LOGOUT.unpack_from(unit.data, unit.start)
    return Logout(decode_time(raw_time), serial)


def _report(unit: _Unit, opts) -> Report:
    layout, interval = opts
    return decode_report(unit.data, unit.start, unit.end, resent=unit.command == Command.RESENT,
                         hint=layout, gb_sample_interval=interval)


def _time_calibration(unit: _Unit, _opts) -> TimeCalibrationRequest | TimeCalibrationAnswer:
    if unit.size == 0:
        return TimeCalibrationRequest()
    unit.exact(6, "time-calibration answer")
    return TimeCalibrationAnswer(decode_time(unit.data[unit.start:unit.end]))


def _removal_alarm(unit: _Unit, _opts) -> RemovalAlarm:
    unit.exact(_REMOVAL.size, "removal alarm")
    raw_time, serial, status, lon, lat = _REMOVAL.unpack_from(unit.data, unit.start)
    return RemovalAlarm(decode_time(raw_time), serial, Position(status, lon, lat))


def _activation(unit: _Unit, _opts) -> Activation:
    if unit.size < _ACTIVATION.size:
        raise FrameError(22, "activation data unit length", f">= {_ACTIVATION.size}", unit.size)
    raw_time, chip, key, vin = _ACTIVATION.unpack_from(unit.data, unit.start)
    signature = decode_signature(unit.data, unit.start + _ACTIVATION.size, unit.end)
    if signature is None:
        raise FrameError(HEADER_SIZE + _ACTIVATION.size, "activation signature R/S lengths")
    return Activation(decode_time(raw_time), chip.decode("latin-1"), key, vin.decode("latin-1"),
                      signature)


def _activation_response(unit: _Unit, _opts) -> ActivationResponse:
    unit.exact(_ACTIVATION_RESPONSE.size, "activation response")
    return ActivationResponse(*_ACTIVATION_RESPONSE.unpack_from(unit.data, unit.start))


_DECODERS: dict[int, Callable[[_Unit, object], Message]] = {
    Command.LOGIN: _login,
    Command.REALTIME: _report,
    Command.RESENT: _report,
    Command.LOGOUT: _logout,
    Command.TIME_CALIBRATION: _time_calibration,
    Command.REMOVAL_ALARM: _removal_alarm,
    Command.ACTIVATION: _activation,
    Command.ACTIVATION_RESPONSE: _activation_response,
}


def decode_frame(data: bytes, *, layout: Layout | None = None,
                 max_data_unit: int = MAX_DATA_UNIT,
                 gb_sample_interval: timedelta = GB_SAMPLE_INTERVAL) -> Frame:
    """Decode exactly one frame.  `layout` is the per-terminal profile hint for 0x02/0x03.
    Raises FrameError (with the frame offset) on malformed input, nothing else."""
    data = bytes(data)
    length = check_frame(data, max_data_unit)
    _, command, vin, version, encryption, _ = HEADER.unpack_from(data)
    header = FrameHeader(command, vin.decode("latin-1"), version, encryption)
    unit = _Unit(data, HEADER_SIZE, HEADER_SIZE + length, command)
    return Frame(header, _decode_message(unit, (layout, gb_sample_interval), encryption))


def _decode_message(unit: _Unit, opts, encryption: int) -> Message:
    raw = unit.data[unit.start:unit.end]
    if encryption != NOT_ENCRYPTED:
        return EncryptedDataUnit(raw)
    decoder = _DECODERS.get(unit.command)
    if decoder is None:
        return UnknownCommand(unit.command, raw)
    if unit.size == 0 and unit.command != Command.TIME_CALIBRATION:
        return Acknowledgement(unit.command)
    return decoder(unit, opts)


# --- encoding -------------------------------------------------------------------------------
def _pack(packer: struct.Struct, *values) -> bytes:
    try:
        return packer.pack(*values)
    except (struct.error, TypeError) as err:
        raise EncodeError(str(err)) from None


def _ascii(text: str, size: int, what: str) -> bytes:
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        raise EncodeError(f"{what} must be latin-1 text") from None
    if len(raw) != size:
        raise EncodeError(f"{what} must be {size} characters, got {len(raw)}")
    return raw


def _encode_removal(m: RemovalAlarm) -> bytes:
    p = m.position
    return _pack(_REMOVAL, encode_time(m.at), m.serial, p.status, p.longitude_raw, p.latitude_raw)


def _encode_activation(m: Activation) -> bytes:
    if len(m.public_key) != 64:
        raise EncodeError("SM2 public key must be 64 bytes (X || Y)")
    head = _pack(_ACTIVATION, encode_time(m.at), _ascii(m.chip_id, 16, "chip ID"), m.public_key,
                 _ascii(m.vin, 17, "VIN"))
    return head + encode_signature(m.signature)


#: message type -> (commands it may travel under, data-unit encoder)
_ENCODERS: dict[type, tuple[frozenset[int] | None, Callable]] = {
    Login: ({Command.LOGIN}, lambda m: _pack(_LOGIN, encode_time(m.logged_in_at), m.serial,
                                              _ascii(m.iccid, 20, "ICCID"))),
    RealtimeReport: ({Command.REALTIME}, encode_report),
    ResentReport: ({Command.RESENT}, encode_report),
    Logout: ({Command.LOGOUT}, lambda m: _pack(_LOGOUT, encode_time(m.logged_out_at), m.serial)),
    TimeCalibrationRequest: ({Command.TIME_CALIBRATION}, lambda m: b""),
    TimeCalibrationAnswer: ({Command.TIME_CALIBRATION}, lambda m: encode_time(m.time)),
    RemovalAlarm: ({Command.REMOVAL_ALARM}, _encode_removal),
    Activation: ({Command.ACTIVATION}, _encode_activation),
    ActivationResponse: ({Command.ACTIVATION_RESPONSE},
                         lambda m: _pack(_ACTIVATION_RESPONSE, m.status, m.info)),
    Acknowledgement: (None, lambda m: b""),
    UnknownCommand: (None, lambda m: m.data),
    EncryptedDataUnit: (None, lambda m: m.data),
}


def encode_frame(frame: Frame, *, max_data_unit: int = MAX_DATA_UNIT) -> bytes:
    """Frame -> wire bytes.  Raises EncodeError when the message cannot be encoded."""
    header, message = frame.header, frame.message
    entry = _ENCODERS.get(type(message))
    if entry is None:
        raise EncodeError(f"no encoder for {type(message).__name__}")
    commands, encode = entry
    if commands is not None and header.command not in commands:
        raise EncodeError(f"{type(message).__name__} cannot travel as 0x{header.command:02X}")
    if isinstance(message, (Acknowledgement, UnknownCommand)) and message.command != header.command:
        raise EncodeError("message command differs from header command")
    encryption = header.encryption
    if isinstance(message, EncryptedDataUnit) == (encryption == NOT_ENCRYPTED):
        raise EncodeError("EncryptedDataUnit <-> encryption byte != 0x01")
    return build_frame(header.command, _ascii(header.vin, 17, "VIN"), header.software_version,
                       encryption, encode(message), max_data_unit)


_COMMAND_OF = {Login: Command.LOGIN, RealtimeReport: Command.REALTIME,
               ResentReport: Command.RESENT, Logout: Command.LOGOUT,
               TimeCalibrationRequest: Command.TIME_CALIBRATION,
               TimeCalibrationAnswer: Command.TIME_CALIBRATION,
               RemovalAlarm: Command.REMOVAL_ALARM, Activation: Command.ACTIVATION,
               ActivationResponse: Command.ACTIVATION_RESPONSE}


def make_frame(vin: str, message: Message, *, software_version: int = 1,
               encryption: int = NOT_ENCRYPTED) -> Frame:
    """A Frame whose header command follows from the message type."""
    command = _COMMAND_OF.get(type(message)) or getattr(message, "command", None)
    if command is None:
        raise EncodeError(f"{type(message).__name__} needs an explicit FrameHeader")
    return Frame(FrameHeader(command, vin, software_version, encryption), message)


# --- platform replies (1.14) -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReplyPolicy:
    """What the platform answers.  Echo ACKs: HJ terminals expect an answer with the same
    command and VIN; FW1 accepts an empty data unit [SECONDARY]; content UNCONFIRMED (8.4).
    GB 17691 terminals wait only for the time-calibration answer [SECONDARY]."""
    ack_commands: frozenset[int] = frozenset({Command.LOGIN, Command.REALTIME, Command.RESENT,
                                              Command.LOGOUT, Command.REMOVAL_ALARM})
    answer_time_calibration: bool = True
    software_version: int | None = None   # None: echo the terminal's


DEFAULT_REPLY_POLICY = ReplyPolicy()
_UPSTREAM = (Login, Report, Logout, RemovalAlarm, Activation, EncryptedDataUnit)


def reply_to(request: Frame, *, now: datetime,
             policy: ReplyPolicy = DEFAULT_REPLY_POLICY) -> Frame | None:
    """The answer frame for a received frame, or None when nothing is to be sent."""
    header = request.header
    version = policy.software_version
    version = header.software_version if version is None else version
    if isinstance(request.message, TimeCalibrationRequest):
        if not policy.answer_time_calibration:
            return None
        return Frame(FrameHeader(header.command, header.vin, version), TimeCalibrationAnswer(now))
    if header.command in policy.ack_commands and isinstance(request.message, _UPSTREAM):
        return Frame(FrameHeader(header.command, header.vin, version),
                     Acknowledgement(header.command))
    return None


def encode_reply(request: Frame, *, now: datetime,
                 policy: ReplyPolicy = DEFAULT_REPLY_POLICY) -> bytes | None:
    """Wire bytes of reply_to(...): time answer in GMT+8 for 0x05, echo-header ACK else."""
    reply = reply_to(request, now=now, policy=policy)
    return None if reply is None else encode_frame(reply)
