"""Owner notices through the outbox and signed webhook deliveries, against a real HTTP server
started by each test (http.server in a thread): signatures, stable delivery ids, retries with
backoff on a controllable clock, giving up and re-arming, SSRF refusals, and the job path."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import Role
from mobsrc.im import webhooks
from mobsrc.im.models import DeliveryStatus, Notification, WebhookDelivery
from mobsrc.im.service import outbox
from tests.integration import factories
from tests.integration.im import payloads

HOOKS = "/api/v1/im/webhooks"


@pytest.fixture
def hooked(client, as_operator, enterprise, receiver, private_webhooks) -> str:
    """The operator's webhook points at the receiver; returns its secret."""
    response = client.put(f"{HOOKS}/{enterprise.id}", json={"url": receiver.url}, headers=as_operator)
    assert response.status_code == 201, response.json
    return response.json["secret"]


def fail_inspection(client, session, vehicle, principal_headers) -> None:
    headers = principal_headers(Role.I_STATION, station=factories.make_station(session, "i"))
    assert client.post("/api/v1/im/inspections", json=payloads.failing(vehicle), headers=headers).status_code == 201


def delivery(session) -> WebhookDelivery:
    session.expire_all()
    return session.scalars(select(WebhookDelivery)).one()


# --- managing the webhook --------------------------------------------------------------------------

def test_an_owner_sets_its_webhook_and_sees_the_secret_once(client, as_operator, as_other_operator, as_admin,
                                                            enterprise, private_webhooks):
    created = client.put(f"{HOOKS}/{enterprise.id}", json={"url": "https://fleet.example.cn/im"}, headers=as_operator)
    assert created.status_code == 201 and len(created.json["secret"]) == 64
    shown = client.get(f"{HOOKS}/{enterprise.id}", headers=as_operator).json
    assert shown["url"] == "https://fleet.example.cn/im" and "secret" not in shown
    changed = client.put(f"{HOOKS}/{enterprise.id}", json={"url": "https://fleet.example.cn/v2"}, headers=as_operator)
    assert (changed.status_code, changed.json["secret"]) == (200, None)
    rotated = client.put(f"{HOOKS}/{enterprise.id}", json={"url": "https://fleet.example.cn/v2", "rotate_secret": True},
                         headers=as_admin)
    assert rotated.json["secret"] not in (None, created.json["secret"])
    assert client.get(f"{HOOKS}/{enterprise.id}", headers=as_other_operator).status_code == 404
    assert client.put(f"{HOOKS}/{enterprise.id}", json={"url": "https://x.example/"},
                      headers=as_other_operator).status_code == 404
    assert client.delete(f"{HOOKS}/{enterprise.id}", headers=as_operator).status_code == 204
    assert client.get(f"{HOOKS}/{enterprise.id}", headers=as_operator).status_code == 404


def test_the_secret_never_reaches_the_audit_log(client, session, as_operator, enterprise):
    from mobsrc.core.audit import AuditEntry
    secret = client.put(f"{HOOKS}/{enterprise.id}", json={"url": "https://fleet.example.cn/im"},
                        headers=as_operator).json["secret"]
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "im_webhooks")).all()
    assert entries and all(secret not in json.dumps(e.after) for e in entries)


@pytest.mark.parametrize("url, reason", [
    ("ftp://fleet.example.cn/im", "http"), ("https://user:pw@fleet.example.cn/im", "credentials"),
    ("http://127.0.0.1:9000/im", "private"), ("http://10.1.2.3/im", "private"), ("http://localhost/im", "network"),
    ("http://[::1]:8080/im", "private"), ("http://169.254.169.254/latest", "private"),
])
def test_bad_and_private_urls_are_refused(client, as_operator, enterprise, url, reason):
    response = client.put(f"{HOOKS}/{enterprise.id}", json={"url": url}, headers=as_operator)
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "url"
    assert reason in response.json["errors"][0]["reason"]


# --- delivering ------------------------------------------------------------------------------------

def test_a_notice_is_delivered_signed_with_a_stable_id(client, session, db, vehicle, principal_headers, hooked,
                                                       receiver):
    fail_inspection(client, session, vehicle, principal_headers)
    assert outbox.deliver_due(db, allow_private=True) == 1
    (headers, body, path), = receiver.requests
    assert path == "/hooks/mobsrc?source=im"
    assert webhooks.is_valid_signature(hooked, body, headers[webhooks.SIGNATURE_HEADER], int(time.time()))
    assert not webhooks.is_valid_signature("another secret", body, headers[webhooks.SIGNATURE_HEADER],
                                           int(time.time()))
    notice = session.scalars(select(Notification)).one()
    document = json.loads(body)
    assert headers[webhooks.DELIVERY_HEADER] == document["id"] == str(notice.uuid)
    assert headers[webhooks.EVENT_HEADER] == document["event"] == "case.opened"
    assert (document["vin"], document["state"]) == (vehicle.vin, "notified")
    done = delivery(session)
    assert (done.status, done.attempts, done.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert outbox.deliver_due(db, allow_private=True) == 0  # nothing sent twice


def test_failed_deliveries_are_retried_with_backoff_and_the_same_id(client, session, db, vehicle, principal_headers,
                                                                    hooked, receiver, frozen_clock):
    receiver.statuses.extend([500, 503])
    fail_inspection(client, session, vehicle, principal_headers)
    assert outbox.deliver_due(db, allow_private=True) == 1
    first = delivery(session)
    assert (first.status, first.attempts, first.last_error) == (DeliveryStatus.PENDING, 1, "HTTP 500")
    assert first.next_attempt_at == frozen_clock.value + timedelta(seconds=30)
    assert outbox.deliver_due(db, allow_private=True) == 0  # not due yet
    frozen_clock.advance(seconds=30)
    assert outbox.deliver_due(db, allow_private=True) == 1
    assert delivery(session).next_attempt_at == frozen_clock.value + timedelta(seconds=60)
    frozen_clock.advance(seconds=59)
    assert outbox.deliver_due(db, allow_private=True) == 0
    frozen_clock.advance(seconds=1)
    assert outbox.deliver_due(db, allow_private=True) == 1
    done = delivery(session)
    assert (done.status, done.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert len({headers[webhooks.DELIVERY_HEADER] for headers, _, _ in receiver.requests}) == 1
    assert len(receiver.requests) == 3


def test_an_unreachable_receiver_is_retried(client, session, db, vehicle, principal_headers, hooked, receiver,
                                            as_operator, enterprise):
    client.put(f"{HOOKS}/{enterprise.id}", json={"url": "http://127.0.0.1:9/closed"}, headers=as_operator)
    fail_inspection(client, session, vehicle, principal_headers)
    outbox.deliver_due(db, allow_private=True)
    failed = delivery(session)
    assert failed.status is DeliveryStatus.PENDING and failed.attempts == 1
    assert "ConnectionRefused" in failed.last_error and failed.last_status_code is None


def test_a_delivery_is_given_up_after_the_configured_attempts_and_can_be_re_armed(
        client, session, db, vehicle, principal_headers, hooked, receiver, frozen_clock, as_admin, as_operator):
    client.patch("/api/v1/im/parameters", json={"values": {"webhook.max_attempts": 2}}, headers=as_admin)
    receiver.statuses.extend([500, 500])
    fail_inspection(client, session, vehicle, principal_headers)
    outbox.deliver_due(db, allow_private=True)
    frozen_clock.advance(minutes=1)
    outbox.deliver_due(db, allow_private=True)
    assert (delivery(session).status, delivery(session).attempts) == (DeliveryStatus.FAILED, 2)
    frozen_clock.advance(days=1)
    assert outbox.deliver_due(db, allow_private=True) == 0
    listed = client.get("/api/v1/im/notifications", headers=as_operator).json["items"]
    assert listed[0]["delivery"]["status"] == "failed"
    redone = client.post(f"/api/v1/im/notifications/{listed[0]['id']}/redeliver", headers=as_operator)
    assert redone.status_code == 200 and redone.json["delivery"]["status"] == "pending"
    assert outbox.deliver_due(db, allow_private=True) == 1
    assert delivery(session).status is DeliveryStatus.DELIVERED
    assert len({headers[webhooks.DELIVERY_HEADER] for headers, _, _ in receiver.requests}) == 1


def test_a_private_address_is_refused_again_at_delivery(client, session, db, vehicle, principal_headers, hooked,
                                                       receiver):
    fail_inspection(client, session, vehicle, principal_headers)
    outbox.deliver_due(db, allow_private=False)  # the deployment no longer allows it
    refused = delivery(session)
    assert "resolves to a private" in refused.last_error and receiver.requests == []


def test_removing_the_webhook_gives_up_its_pending_deliveries(client, session, db, vehicle, principal_headers,
                                                              hooked, receiver, as_operator, enterprise):
    fail_inspection(client, session, vehicle, principal_headers)
    client.delete(f"{HOOKS}/{enterprise.id}", headers=as_operator)
    assert outbox.deliver_due(db, allow_private=True) == 0
    assert delivery(session).status is DeliveryStatus.FAILED and receiver.requests == []


def test_owners_read_their_own_notices(client, session, vehicle, other_vehicle, principal_headers, as_operator,
                                       as_other_operator, as_admin):
    fail_inspection(client, session, vehicle, principal_headers)
    fail_inspection(client, session, other_vehicle, principal_headers)
    mine = client.get("/api/v1/im/notifications", headers=as_operator).json["items"]
    assert [n["payload"]["vin"] for n in mine] == [vehicle.vin] and mine[0]["delivery"] is None
    assert len(client.get("/api/v1/im/notifications", headers=as_admin).json["items"]) == 2
    assert client.post(f"/api/v1/im/notifications/{mine[0]['id']}/redeliver",
                       headers=as_other_operator).status_code == 404
    # no webhook: nothing to redeliver to
    assert client.post(f"/api/v1/im/notifications/{mine[0]['id']}/redeliver", headers=as_operator).status_code == 422


def test_notices_are_delivered_by_the_job_after_commit(committed_app, committed_session, run_jobs, receiver,
                                                       private_webhooks):
    firm = factories.make_enterprise(committed_session)
    vehicle = factories.make_vehicle(committed_session, firm)
    station = factories.make_station(committed_session, "i")
    operator = accounts.create_user(committed_session, "fleet", Role.FLEET_OPERATOR, firm.id)
    inspector = accounts.create_user(committed_session, "line 1", Role.I_STATION, station_id=station.id)
    keys = {u.role: accounts.issue_api_key(committed_session, u.id)[1] for u in (operator, inspector)}
    committed_session.commit()
    client = committed_app.test_client()
    secret = client.put(f"{HOOKS}/{firm.id}", json={"url": receiver.url},
                        headers={"X-API-Key": keys[Role.FLEET_OPERATOR]}).json["secret"]
    posted = client.post("/api/v1/im/inspections", json=payloads.failing(vehicle),
                         headers={"X-API-Key": keys[Role.I_STATION]})
    assert posted.status_code == 201
    assert run_jobs() == 1  # the delivery job, enqueued once the request committed
    (headers, body, _), = receiver.requests
    assert webhooks.is_valid_signature(secret, body, headers[webhooks.SIGNATURE_HEADER], int(time.time()))
    assert json.loads(body)["case_id"] == posted.json["case"]["case_id"]
