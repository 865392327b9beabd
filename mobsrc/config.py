"""Settings, read once from the environment by the app factory (never at import)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

DEFAULT_DATABASE_URL = "postgresql+psycopg://mobsrc@127.0.0.1:54329/mobsrc"
DEFAULT_REDIS_URL = "redis://127.0.0.1:63799/0"


def normalize_database_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` as well as `postgresql+psycopg://`.

    SQLAlchemy would pick psycopg2 for a bare `postgresql://`; this project ships psycopg 3.
    """
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://...")


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    return default if raw in (None, "") else int(raw)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    # Base of the URLs printed on labels and QR codes (the verification page).
    public_base_url: str = "http://127.0.0.1:8000"
    # Requests larger than this are answered 413 before the body is read.
    max_content_length: int = 32 * 1024 * 1024
    # The district whose code a registration uses when the registrant gives none
    # (GB/T 2260 code of Guiyang city; see registry/coding.py).
    default_district_code: str = "520100"
    # RQ: queue names are prefixed so that several deployments (or test runs) can share a Redis.
    queue_prefix: str = ""
    job_timeout_s: int = 600
    sql_echo: bool = False
    testing: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=normalize_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            redis_url=env.get("REDIS_URL") or DEFAULT_REDIS_URL,
            public_base_url=(env.get("MOBSRC_PUBLIC_BASE_URL") or cls.public_base_url).rstrip("/"),
            max_content_length=_int(env, "MOBSRC_MAX_CONTENT_LENGTH", cls.max_content_length),
            default_district_code=env.get("MOBSRC_DEFAULT_DISTRICT") or cls.default_district_code,
            queue_prefix=env.get("MOBSRC_QUEUE_PREFIX", ""),
            job_timeout_s=_int(env, "MOBSRC_JOB_TIMEOUT", cls.job_timeout_s),
            sql_echo=env.get("MOBSRC_SQL_ECHO", "") == "1",
            extra={k: v for k, v in env.items() if k.startswith("MOBSRC_")},
        )

    def with_overrides(self, **changes) -> Settings:
        if "database_url" in changes:
            changes["database_url"] = normalize_database_url(changes["database_url"])
        return replace(self, **changes)
