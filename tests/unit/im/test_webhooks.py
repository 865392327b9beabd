"""Webhook rules: HMAC signatures a receiver can verify, the retry schedule, URL and address
checks against SSRF."""
from __future__ import annotations

from datetime import timedelta

import pytest

from mobsrc.im.webhooks import (
    WebhookPolicy,
    is_given_up,
    is_public_address,
    is_valid_signature,
    new_secret,
    retry_delay,
    signature,
    url_problem,
)

BODY = '{"id":"7d0c","event":"case.opened","plate":"贵A12345"}'.encode()


def test_a_signature_verifies_only_with_the_same_secret_body_and_fresh_time():
    secret = new_secret()
    header = signature(secret, BODY, 1_800_000_000)
    assert header.startswith("t=1800000000,v1=") and len(header.split("v1=")[1]) == 64
    assert is_valid_signature(secret, BODY, header, now=1_800_000_100)
    assert not is_valid_signature(new_secret(), BODY, header, now=1_800_000_100)
    assert not is_valid_signature(secret, BODY + b" ", header, now=1_800_000_100)
    assert not is_valid_signature(secret, BODY, header, now=1_800_000_301)  # replayed later
    assert not is_valid_signature(secret, BODY, header.replace("t=1800000000", "t=1800000200"), now=1_800_000_200)
    assert not is_valid_signature(secret, BODY, "garbage", now=1_800_000_000)


def test_the_signature_matches_a_known_vector():
    # HMAC-SHA256(key="secret", msg="1700000000." + "{}"), computed independently with openssl:
    # printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
    assert signature("secret", b"{}", 1_700_000_000) == (
        "t=1700000000,v1=" + "b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163")


def test_secrets_are_long_and_fresh():
    assert len(new_secret()) == 64 and new_secret() != new_secret()


@pytest.mark.parametrize("attempts, seconds", [(1, 30), (2, 60), (3, 120), (9, 7680), (10, 14400), (60, 14400)])
def test_the_wait_doubles_up_to_the_cap(attempts, seconds):
    assert retry_delay(attempts) == timedelta(seconds=seconds)


def test_the_schedule_follows_the_policy_and_gives_up_after_max_attempts():
    policy = WebhookPolicy(max_attempts=3, backoff_base_s=10, backoff_cap_s=25)
    assert [retry_delay(n, policy).total_seconds() for n in (1, 2, 3)] == [10, 20, 25]
    assert [is_given_up(n, policy) for n in (1, 2, 3, 4)] == [False, False, True, True]
    with pytest.raises(ValueError):
        retry_delay(0)


@pytest.mark.parametrize("url, problem", [
    ("https://fleet.example.cn/hooks/im", None), ("http://fleet.example.cn:8080/im?x=1", None),
    ("ftp://fleet.example.cn/im", "http"), ("https:///im", "host"), ("https://u:p@fleet.example.cn/", "credentials"),
    ("https://fleet.example.cn/#frag", "fragment"), ("https://fleet.example.cn:99999/", "port"),
    ("https://fleet.example.cn/" + "a" * 500, "500"),
])
def test_url_rules(url, problem):
    found = url_problem(url)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("114.114.114.114", True), ("2400:3200::1", True),
    ("127.0.0.1", False), ("10.0.0.5", False), ("172.16.3.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1", False), ("fd00::1", False), ("::ffff:127.0.0.1", False), ("::ffff:8.8.8.8", True),
])
def test_only_public_addresses_may_be_called(address, public):
    assert is_public_address(address) is public
