"""decode_frame / encode_frame against the worked examples of standards-telemetry.md 1.15,
and hand-built frames for every command (1.5, 1.7)."""
from datetime import datetime, timedelta, timezone

import pytest

from mobsrc.obd.hj1239.codec import (
    ReplyPolicy,
    decode_frame,
    encode_frame,
    encode_reply,
    make_frame,
    reply_to,
)
from mobsrc.obd.hj1239.framing import EncodeError, FrameError, build_frame
from mobsrc.obd.hj1239.messages import (
    Acknowledgement,
    Activation,
    ActivationResponse,
    EncryptedDataUnit,
    EngineStream,
    Frame,
    FrameHeader,
    FrameStatus,
    HybridStream,
    Layout,
    LayoutSource,
    Login,
    Logout,
    ObdInfo,
    Position,
    RealtimeReport,
    RemovalAlarm,
    ResentReport,
    Signature,
    SupplementaryStream,
    TimeCalibrationAnswer,
    TimeCalibrationRequest,
    TwcStream,
    UnknownBlock,
    UnknownCommand,
)
from mobsrc.obd.hj1239.tables import ValueStatus

from .frames import (
    ALL_EXAMPLES,
    ENGINE_BODY_C,
    EXAMPLE_A,
    EXAMPLE_B,
    EXAMPLE_C_GB,
    EXAMPLE_C_HJ,
    LOGIN_D,
    LOGOUT_D,
    TEST_VIN,
    TIME_ANSWER_D,
    TIME_REQUEST_D,
    utc,
)


@pytest.mark.parametrize("frame", ALL_EXAMPLES)
def test_every_worked_example_re_encodes_to_the_same_bytes(frame):
    assert encode_frame(decode_frame(frame)) == frame


# --- Example A: GB real-time with 7 DTCs and 0xFEFF markers -------------------------------
@pytest.fixture(scope="module")
def example_a():
    return decode_frame(EXAMPLE_A)


def test_example_a_header(example_a):
    assert example_a.header == FrameHeader(0x02, "LGDCHA1G8MA127733", 1, 1)
    assert example_a.vin_check_ok and example_a.status is FrameStatus.DECODED


def test_example_a_is_detected_as_gb_layout_with_one_time(example_a):
    report = example_a.message
    assert isinstance(report, RealtimeReport)
    assert (report.layout, report.layout_source) == (Layout.GB, LayoutSource.DETECTED)
    assert report.collected_at == utc(2021, 8, 14, 0, 47, 35)      # 08:47:35 GMT+8
    assert [(b.info_type, b.serial, b.collected_at) for b in report.blocks] == [
        (0x01, 1, report.collected_at), (0x02, 1, report.collected_at)]


def test_example_a_obd_block(example_a):
    obd = example_a.message.blocks[0]
    assert (obd.protocol, obd.protocol_name, obd.mil, obd.mil_on) == (1, "ISO 27145", 0, False)
    assert (obd.support_map, obd.readiness_map) == (0xABDE, 0xA9D6)
    assert obd.vin == "LGDCHA1G8MA127733" and obd.vin_check_ok
    assert obd.cal_id_raw == b"YCY30165-60" + b" " * 5 + b"\x00\x00"
    assert obd.cal_id == "YCY30165-60"
    assert obd.cvn == "EC40A1BF" and obd.cvn_raw == bytes.fromhex("EC40A1BF") + bytes(14)
    assert obd.iupr_raw == bytes(36) and set(obd.iupr.values()) == {0}
    assert obd.dtc_count == 7
    assert obd.dtcs == (0x145600AF, 0xE00200AF, 0xE06200AF, 0xE00900AF, 0x204700AF, 0x245500AF,
                        0xE01200AF)
    assert obd.dtc_codes[:2] == ("P1456-00/AF", "U2002-00/AF")


EXAMPLE_A_STREAM = [
    ("vehicle_speed", 0, 0.0, ValueStatus.VALID),
    ("atmospheric_pressure", 0xC5, 98.5, ValueStatus.VALID),
    ("engine_net_torque", 0x7D, 0.0, ValueStatus.VALID),
    ("friction_torque", 0x83, 6.0, ValueStatus.VALID),
    ("engine_speed", 0, 0.0, ValueStatus.VALID),
    ("fuel_flow", 0, 0.0, ValueStatus.VALID),
    ("nox_upstream", 0, -200.0, ValueStatus.SUSPECT),        # sensor not ready
    ("nox_downstream", 0, -200.0, ValueStatus.SUSPECT),
    ("reagent_level", 0x61, 38.8, ValueStatus.VALID),
    ("intake_air_flow", 0, 0.0, ValueStatus.VALID),
    ("scr_inlet_temperature", 0xFEFF, None, ValueStatus.ERROR),   # not 1766.97 degC
    ("scr_outlet_temperature", 0xFEFF, None, ValueStatus.ERROR),
    ("dpf_pressure_drop", 0xFEFF, None, ValueStatus.ERROR),       # not 6527.9 kPa
    ("coolant_temperature", 0x3D, 21.0, ValueStatus.VALID),
    ("fuel_level", 0, 0.0, ValueStatus.VALID),
    ("longitude", 0x06AFD317, 112.186135, ValueStatus.VALID),
    ("latitude", 0x01EA55FE, 32.134654, ValueStatus.VALID),
    ("total_mileage", 0x28, 4.0, ValueStatus.VALID),
]


@pytest.mark.parametrize("name, raw, value, status", EXAMPLE_A_STREAM)
def test_example_a_engine_stream_values(example_a, name, raw, value, status):
    measurement = example_a.message.blocks[1].measurement(name)
    assert (measurement.raw, measurement.value, measurement.status) == (raw, value, status)


def test_example_a_position_valid_north_east(example_a):
    position = example_a.message.blocks[1].position
    assert position.is_fix_valid
    assert (position.longitude, position.latitude) == (112.186135, 32.134654)


# --- Example B: logout ----------------------------------------------------------------------
def test_example_b_logout():
    frame = decode_frame(EXAMPLE_B)
    assert frame.header == FrameHeader(0x04, "LG6ZDANH7EY208182", 2, 1)
    assert frame.vin_check_ok
    assert frame.message == Logout(utc(2020, 9, 17, 11, 46, 52), 26)   # 19:46:52 GMT+8


# --- Example C: HJ real-time, and the same sample in GB layout ------------------------------
EXAMPLE_C_STREAM = [
    ("vehicle_speed", 45.5), ("atmospheric_pressure", 89.5), ("engine_net_torque", 35.0),
    ("friction_torque", 8.0), ("engine_speed", 1450.0), ("fuel_flow", 18.6),
    ("nox_upstream", 420.5), ("nox_downstream", 35.25), ("reagent_level", 62.4),
    ("intake_air_flow", 612.35), ("scr_inlet_temperature", 285.5),
    ("scr_outlet_temperature", 270.25), ("dpf_pressure_drop", 3.2),
    ("coolant_temperature", 86.0), ("fuel_level", 55.2), ("longitude", 106.713478),
    ("latitude", 26.578343), ("total_mileage", 123456.7),
]


def test_example_c_hj_layout_times_and_serial():
    frame = decode_frame(EXAMPLE_C_HJ)
    report = frame.message
    assert frame.vin == TEST_VIN and frame.vin_check_ok
    assert (report.layout, report.sent_at, report.serial) == (
        Layout.HJ, utc(2024, 3, 15, 2, 30, 10), 1)
    assert report.signature is None and report.collected_at is None
    (block,) = report.blocks
    assert (block.collected_at, block.serial) == (utc(2024, 3, 15, 2, 30, 0), None)


@pytest.mark.parametrize("frame", [EXAMPLE_C_HJ, EXAMPLE_C_GB], ids=["hj", "gb"])
@pytest.mark.parametrize("name, value", EXAMPLE_C_STREAM)
def test_example_c_values_in_both_layouts(frame, name, value):
    block = decode_frame(frame).message.blocks[-1]
    assert block.measurement(name).value == value
    assert block.measurement(name).status is ValueStatus.VALID


def test_example_c_gb_layout_carries_serial_per_block():
    report = decode_frame(EXAMPLE_C_GB).message
    assert report.layout is Layout.GB and report.collected_at == utc(2024, 3, 15, 2, 30, 0)
    assert report.blocks[0].serial == 1


@pytest.mark.parametrize("frame, hint, expected, source", [
    (EXAMPLE_C_HJ, None, Layout.HJ, LayoutSource.DETECTED),
    (EXAMPLE_C_HJ, Layout.HJ, Layout.HJ, LayoutSource.PROFILE),
    (EXAMPLE_C_HJ, Layout.GB, Layout.HJ, LayoutSource.DETECTED),    # exact layout beats profile
    (EXAMPLE_C_GB, None, Layout.GB, LayoutSource.DETECTED),
    (EXAMPLE_C_GB, Layout.GB, Layout.GB, LayoutSource.PROFILE),
    (EXAMPLE_A, Layout.HJ, Layout.GB, LayoutSource.DETECTED),
])
def test_layout_detection_reports_which_layout_and_why(frame, hint, expected, source):
    report = decode_frame(frame, layout=hint).message
    assert (report.layout, report.layout_source) == (expected, source)


# --- Example D: login, time calibration, logout ---------------------------------------------
@pytest.mark.parametrize("frame, message", [
    (LOGIN_D, Login(utc(2024, 3, 15, 2, 29, 55), 1, "89860000000000000001")),
    (TIME_REQUEST_D, TimeCalibrationRequest()),
    (TIME_ANSWER_D, TimeCalibrationAnswer(utc(2024, 3, 15, 2, 29, 56))),
    (LOGOUT_D, Logout(utc(2024, 3, 15, 10, 0, 0), 1)),
])
def test_example_d_messages(frame, message):
    decoded = decode_frame(frame)
    assert decoded.header == FrameHeader(frame[2], TEST_VIN, 1, 1)
    assert decoded.message == message


def test_time_calibration_is_answered_with_gmt8_server_time():
    now = datetime(2024, 3, 15, 10, 29, 56, tzinfo=timezone(timedelta(hours=8)))
    assert encode_reply(decode_frame(TIME_REQUEST_D), now=now) == TIME_ANSWER_D


@pytest.mark.parametrize("frame", [LOGIN_D, EXAMPLE_C_HJ, LOGOUT_D])
def test_hj_commands_are_acknowledged_with_echo_header_and_empty_unit(frame):
    reply = encode_reply(decode_frame(frame), now=utc(2024, 3, 15, 3, 0, 0))
    assert reply == build_frame(frame[2], TEST_VIN.encode(), 1, 1, b"")
    assert decode_frame(reply).message == Acknowledgement(frame[2])


def test_acks_are_configurable():
    policy = ReplyPolicy(ack_commands=frozenset(), answer_time_calibration=False)
    for frame in (LOGIN_D, TIME_REQUEST_D):
        assert reply_to(decode_frame(frame), now=utc(2024, 1, 1), policy=policy) is None


def test_replies_are_not_answered_again():
    for frame in (TIME_ANSWER_D, encode_reply(decode_frame(LOGIN_D), now=utc(2024, 1, 1))):
        assert reply_to(decode_frame(frame), now=utc(2024, 1, 1)) is None


# --- hand-built frames for every command ----------------------------------------------------
T = utc(2024, 3, 15, 2, 30, 0)
SIG = Signature(bytes(range(32)), bytes(range(32, 64)))
ENGINE = EngineStream.from_values(T, None, vehicle_speed=45.5, engine_speed=1450,
                                  nox_downstream=35.25, longitude=-106.5, latitude=-26.25)
OBD = ObdInfo(T, None, 2, 1, 0xDEA0, 0x0400, TEST_VIN, b"CAL".ljust(18, b"0"),
              bytes.fromhex("12345678").ljust(18, b"\x00"), b"0" * 36, 2, (0x12345678, 0x9ABCDEF0))
HJ_REPORT = RealtimeReport(Layout.HJ, (
    OBD, ENGINE,
    TwcStream.from_values(T, None, engine_speed=900, twc_temperature=450),
    TwcStream.from_values(T, None, with_nox=True, twc_nox_downstream=12.5, longitude=1, latitude=2),
    HybridStream.from_values(T, None, motor_speed=3000, battery_current=-12.5, battery_soc=80),
    SupplementaryStream.from_values(T, None, engine_torque_mode=9, total_fuel_used=1234.5),
), sent_at=T + timedelta(seconds=10), serial=7, signature=SIG)

HAND_BUILT = [
    Login(T, 65530, "89860000000000000001"),
    HJ_REPORT,
    ResentReport(Layout.GB, (EngineStream(T, 3, ENGINE.raw),
                             EngineStream(T + timedelta(seconds=1), 4, ENGINE.raw),
                             ObdInfo(T, 5, 0, 0, 0, 0, TEST_VIN, bytes(18), bytes(18), bytes(36),
                                     0xFE)),
                 collected_at=T),
    Logout(T, 65530),
    TimeCalibrationRequest(),
    TimeCalibrationAnswer(T),
    RemovalAlarm(T, 9, Position.from_degrees(106.71, 26.57, fix_valid=False)),
    Activation(T, "CHIP000000000001", bytes(range(64)), TEST_VIN, SIG),
    ActivationResponse(1, 0),
    Acknowledgement(0x02),
    UnknownCommand(0x81, b"\x01\x02"),
]


@pytest.mark.parametrize("message", HAND_BUILT, ids=lambda m: type(m).__name__)
def test_hand_built_frame_round_trips(message):
    frame = make_frame(TEST_VIN, message)
    wire = encode_frame(frame)
    assert decode_frame(wire) == frame
    assert encode_frame(decode_frame(wire)) == wire


def test_hand_built_values_survive_scaling():
    blocks = decode_frame(encode_frame(make_frame(TEST_VIN, HJ_REPORT))).message.blocks
    engine, twc, twc_nox, hybrid, extra = blocks[1:]
    assert engine.value("vehicle_speed") == 45.5 and engine.value("fuel_flow") is None
    assert (engine.position.longitude, engine.position.latitude) == (-106.5, -26.25)
    assert twc.value("twc_temperature") == 450 and twc.info_type == 0x03
    assert twc_nox.value("twc_nox_downstream") == 12.5 and twc_nox.info_type == 0x05
    assert hybrid.value("battery_current") == -12.5 and hybrid.value("battery_soc") == 80
    assert extra.value("total_fuel_used") == 1234.5
    assert blocks[0].iupr_ascii_filled and blocks[0].dtc_codes[0] == "SPN 144402 FMI 22 OC 120"


def test_removal_alarm_last_known_position():
    frame = decode_frame(encode_frame(make_frame(TEST_VIN, HAND_BUILT[6])))
    position = frame.message.position
    assert not position.is_fix_valid and position.longitude == 106.71


def test_activation_response_codes():
    response = decode_frame(encode_frame(make_frame(TEST_VIN, ActivationResponse(2, 2)))).message
    assert response == ActivationResponse(2, 2)


# --- encryption, unknown types, malformed data units ---------------------------------------
def test_encrypted_frame_keeps_data_unit_raw():
    frame = build_frame(0x02, TEST_VIN.encode(), 1, 0x03, EXAMPLE_C_HJ[24:-1])
    decoded = decode_frame(frame)
    assert decoded.status is FrameStatus.ENCRYPTED
    assert decoded.message == EncryptedDataUnit(EXAMPLE_C_HJ[24:-1])
    assert encode_frame(decoded) == frame


def test_unknown_command_keeps_data_unit_raw():
    decoded = decode_frame(build_frame(0x80, TEST_VIN.encode(), 1, 1, b"\x01\x02\x03"))
    assert decoded.status is FrameStatus.UNKNOWN_COMMAND
    assert decoded.message == UnknownCommand(0x80, b"\x01\x02\x03")


def test_unknown_info_type_stops_the_parse_and_keeps_the_rest_raw():
    unit = EXAMPLE_C_HJ[24:-1] + bytes([0x81, 0x18, 0x03, 0x0F, 0x0A, 0x1E, 0x01, 0xAA, 0xBB])
    report = decode_frame(build_frame(0x02, TEST_VIN.encode(), 1, 1, unit)).message
    assert report.layout is Layout.HJ and not report.is_complete
    assert report.blocks[-1] == UnknownBlock(0x81, unit[53:])


def test_signed_hj_report_keeps_r_and_s():
    unit = EXAMPLE_C_HJ[24:-1] + bytes([32]) + SIG.r + bytes([32]) + SIG.s
    report = decode_frame(build_frame(0x02, TEST_VIN.encode(), 1, 1, unit)).message
    assert report.layout is Layout.HJ and report.signature == SIG and report.is_complete


def test_gb_samples_under_one_time_are_one_second_apart():
    unit = EXAMPLE_C_GB[24:-1] + bytes([0x02, 0x00, 0x02]) + ENGINE_BODY_C
    report = decode_frame(build_frame(0x02, TEST_VIN.encode(), 1, 1, unit)).message
    assert [b.collected_at for b in report.blocks] == [T, T + timedelta(seconds=1)]


def test_impossible_wire_time_decodes_to_none():
    unit = bytes([24, 13, 1, 0, 0, 0]) + LOGOUT_D[30:32]
    assert decode_frame(build_frame(0x04, TEST_VIN.encode(), 1, 1, unit)).message.logged_out_at is None


@pytest.mark.parametrize("command, unit, offset", [
    (0x01, LOGIN_D[24:-2], 22),                       # login one byte short
    (0x04, LOGOUT_D[24:-1] + b"\x00", 22),            # logout one byte long
    (0x05, b"\x18\x03", 22),                          # time answer neither 0 nor 6 bytes
    (0x06, bytes(16), 22),
    (0x08, b"\x01", 22),
    (0x02, b"\x18\x03\x0f", 24),                      # shorter than a time
    (0x02, EXAMPLE_C_HJ[24:-5], 39),                  # engine body cut short (HJ)
])
def test_malformed_data_units_raise_frame_error_with_offset(command, unit, offset):
    with pytest.raises(FrameError) as info:
        decode_frame(build_frame(command, TEST_VIN.encode(), 1, 1, unit))
    assert info.value.offset == offset


@pytest.mark.parametrize("frame", [
    Frame(FrameHeader(0x02, TEST_VIN), Login(T, 1, "89860000000000000001")),   # wrong command
    make_frame(TEST_VIN, Login(T.replace(tzinfo=None), 1, "89860000000000000001")),  # naive
    make_frame(TEST_VIN, Login(T, 1, "8986")),                                    # short ICCID
    make_frame("SHORT", Logout(T, 1)),
    make_frame(TEST_VIN, RealtimeReport(Layout.GB, (ENGINE,), collected_at=T)),  # no GB serial
])
def test_unencodable_frames_raise_encode_error(frame):
    with pytest.raises(EncodeError):
        encode_frame(frame)
