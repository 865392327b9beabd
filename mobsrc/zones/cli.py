"""`mobsrc zones ...`: import zones from a GeoJSON file, list them, maintain position partitions."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from mobsrc.core.errors import DomainError
from mobsrc.core.geo.districts import GUIYANG_DISTRICTS

BUNDLED = GUIYANG_DISTRICTS  # the real district boundaries, GCJ-02 (mobsrc/core/geo/data/README.md)


@click.group()
def zones():
    """No-use zones and machine positions."""


@zones.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=BUNDLED)
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="gcj02", show_default=True,
              help="datum of the file's coordinates")
@click.option("--name-property", default="name", show_default=True)
@click.option("--district-property", default="adcode", show_default=True)
@click.option("--name-prefix", default="")
@click.option("--prohibit", "stages", multiple=True,
              help="a barred emission stage (repeat); default pre_china_1, china_1, china_2")
@click.option("--alert-days-only", is_flag=True)
@with_appcontext
def import_zones(path, crs, name_property, district_property, name_prefix, stages, alert_days_only):
    """One zone per feature of a GeoJSON FeatureCollection (default: the bundled Guiyang
    districts, GCJ-02). All or nothing."""
    from marshmallow import ValidationError

    from mobsrc.cli import _fail, _session_scope
    from mobsrc.core.auth.principals import SYSTEM
    from mobsrc.zones import service
    from mobsrc.zones.schemas import ZoneImportSchema
    document = {"area": json.loads(path.read_text("utf-8")), "crs": crs, "name_property": name_property,
                "district_property": district_property, "name_prefix": name_prefix,
                "alert_days_only": alert_days_only, "note": f"imported from {path.name}"}
    if stages:
        document["prohibited_stages"] = list(stages)
    try:
        draft = ZoneImportSchema().load(document)
        with _session_scope() as session:
            for view in service.import_zones(session, SYSTEM, draft):
                click.echo(f"zone {view.id}: {view.name} ({view.district_code or '-'})")
    except ValidationError as exc:
        raise click.ClickException(str(exc.messages)) from exc
    except DomainError as exc:
        _fail(exc)


@zones.command("list")
@with_appcontext
def list_zones():
    """Zones with their current version and rule."""
    from mobsrc.cli import _session_scope
    from mobsrc.zones import service
    with _session_scope() as session:
        for view in service.list_zones(session, {}, None, 500).items:
            click.echo(f"{view.id:>5}  v{view.version.version:<3} {view.status.value:<8} {view.district_code or '-':<7} "
                       f"{view.name}  [barred: {', '.join(view.prohibited_stages)}]")


@zones.command("partitions")
@with_appcontext
def partitions():
    """Create the coming days' position partitions and drop expired ones (what the cron does)."""
    from mobsrc.cli import _session_scope
    from mobsrc.extensions import state
    from mobsrc.zones import config, positions
    with _session_scope() as session:
        done = positions.maintain_partitions(session, config.from_settings(state().settings))
    click.echo(f"created: {', '.join(done.created) or 'none'}; dropped: {', '.join(done.dropped) or 'none'}")
