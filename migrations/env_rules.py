"""What autogenerate compares: our tables, not PostGIS's own nor run-time day partitions."""
from __future__ import annotations

import re

from geoalchemy2 import alembic_helpers

FOREIGN_TABLES = {"spatial_ref_sys", "geography_columns", "geometry_columns", "raster_columns",
                  "raster_overviews", "layer", "topology"}
DAY_PARTITION = re.compile(r"^.+_p\d{8}$")  # <table>_pYYYYMMDD, made by the partition job
# --- remote_sensing: the default partitions of rs_readings / rs_verdicts (made by the migration)
DEFAULT_PARTITIONS = {"rs_readings_default", "rs_verdicts_default"}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and (name in FOREIGN_TABLES or name in DEFAULT_PARTITIONS or DAY_PARTITION.match(name or "")):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
