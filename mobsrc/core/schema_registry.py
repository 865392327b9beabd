"""Every feature's models, imported so that Base.metadata knows all tables (Alembic, tests)."""
from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from mobsrc.core.db import Base

MODEL_MODULES = (
    "mobsrc.core.auth.models",
    "mobsrc.core.audit",
    "mobsrc.registry.models",
    "mobsrc.enforcement.models",
    # --- im
    "mobsrc.im.models",
    # --- zones
    "mobsrc.zones.models",
    # --- obd
    "mobsrc.obd.models",
    # --- remote_sensing
    "mobsrc.remote_sensing.models",
)


def metadata_with_all_models() -> MetaData:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
