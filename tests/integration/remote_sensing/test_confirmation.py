"""High-emitter confirmation over stored verdicts (standards-enforcement.md 1.6): two valid
exceedances of the same pollutant by the same plate and colour within 183 days (consecutive:
a pass in between resets), across days and batches; the violation, its evidence and the I/M
hand-over; a late reading never re-charges evidence already used."""
from __future__ import annotations

from sqlalchemy import select

from mobsrc.enforcement.models import Violation
from mobsrc.enforcement.register import ViolationKind
from mobsrc.remote_sensing.models import HandoverStatus, RsConfirmation
from mobsrc.remote_sensing.service import pending_handovers
from tests.integration import factories
from tests.integration.remote_sensing.conftest import DAY, days, reading

T0 = DAY - days(190)  # 2025-11-11: T0 + 183 days is still before NOW


def exceed(at, **overrides):
    return reading(at, opacity_pct=45.0, **overrides)


def confirmations(session) -> list[RsConfirmation]:
    return list(session.scalars(select(RsConfirmation).order_by(RsConfirmation.id)))


def high_emitter_violations(session) -> list[Violation]:
    return list(session.scalars(select(Violation).where(Violation.kind == ViolationKind.RS_HIGH_EMITTER)))


def test_two_exceedances_on_different_days_confirm_a_high_emitter(rs, session, truck):
    first = rs.post_and_judge(exceed(T0))[0]
    assert confirmations(session) == []
    second = rs.post_and_judge(exceed(T0 + days(30)))[0]
    (confirmation,) = confirmations(session)
    assert (confirmation.plate, confirmation.plate_colour.value, confirmation.pollutant) == ("贵A12345", "yellow",
                                                                                           "opacity")
    assert confirmation.reading_ids == [first["id"], second["id"]] and confirmation.vehicle_id == truck.id
    assert confirmation.rule["min_exceedances"] == 2 and confirmation.rule["window_days"] == 183
    assert confirmation.limit_version == "default-hj845-2017-v1"
    (violation,) = high_emitter_violations(session)
    assert confirmation.violation_id == violation.id and violation.source_ref == f"rs_confirmation:{confirmation.id}"
    assert [e["ref"] for e in violation.evidence if e["type"] == "rs_reading"] == [str(first["id"]), str(second["id"])]
    assert len([e for e in violation.evidence if e["type"] == "image"]) == 2
    assert (violation.vehicle_id, violation.enterprise_id) == (truck.id, truck.enterprise_id)


def test_a_confirmed_high_emitter_opens_one_im_case(rs, session, truck, client, as_admin):
    from mobsrc.im.models import Case
    rs.post_and_judge(exceed(T0), exceed(T0 + days(1), lane=2))
    (confirmation,) = confirmations(session)
    assert confirmation.handover_status is HandoverStatus.HANDED_OVER and confirmation.handed_over_at is not None
    (case,) = session.scalars(select(Case)).all()
    assert confirmation.handover_ref == f"im_case:{case.id}"
    assert (case.trigger.value, case.vehicle_id) == ("remote_sensing_high_emitter", truck.id)
    assert pending_handovers(session) == []
    from mobsrc.remote_sensing.service import hand_over_high_emitter
    hand_over_high_emitter(session, confirmation)            # a second delivery of the same job
    assert len(session.scalars(select(Case)).all()) == 1


def test_pending_hand_overs_are_listed_and_retried_once(rs, session, truck, client, as_police):
    """A confirmation left pending (recorded before the I/M loop was wired, or refused by it at the
    time) is listed for the police and handed over by the retry job, once."""
    from mobsrc.im.models import Case
    from mobsrc.remote_sensing.service import retry_pending_handovers
    rs.post_and_judge(exceed(T0), exceed(T0 + days(1), lane=2))
    (confirmation,) = confirmations(session)
    session.execute(RsConfirmation.__table__.update().values(handover_status="pending", handover_ref=None))
    session.expire_all()
    page = client.get("/api/v1/remote-sensing/confirmations?handover_status=pending", headers=as_police).json
    assert [c["id"] for c in page["items"]] == [confirmation.id]
    assert retry_pending_handovers(session) == 1 and pending_handovers(session) == []
    assert retry_pending_handovers(session) == 0
    assert len(session.scalars(select(Case)).all()) == 1   # idempotent on the confirmation


def test_exceedances_further_apart_than_the_window_do_not_confirm(rs, session, truck):
    rs.post_and_judge(exceed(T0))
    rs.post_and_judge(exceed(T0 + days(183.01)))
    assert confirmations(session) == [] and high_emitter_violations(session) == []


def test_exactly_183_days_apart_is_inside_the_window(rs, session, truck):
    rs.post_and_judge(exceed(T0), exceed(T0 + days(183)))
    assert len(confirmations(session)) == 1


def test_a_valid_pass_in_between_resets_the_count(rs, session, truck):
    rs.post_and_judge(exceed(T0))
    rs.post_and_judge(reading(T0 + days(10)))      # passes opacity
    rs.post_and_judge(exceed(T0 + days(20)))
    assert confirmations(session) == []
    rs.post_and_judge(exceed(T0 + days(21)))
    assert [c.pollutant for c in confirmations(session)] == ["opacity"]


def test_invalid_and_other_pollutants_neither_count_nor_reset(rs, session, truck):
    rs.post_and_judge(exceed(T0), exceed(T0 + days(5), rain=True), reading(T0 + days(6), no_ppm=2000.0, opacity_pct=None))
    assert confirmations(session) == []
    rs.post_and_judge(exceed(T0 + days(7)))
    assert [c.pollutant for c in confirmations(session)] == ["opacity"]


def test_same_plate_in_another_colour_is_another_vehicle(rs, session, enterprise, truck):
    factories.make_vehicle(session, enterprise, plate="贵A12345", plate_colour="blue", fuel="diesel")
    rs.post_and_judge(exceed(T0), exceed(T0 + days(1), plate_colour="blue"))
    assert confirmations(session) == []


def test_one_exceedance_is_evidence_in_one_confirmation_even_when_a_late_reading_arrives(rs, session, truck):
    rs.post_and_judge(exceed(T0 + days(10)), exceed(T0 + days(20)))
    assert len(confirmations(session)) == 1
    rs.post_and_judge(exceed(T0 + days(15), lane=3))  # posted late, between the two
    assert len(confirmations(session)) == 1
    rs.post_and_judge(exceed(T0 + days(30)))          # pairs with the late one: a new confirmation
    first, second = confirmations(session)
    assert not set(first.reading_ids) & set(second.reading_ids)
    assert len(high_emitter_violations(session)) == 2


def test_a_stricter_rule_set_by_the_admin_is_used_for_later_readings(rs, session, truck, client, as_admin):
    from mobsrc.remote_sensing.limit_documents import limit_table_to_dict
    from mobsrc.remote_sensing.limits import DEFAULT_LIMITS
    document = limit_table_to_dict(DEFAULT_LIMITS) | {"version": "three-strikes", "effective_from": "2026-06-01"}
    document["confirmation"] = document["confirmation"] | {"min_exceedances": 3, "require_consecutive": False}
    assert client.post("/api/v1/remote-sensing/limit-tables", json={"document": document},
                       headers=as_admin).status_code == 201
    june = DAY + days(12)  # 2026-06-01 local
    rs.post_and_judge(exceed(june), exceed(june + days(0.01), lane=2))
    assert confirmations(session) == []
    rs.post_and_judge(exceed(june + days(0.02), lane=3))
    (confirmation,) = confirmations(session)
    assert confirmation.limit_version == "three-strikes" and len(confirmation.reading_ids) == 3
