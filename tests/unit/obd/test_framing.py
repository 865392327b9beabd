"""Outer frame (standards-telemetry.md 1.3), VIN check digit (4.1), stream splitting (1.16)."""
from functools import reduce
from operator import xor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobsrc.obd.hj1239.framing import (
    FrameError,
    FrameSplitter,
    Garbage,
    GarbageReason,
    RawFrame,
    build_frame,
    check_frame,
    compute_bcc,
    vin_chars_ok,
    vin_check_ok,
)

from .frames import ALL_EXAMPLES, EXAMPLE_A, EXAMPLE_B, EXAMPLE_C_HJ, LOGIN_D, TIME_REQUEST_D


@given(st.binary(max_size=2000))
def test_bcc_equals_bytewise_xor(data):
    assert compute_bcc(data) == reduce(xor, data, 0)


@pytest.mark.parametrize("frame", ALL_EXAMPLES)
def test_xor_over_every_example_frame_including_bcc_is_zero(frame):
    assert compute_bcc(frame) == 0


def test_example_a_bcc_is_xor_of_bytes_2_to_197():
    assert compute_bcc(EXAMPLE_A[2:197]) == 0x9F == EXAMPLE_A[-1]


@pytest.mark.parametrize("frame", ALL_EXAMPLES)
def test_check_frame_returns_data_unit_length(frame):
    assert check_frame(frame) == len(frame) - 25


@pytest.mark.parametrize("frame, offset, reason", [
    (EXAMPLE_B[:24], 24, "shorter"),
    (b"$#" + EXAMPLE_B[2:], 0, "start"),
    (EXAMPLE_B + b"\x00", 22, "length"),
    (EXAMPLE_B[:-1] + bytes([EXAMPLE_B[-1] ^ 1]), 32, "BCC"),
])
def test_check_frame_rejects_with_offset(frame, offset, reason):
    with pytest.raises(FrameError) as info:
        check_frame(frame)
    assert info.value.offset == offset
    assert reason in info.value.reason


def test_check_frame_rejects_data_unit_above_configured_cap():
    with pytest.raises(FrameError, match="maximum"):
        check_frame(EXAMPLE_A, max_data_unit=100)


def test_build_frame_reproduces_example_b():
    assert build_frame(0x04, b"LG6ZDANH7EY208182", 2, 1, EXAMPLE_B[24:32]) == EXAMPLE_B


# --- VIN (standards-telemetry.md 4.1 test vectors) ---------------------------------------
@pytest.mark.parametrize("vin, chars_ok, check_ok", [
    ("1FACP45EXLF192944", True, True),
    ("WDBEA30D3HA391172", True, True),
    ("1VWBP7A37DC046870", True, True),
    ("LGDCHA1G8MA127733", True, True),
    ("LG6ZDANH7EY208182", True, True),
    ("LTESTKZZ8R0000001", True, True),
    ("LWHTEST1234567895", True, False),      # check 9 != 2
    ("LSVAM41Z6F2000001", True, False),      # check 1 != 6
    ("LCIAMMBE4G0004671", False, False),     # illegal letter I
    ("LGDCHA1G8MA12773", False, False),      # 16 characters
    ("\x00" * 17, False, False),
])
def test_vin_characters_and_gb16735_check_digit(vin, chars_ok, check_ok):
    assert vin_chars_ok(vin) is chars_ok
    assert vin_check_ok(vin) is check_ok


# --- splitter ----------------------------------------------------------------------------
FRAMES = (EXAMPLE_A, EXAMPLE_B, EXAMPLE_C_HJ, LOGIN_D, TIME_REQUEST_D)


def _frames(events):
    return [e.data for e in events if isinstance(e, RawFrame)]


def _garbage(events):
    return [e for e in events if isinstance(e, Garbage)]


def test_many_frames_in_one_chunk_come_out_in_order_with_offsets():
    splitter = FrameSplitter()
    events = splitter.feed(b"".join(FRAMES))
    assert _frames(events) == list(FRAMES)
    assert [e.offset for e in events] == [sum(map(len, FRAMES[:i])) for i in range(len(FRAMES))]
    assert splitter.buffered == 0


@pytest.mark.parametrize("cut", range(1, len(EXAMPLE_A)))
def test_frame_split_at_every_byte_boundary_is_reassembled(cut):
    splitter = FrameSplitter()
    first = splitter.feed(EXAMPLE_A[:cut])
    second = splitter.feed(EXAMPLE_A[cut:])
    assert first == []
    assert second == [RawFrame(0, EXAMPLE_A)]


def test_byte_by_byte_feeding_of_several_frames():
    splitter = FrameSplitter()
    stream = b"".join(FRAMES)
    events = [e for i in range(len(stream)) for e in splitter.feed(stream[i:i + 1])]
    assert _frames(events) == list(FRAMES)
    assert _garbage(events) == []


def test_garbage_before_and_between_frames_is_reported_once_per_run():
    stream = b"noise" + EXAMPLE_B + b"\x00\x01\x02" + LOGIN_D
    events = FrameSplitter().feed(stream)
    assert _frames(events) == [EXAMPLE_B, LOGIN_D]
    assert _garbage(events) == [Garbage(0, 5, GarbageReason.NO_START),
                                Garbage(5 + len(EXAMPLE_B), 3, GarbageReason.NO_START)]


def test_corrupted_bcc_is_dropped_and_the_next_good_frame_still_decodes():
    bad = EXAMPLE_B[:-1] + bytes([EXAMPLE_B[-1] ^ 0xFF])
    events = FrameSplitter().feed(bad + LOGIN_D)
    assert _frames(events) == [LOGIN_D]
    assert _garbage(events) == [Garbage(0, len(bad), GarbageReason.BAD_BCC)]


def test_truncated_frame_followed_by_good_frame_resyncs_inside_the_truncated_bytes():
    truncated = EXAMPLE_A[:60]           # its length field claims 173 bytes
    events = FrameSplitter().feed(truncated + EXAMPLE_A + EXAMPLE_B)
    assert _frames(events) == [EXAMPLE_A, EXAMPLE_B]
    assert sum(g.nbytes for g in _garbage(events)) == 60


def test_hash_hash_inside_a_payload_does_not_split_the_frame():
    iccid = b"##" + b"8986000000000000##"
    unit = LOGIN_D[24:32] + iccid
    frame = build_frame(0x01, b"LTESTKZZ8R0000001", 1, 1, unit)
    assert frame.count(b"##") == 3
    events = FrameSplitter().feed(frame + frame)
    assert _frames(events) == [frame, frame]


def test_length_above_cap_is_discarded_byte_by_byte():
    events = FrameSplitter(max_data_unit=100).feed(EXAMPLE_A + EXAMPLE_B)
    assert _frames(events) == [EXAMPLE_B]
    assert _garbage(events)[0].reason is GarbageReason.LENGTH_TOO_LARGE


def test_implausible_header_does_not_stall_waiting_for_its_length():
    bogus = b"##" + bytes([0x02]) + b"\xfe" * 17 + b"\x01\x01\xff\xf0"   # claims 65520 bytes
    events = FrameSplitter().feed(bogus + EXAMPLE_B)
    assert _frames(events) == [EXAMPLE_B]
    assert _garbage(events)[0].reason is GarbageReason.IMPLAUSIBLE_HEADER


def test_partial_frame_waits_and_close_reports_it_truncated():
    splitter = FrameSplitter()
    assert splitter.feed(EXAMPLE_A[:100]) == []
    assert splitter.buffered == 100
    assert splitter.close() == [Garbage(0, 100, GarbageReason.TRUNCATED)]


def test_trailing_lone_hash_is_kept_for_the_next_chunk():
    splitter = FrameSplitter()
    assert splitter.feed(b"xx" + EXAMPLE_B[:1]) == [Garbage(0, 2, GarbageReason.NO_START)]
    assert splitter.feed(EXAMPLE_B[1:]) == [RawFrame(2, EXAMPLE_B)]


@given(st.lists(st.sampled_from(FRAMES + (b"garbage", b"#", b"##", b"\x23\x23\x02")), max_size=12),
       st.lists(st.integers(1, 64), min_size=1, max_size=30))
def test_splitter_finds_every_frame_whatever_the_chunking(pieces, sizes):
    stream = b"".join(pieces)
    splitter = FrameSplitter()
    events, at, i = [], 0, 0
    while at < len(stream):
        size = sizes[i % len(sizes)]
        events += splitter.feed(stream[at:at + size])
        at, i = at + size, i + 1
    events += splitter.close()
    found = _frames(events)
    assert [p for p in pieces if p in FRAMES] == found
    assert sum(len(f) for f in found) + sum(g.nbytes for g in _garbage(events)) == len(stream)


def _bogus_candidate(length: int) -> bytes:
    """A "##" header that passes the plausibility check but belongs to no frame."""
    return b"##\x02" + b"NOTAFRAMEATALL123" + b"\x01\x01" + length.to_bytes(2, "big")


def test_plausible_bogus_length_delays_but_does_not_lose_the_following_frames():
    splitter = FrameSplitter()
    assert _frames(splitter.feed(_bogus_candidate(0x4000) + EXAMPLE_B + LOGIN_D)) == []
    events = splitter.feed(b"\x55" * 0x4000)          # the bogus length is now buffered
    assert _frames(events) == [EXAMPLE_B, LOGIN_D]
    assert _garbage(events)[0].reason is GarbageReason.BAD_BCC


def test_close_recovers_frames_behind_a_bogus_candidate():
    splitter = FrameSplitter()
    splitter.feed(_bogus_candidate(0x4000) + EXAMPLE_B)
    events = splitter.close()
    assert _frames(events) == [EXAMPLE_B]
    assert _garbage(events) == [Garbage(0, 24, GarbageReason.TRUNCATED)]


@pytest.mark.parametrize("command", [0x00, 0x09, 0x23, 0x7F])
def test_reserved_command_byte_is_an_implausible_header(command):
    candidate = b"##" + bytes([command]) + b"NOTAFRAMEATALL123" + b"\x01\x01\x40\x00"
    events = FrameSplitter().feed(candidate + EXAMPLE_B)
    assert _frames(events) == [EXAMPLE_B]
