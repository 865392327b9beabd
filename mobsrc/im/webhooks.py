"""Owner webhooks: signing, verification, the retry schedule and which addresses may be called.
Pure (no I/O): the service resolves host names and sends; this module decides.

Signature (the scheme Stripe and GitHub popularised): the header
`X-Mobsrc-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`. A receiver
recomputes the HMAC over the raw body, compares in constant time and refuses a timestamp older
than a few minutes (replay). `X-Mobsrc-Delivery` carries the notification's UUID: it is the
same on every retry of one notification, so a receiver dedupes on it (deliveries are at least
once: a worker that dies after sending but before recording the answer sends again).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Mobsrc-Signature"
DELIVERY_HEADER = "X-Mobsrc-Delivery"
EVENT_HEADER = "X-Mobsrc-Event"
SIGNATURE_VERSION = "v1"
MAX_URL_LENGTH = 500


@dataclass(frozen=True)
class WebhookPolicy:
    """Retry schedule: wait base, 2 x base, 4 x base ... capped; give up after max_attempts.
    Defaults: 12 attempts over about 17 hours (30 s doubling to a 4 h cap). Design defaults."""

    max_attempts: int = 12
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 4 * 3600.0
    timeout_s: float = 5.0


DEFAULT_WEBHOOK_POLICY = WebhookPolicy()


def retry_delay(failed_attempts: int, policy: WebhookPolicy = DEFAULT_WEBHOOK_POLICY) -> timedelta:
    """The wait after the n-th failed attempt (n >= 1)."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts from 1")
    exponent = min(failed_attempts - 1, 40)  # 2**40 x base is past any cap; avoids overflow
    return timedelta(seconds=min(policy.backoff_base_s * 2 ** exponent, policy.backoff_cap_s))


def is_given_up(attempts: int, policy: WebhookPolicy = DEFAULT_WEBHOOK_POLICY) -> bool:
    return attempts >= policy.max_attempts


def new_secret() -> str:
    """A signing secret: 32 random bytes, hex."""
    return secrets.token_hex(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SIGNATURE_VERSION}={mac}"


def is_valid_signature(secret: str, body: bytes, header: str, now: int,
                       tolerance_s: int = 300) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts[SIGNATURE_VERSION]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, body, timestamp).split(f"{SIGNATURE_VERSION}=", 1)[1]
    return hmac.compare_digest(expected, given)


def url_problem(url: str) -> str | None:
    """Why this cannot be a webhook URL, or None. Addresses are checked again at delivery."""
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials; the payload is signed with the webhook secret"
    if parts.fragment:
        return "must not have a #fragment"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "has an invalid port"
    return None


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and unspecified addresses:
    a webhook must not make the platform call into its own network (SSRF)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
