"""The I/M loop's use cases. Other features call `open_case` (see its docstring) with a
`Subject` and a `TriggerKind`:

    from mobsrc.im import service as im
    from mobsrc.im.cases import TriggerKind
    case, created = im.open_case(session, TriggerKind.REMOTE_SENSING_HIGH_EMITTER,
                                 im.Subject(plate="贵A12345", plate_colour="yellow"),
                                 ["rs_reading:101", "rs_reading:187"], at=confirmed_at,
                                 source="remote_sensing", source_ref="confirmation:55")
"""
from mobsrc.im.cases import TriggerKind
from mobsrc.im.service.cases import open_case
from mobsrc.im.service.subjects import Subject

__all__ = ["Subject", "TriggerKind", "open_case"]
