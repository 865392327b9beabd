"""Per-connection stream decoder for the gateway (stream.py)."""
from mobsrc.obd.hj1239.framing import Garbage, GarbageReason, build_frame
from mobsrc.obd.hj1239.messages import Layout
from mobsrc.obd.hj1239.stream import DecodedFrame, FrameStreamDecoder, UndecodableFrame

from .frames import EXAMPLE_C_GB, EXAMPLE_C_HJ, LOGIN_D, TEST_VIN


def test_stream_decoder_yields_frames_garbage_and_undecodable_units():
    bad_unit = build_frame(0x04, TEST_VIN.encode(), 1, 1, b"\x18\x03")   # logout too short
    events = FrameStreamDecoder().feed(b"zz" + LOGIN_D + bad_unit + EXAMPLE_C_HJ)
    assert [type(e) for e in events] == [Garbage, DecodedFrame, UndecodableFrame, DecodedFrame]
    assert events[0] == Garbage(0, 2, GarbageReason.NO_START)
    assert events[2].error.offset == 22 and events[2].offset == 2 + len(LOGIN_D)
    assert events[3].data == EXAMPLE_C_HJ


def test_stream_decoder_learns_the_layout_from_the_first_complete_report():
    decoder = FrameStreamDecoder()
    decoder.feed(LOGIN_D)
    assert decoder.layout is None
    decoder.feed(EXAMPLE_C_GB)
    assert decoder.layout is Layout.GB
    (event,) = decoder.feed(EXAMPLE_C_HJ)          # an exact HJ unit still decodes as HJ
    assert event.frame.layout is Layout.HJ and decoder.layout is Layout.GB


def test_close_decodes_frames_recovered_behind_a_bogus_candidate():
    decoder = FrameStreamDecoder()
    bogus = b"##\x02" + b"NOTAFRAMEATALL123" + b"\x01\x01\x40\x00"
    assert decoder.feed(bogus + LOGIN_D) == []
    events = decoder.close()
    assert [type(e) for e in events] == [Garbage, DecodedFrame]


def test_a_fixed_profile_is_not_overwritten():
    decoder = FrameStreamDecoder(layout=Layout.HJ)
    decoder.feed(EXAMPLE_C_GB)
    assert decoder.layout is Layout.HJ
