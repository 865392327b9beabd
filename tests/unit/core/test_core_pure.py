"""Keys, cursors, settings and error flattening: the small pure pieces of core."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mobsrc.config import Settings, normalize_database_url
from mobsrc.core.auth import keys
from mobsrc.core.errors import Unprocessable, field_errors
from mobsrc.core.pagination import _decode, _encode


def test_keys_are_random_hashed_and_checked_in_constant_time():
    one, two = keys.issue_key(), keys.issue_key()
    assert one.key != two.key and one.lookup == keys.lookup_of(one.key)
    assert keys.matches(one.key, one.digest) and not keys.matches(two.key, one.digest)
    assert one.key not in one.digest


@pytest.mark.parametrize("presented", ["", "mob_x_y", "abc_123456789012_zzz", "mob_12345678901_x"])
def test_malformed_keys_have_no_lookup(presented):
    assert keys.lookup_of(presented) is None


def test_cursor_round_trip_and_garbage():
    values = [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 42, "x"]
    assert _decode(_encode(values), 3) == values
    with pytest.raises(Unprocessable):
        _decode("not-a-cursor", 3)
    with pytest.raises(Unprocessable):
        _decode(_encode([1]), 2)


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"])
def test_database_url_forms(url):
    assert normalize_database_url(url) == "postgresql+psycopg://u@h/db"


def test_settings_from_env():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://a@b/c", "REDIS_URL": "redis://r:1/2",
                                  "MOBSRC_PUBLIC_BASE_URL": "https://x.example/"})
    assert (settings.database_url, settings.redis_url, settings.public_base_url) == \
        ("postgresql+psycopg://a@b/c", "redis://r:1/2", "https://x.example")


def test_nested_messages_flatten_to_dotted_fields():
    errors = field_errors({"rows": {0: {"vin": ["bad"]}, 2: {"plate": ["worse", "worst"]}}, "name": ["no"]})
    assert [(e.field, e.reason) for e in errors] == [
        ("rows.0.vin", "bad"), ("rows.2.plate", "worse"), ("rows.2.plate", "worst"), ("name", "no")]
