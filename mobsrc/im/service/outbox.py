"""Owners are told through an outbox: every notice is a row written in the transaction that
changed the case (so no notice is lost and none is sent for a rolled-back change); when the
owner has a webhook, a delivery row is added and sent by a job, with retries and backoff.

Delivery is at least once. A job claims due deliveries with a lease (SKIP LOCKED, so parallel
workers share the work), sends outside any transaction, then records the answer. A worker that
dies mid-send leaves the lease to expire and the delivery is sent again, with the same
`X-Mobsrc-Delivery` id, on which receivers dedupe. Nothing depends on a job running exactly once:
the cron runs the sender every 30 s, and each notice also enqueues it at once after commit.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import column, select, table, update
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.audit import name_action
from mobsrc.core.auth.principals import Principal, Role
from mobsrc.core.db import Database
from mobsrc.core.errors import NotFound, NotInScope, invalid
from mobsrc.core.jobs import enqueue_after_commit
from mobsrc.core.pagination import Page, paginate
from mobsrc.im import webhooks
from mobsrc.im.models import Case, CaseHistory, DeliveryStatus, Notification, Webhook, WebhookDelivery
from mobsrc.im.service.configuration import load_config
from mobsrc.im.webhooks import WebhookPolicy

log = logging.getLogger(__name__)
DELIVER_JOB = "im.deliver_webhooks"
# Deployment switch (environment): "1" lets webhooks call private and loopback addresses
# (an on-premises receiver, the test suite). Off by default: no SSRF into the platform's network.
ALLOW_PRIVATE_SETTING = "MOBSRC_IM_WEBHOOK_ALLOW_PRIVATE"
DELIVER_JOB_ID = "im-deliver-webhooks"
_enterprises = table("enterprises", column("id"))


def allows_private_addresses(settings) -> bool:
    return settings.extra.get(ALLOW_PRIVATE_SETTING, "") == "1"


# --- writing notices ------------------------------------------------------------------------------

def notify_owner(session: Session, case: Case, history: CaseHistory, event: str) -> Notification:
    """One notice per history entry (`history_id` is unique): the entry is new, so is the notice."""
    notice = Notification(case_id=case.id, history_id=history.id, enterprise_id=case.enterprise_id,
                          event=event, payload=_payload(case, history, event), created_at=clock.now())
    session.add(notice)
    session.flush()
    hook = session.get(Webhook, case.enterprise_id) if case.enterprise_id is not None else None
    if hook is not None and hook.active:
        session.add(WebhookDelivery(notification_id=notice.id, enterprise_id=hook.enterprise_id,
                                    status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=clock.now()))
        session.flush()
        enqueue_after_commit(session, DELIVER_JOB, job_id=DELIVER_JOB_ID)
    return notice


def _local(moment: datetime | None) -> str | None:
    return clock.as_local(moment).isoformat() if moment is not None else None


def _payload(case: Case, history: CaseHistory, event: str) -> dict:
    return {
        "event": event, "case_id": case.id, "state": case.state.value, "trigger": case.trigger.value,
        "vin": case.vin, "plate": case.plate, "plate_colour": case.plate_colour,
        "opened_at": _local(case.opened_at), "deadline": _local(case.deadline),
        "overdue_at": _local(case.overdue_at), "escalated_at": _local(case.escalated_at),
        "repair_round": case.repair_round, "occurred_at": _local(history.at),
        "reason": history.reference and f"{history.reason} ({history.reference})" or history.reason,
    }


def body_of(notice: Notification) -> bytes:
    """What a webhook receives: the notice with its stable id."""
    document = {"id": str(notice.uuid), "created_at": _local(notice.created_at), **notice.payload}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


# --- webhooks, managed by the bureau or the owner ------------------------------------------------

def _ensure_enterprise_scope(session: Session, principal: Principal, enterprise_id: int) -> None:
    mine = principal.role is Role.ADMIN or principal.enterprise_id == enterprise_id
    exists = session.execute(select(_enterprises.c.id).where(_enterprises.c.id == enterprise_id)).first()
    if not mine or exists is None:
        raise NotInScope("No such enterprise.")


def get_webhook(session: Session, principal: Principal, enterprise_id: int) -> Webhook:
    _ensure_enterprise_scope(session, principal, enterprise_id)
    hook = session.get(Webhook, enterprise_id)
    if hook is None:
        raise NotFound("This enterprise has no webhook.")
    return hook


def put_webhook(session: Session, principal: Principal, enterprise_id: int, data: dict,
                allow_private: bool) -> tuple[Webhook, str | None, bool]:
    """Create or change the webhook. Returns (webhook, secret, created): the signing secret is
    returned only when it is new (creation or `rotate_secret`), and never shown again."""
    _ensure_enterprise_scope(session, principal, enterprise_id)
    problem = webhooks.url_problem(data["url"]) or _literal_address_problem(data["url"], allow_private)
    if problem:
        raise invalid("url", problem)
    hook = session.get(Webhook, enterprise_id)
    created = hook is None
    secret = webhooks.new_secret() if created or data.get("rotate_secret") else None
    if created:
        hook = Webhook(enterprise_id=enterprise_id)
        session.add(hook)
    name_action(session, "im.webhook.create" if created else "im.webhook.update")
    hook.url, hook.active, hook.updated_at = data["url"], data.get("active", True), clock.now()
    if secret is not None:
        hook.secret = secret.encode()
    session.flush()
    return hook, secret, created


def delete_webhook(session: Session, principal: Principal, enterprise_id: int) -> None:
    hook = get_webhook(session, principal, enterprise_id)
    session.execute(update(WebhookDelivery).where(WebhookDelivery.enterprise_id == enterprise_id,
                                                  WebhookDelivery.status == DeliveryStatus.PENDING)
                    .values(status=DeliveryStatus.FAILED, last_error="webhook removed"))
    session.delete(hook)
    session.flush()


def _literal_address_problem(url: str, allow_private: bool) -> str | None:
    host = urlsplit(url).hostname or ""
    if allow_private:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "must not point at this platform's own network"
    try:
        public = webhooks.is_public_address(host)
    except ValueError:
        return None  # a host name: checked on every delivery, after resolving it
    return None if public else "must not point at a private, loopback or reserved address"


# --- reading notices -----------------------------------------------------------------------------

@dataclass(frozen=True)
class NoticeView:
    """A notice with its delivery (None when the owner had no webhook)."""

    notice: Notification
    delivery: WebhookDelivery | None

    def __getattr__(self, name: str):
        return getattr(self.notice, name)


def _visible_notices(principal: Principal):
    if principal.role is Role.ADMIN:
        return select(Notification)
    return select(Notification).where(Notification.enterprise_id == principal.enterprise_id)


def list_notifications(session: Session, principal: Principal, filters: dict, cursor: str | None,
                       limit: int) -> Page:
    stmt = _visible_notices(principal)
    for name in ("case_id", "event", "enterprise_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Notification, name) == filters[name])
    page = paginate(session, stmt, [Notification.id], cursor, limit)
    deliveries = {d.notification_id: d for d in session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.notification_id.in_([n.id for n in page.items])))}
    return Page([NoticeView(n, deliveries.get(n.id)) for n in page.items], page.next_cursor, page.limit)


def redeliver(session: Session, principal: Principal, notification_id: int) -> NoticeView:
    """Send a notice (again): re-arms a given-up delivery, or creates one for a notice written
    before the webhook existed. The receiver sees the same delivery id."""
    notice = session.scalar(_visible_notices(principal).where(Notification.id == notification_id))
    if notice is None:
        raise NotInScope("No such notification.")
    hook = session.get(Webhook, notice.enterprise_id) if notice.enterprise_id is not None else None
    if hook is None or not hook.active:
        raise invalid("notification_id", "the owner has no active webhook")
    delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.notification_id == notice.id))
    if delivery is None:
        delivery = WebhookDelivery(notification_id=notice.id, enterprise_id=hook.enterprise_id)
        session.add(delivery)
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, clock.now()
    delivery.claimed_until = None
    session.flush()
    enqueue_after_commit(session, DELIVER_JOB, job_id=DELIVER_JOB_ID)
    return NoticeView(notice, delivery)


# --- sending ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    url: str
    secret: str
    body: bytes
    event: str
    delivery_uuid: str


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def claim_due(session: Session, now: datetime, lease: timedelta, batch: int) -> list[int]:
    """Take up to `batch` due deliveries for `lease`; parallel senders skip each other's."""
    due = (select(WebhookDelivery.id)
           .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
                  (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until < now))
           .order_by(WebhookDelivery.next_attempt_at).limit(batch).with_for_update(skip_locked=True))
    return list(session.scalars(update(WebhookDelivery).where(WebhookDelivery.id.in_(due.scalar_subquery()))
                                .values(claimed_until=now + lease).returning(WebhookDelivery.id)))


def _outgoing(session: Session, delivery_id: int) -> Outgoing | None:
    row = session.execute(select(WebhookDelivery, Notification, Webhook)
                          .join(Notification, Notification.id == WebhookDelivery.notification_id)
                          .outerjoin(Webhook, Webhook.enterprise_id == WebhookDelivery.enterprise_id)
                          .where(WebhookDelivery.id == delivery_id)).first()
    delivery, notice, hook = row
    if hook is None or not hook.active:
        delivery.status, delivery.last_error, delivery.claimed_until = (
            DeliveryStatus.FAILED, "webhook removed or deactivated", None)
        return None
    return Outgoing(delivery.id, hook.url, bytes(hook.secret).decode(), body_of(notice), notice.event,
                    str(notice.uuid))


def send(outgoing: Outgoing, timeout_s: float, allow_private: bool, resolver: Resolver = resolve) -> Answer:
    """POST the signed body. The host is resolved once, checked, and the connection made to that
    very address (no second lookup a DNS rebinding could change); redirects are not followed."""
    parts = urlsplit(outgoing.url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        addresses = resolver(parts.hostname, port)
    except OSError as exc:
        return Answer(None, f"cannot resolve {parts.hostname}: {exc}"[:300])
    if not addresses:
        return Answer(None, f"{parts.hostname} has no address")
    if not allow_private and not all(webhooks.is_public_address(a) for a in addresses):
        return Answer(None, f"refused: {parts.hostname} resolves to a private or reserved address")
    return _post(parts, https, port, addresses[0], outgoing, timeout_s)


def _post(parts, https: bool, port: int, address: str, outgoing: Outgoing, timeout_s: float) -> Answer:
    if https:
        connection = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout_s,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout_s)
    # Connect to the checked address; TLS still verifies the certificate for the host name.
    connection._create_connection = lambda addr, *args, **kwargs: socket.create_connection(
        (address, addr[1]), *args, **kwargs)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "mobsrc-webhooks/1",
               webhooks.DELIVERY_HEADER: outgoing.delivery_uuid, webhooks.EVENT_HEADER: outgoing.event,
               webhooks.SIGNATURE_HEADER: webhooks.signature(outgoing.secret, outgoing.body, int(time.time()))}
    try:
        connection.request("POST", path, body=outgoing.body, headers=headers)
        response = connection.getresponse()
        response.read(4096)
        return Answer(response.status, None if 200 <= response.status < 300 else f"HTTP {response.status}")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:300])
    finally:
        connection.close()


def record_answer(session: Session, delivery_id: int, answer: Answer, policy: WebhookPolicy) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery.status is not DeliveryStatus.PENDING:  # another sender got there first
        return delivery
    now = clock.now()
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.claimed_until = now, None
    delivery.last_status_code, delivery.last_error = answer.status_code, answer.error
    if answer.ok:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
    elif webhooks.is_given_up(delivery.attempts, policy):
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = now + webhooks.retry_delay(delivery.attempts, policy)
    session.flush()
    return delivery


def deliver_due(database: Database, *, allow_private: bool = False, batch: int = 50,
                resolver: Resolver = resolve) -> int:
    """One round: claim due deliveries, send each outside any transaction, record the answers.
    Returns how many were attempted."""
    with database.session_scope() as session:
        policy = load_config(session).webhooks
        lease = timedelta(seconds=policy.timeout_s * 2 + 30)
        claimed = claim_due(session, clock.now(), lease, batch)
        outgoing = [o for o in (_outgoing(session, i) for i in claimed) if o is not None]
    for item in outgoing:
        answer = send(item, policy.timeout_s, allow_private, resolver)
        if not answer.ok:
            log.info("webhook delivery %s to %s failed: %s", item.delivery_id, item.url, answer.error)
        with database.session_scope() as session:
            record_answer(session, item.delivery_id, answer, policy)
    return len(outgoing)


def deliver_all(database: Database, *, allow_private: bool = False) -> int:
    """Rounds of `deliver_due` until nothing is due (the job and the CLI)."""
    sent = 0
    while (attempted := deliver_due(database, allow_private=allow_private)):
        sent += attempted
    return sent
