"""Property tests: encode-then-decode round trips for every message type; arbitrary and
mutated bytes never raise anything but FrameError."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mobsrc.obd.hj1239.codec import decode_frame, encode_frame, make_frame
from mobsrc.obd.hj1239.framing import FrameError, build_frame
from mobsrc.obd.hj1239.layouts import GB_SAMPLE_INTERVAL, _parse
from mobsrc.obd.hj1239.messages import (
    Acknowledgement,
    Activation,
    ActivationResponse,
    EngineStream,
    HybridStream,
    Layout,
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
from mobsrc.obd.hj1239.tables import STREAM_BODIES
from mobsrc.obd.hj1239.times import decode_time, encode_time

from .frames import ALL_EXAMPLES

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

times = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2254, 12, 30),
                     timezones=st.just(UTC)).map(lambda t: t.replace(microsecond=0))
words = st.integers(0, 0xFFFF)
latin1 = lambda n: st.binary(min_size=n, max_size=n).map(lambda b: b.decode("latin-1"))  # noqa: E731
# R/S lengths 6..64: an R length equal to an info type (1-5) is ambiguous by construction
signatures = st.builds(Signature, st.binary(min_size=6, max_size=64), st.binary(min_size=6, max_size=64))

_MAKERS = {0x02: EngineStream, 0x03: lambda t, s, r: TwcStream(t, s, r, False), 0x04: HybridStream,
           0x05: lambda t, s, r: TwcStream(t, s, r, True), 0x80: SupplementaryStream}


def raw_values(info_type):
    return st.tuples(*[st.integers(0, (1 << 8 * f.width) - 1) for f in STREAM_BODIES[info_type].fields])


@st.composite
def stream_blocks(draw, at, serial):
    info_type = draw(st.sampled_from(sorted(_MAKERS)))
    return _MAKERS[info_type](at, serial, draw(raw_values(info_type)))


@st.composite
def obd_blocks(draw, at, serial):
    count = draw(st.one_of(st.integers(0, 6), st.sampled_from([0xFE, 0xFF])))
    dtcs = tuple(draw(st.lists(st.integers(0, 0xFFFFFFFF), min_size=count, max_size=count))) \
        if count <= 253 else ()
    return ObdInfo(at, serial, draw(st.integers(0, 255)), draw(st.integers(0, 255)), draw(words),
                   draw(words), draw(latin1(17)), draw(st.binary(min_size=18, max_size=18)),
                   draw(st.binary(min_size=18, max_size=18)),
                   draw(st.binary(min_size=36, max_size=36)), count, dtcs)


def any_block(at, serial):
    return st.one_of(stream_blocks(at, serial), obd_blocks(at, serial))


@st.composite
def hj_reports(draw, kind):
    blocks = draw(st.lists(times.flatmap(lambda t: any_block(t, None)), max_size=5))
    return kind(Layout.HJ, tuple(blocks), sent_at=draw(times), serial=draw(words),
                signature=draw(st.none() | signatures))


def _gb_times(t0, types):
    seen = {}
    for info_type in types:
        seen[info_type] = seen.get(info_type, -1) + 1
        yield t0 + timedelta(seconds=seen[info_type])


@st.composite
def gb_reports(draw, kind):
    t0 = draw(times)
    drafts = draw(st.lists(any_block(None, 0), max_size=5))
    at = _gb_times(t0, [b.info_type for b in drafts])
    timed = [_retime(block, next(at), draw(words)) for block in drafts]
    tail = draw(st.none() | st.tuples(st.integers(0x06, 0x7F), st.binary(max_size=20)))
    if tail is not None:
        timed.append(UnknownBlock(tail[0], tail[1]))
    return kind(Layout.GB, tuple(timed), collected_at=t0)


def _retime(block, at, serial):
    return replace(block, collected_at=at, serial=serial)


positions = st.builds(Position, st.integers(0, 255), st.integers(0, 0xFFFFFFFF),
                      st.integers(0, 0xFFFFFFFF))
messages = st.one_of(
    st.builds(Login, times, words, latin1(20)),
    hj_reports(RealtimeReport), hj_reports(ResentReport),
    gb_reports(RealtimeReport), gb_reports(ResentReport),
    st.builds(Logout, times, words),
    st.just(TimeCalibrationRequest()),
    st.builds(TimeCalibrationAnswer, times),
    st.builds(RemovalAlarm, times, words, positions),
    st.builds(Activation, times, latin1(16), st.binary(min_size=64, max_size=64), latin1(17),
              signatures),
    st.builds(ActivationResponse, st.integers(0, 255), st.integers(0, 255)),
    st.builds(Acknowledgement, st.sampled_from([0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x08])),
    st.builds(UnknownCommand, st.integers(0x09, 0xFF), st.binary(max_size=40)),
)


def _exact_in(layout, wire):
    try:
        return _parse(layout, wire, 24, len(wire) - 1, GB_SAMPLE_INTERVAL).exact
    except FrameError:
        return False


@FAST
@given(messages, latin1(17), st.integers(0, 255))
def test_encode_then_decode_round_trips_every_message_type(message, vin, version):
    frame = make_frame(vin, message, software_version=version)
    wire = encode_frame(frame)
    layout = getattr(message, "layout", None)
    if layout is Layout.GB and not message.is_complete:
        # a GB unit ending in an unknown type may also read as an exact HJ unit; the exact
        # layout wins by design (layouts.py), so such inputs are ambiguous, not round-trippable
        assume(not _exact_in(Layout.HJ, wire))
    assert decode_frame(wire, layout=layout) == frame
    assert encode_frame(decode_frame(wire, layout=layout)) == wire


@FAST
@given(hj_reports(RealtimeReport))
def test_hj_report_layout_is_detected_without_a_hint_when_times_are_valid(report):
    decoded = decode_frame(encode_frame(make_frame("LTESTKZZ8R0000001", report))).message
    assert decoded == report


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_frame_error(data):
    try:
        decode_frame(data)
    except FrameError:
        pass


@FAST
@given(st.integers(0, 255), st.binary(min_size=17, max_size=17), st.integers(0, 255),
       st.sampled_from([0x01, 0x01, 0x01, 0x03]), st.binary(max_size=400), st.sampled_from([None, Layout.GB, Layout.HJ]))
def test_well_framed_random_data_units_raise_only_frame_error(command, vin, version, enc, unit, hint):
    frame = build_frame(command, vin, version, enc, unit)
    try:
        decoded = decode_frame(frame, layout=hint)
    except FrameError:
        return
    assert decoded.header.command == command


@FAST
@given(st.sampled_from(ALL_EXAMPLES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                               min_size=1, max_size=6),
       st.booleans())
def test_mutated_valid_frames_raise_only_frame_error(frame, edits, fix_bcc):
    mutated = bytearray(frame)
    for at, value in edits:
        mutated[at % len(mutated)] = value
    if fix_bcc:   # reach the data-unit decoders, not only the BCC check
        mutated[2:] = build_frame(mutated[2], bytes(mutated[3:20]), mutated[20], mutated[21],
                                  bytes(mutated[24:-1]))[2:]
    try:
        decode_frame(bytes(mutated))
    except FrameError:
        pass


@given(st.binary(min_size=6, max_size=6))
def test_wire_time_decoding_equals_calendar_construction(raw):
    year, month, day, hour, minute, second = raw
    try:
        expected = datetime(2000 + year, month, day, hour, minute, second,
                            tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)
    except ValueError:
        expected = None
    assert decode_time(raw) == expected
    if expected is not None:
        assert encode_time(expected) == raw
