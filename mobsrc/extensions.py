"""What the factory wires into an app: created here unbound, bound in create_app."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from redis import Redis

from mobsrc.config import Settings
from mobsrc.core.db import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    redis: Redis


def state() -> AppState:
    return current_app.extensions["mobsrc"]
