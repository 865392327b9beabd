"""The `mobsrc` command: the stack (`up`), the schema (`db`), and administration of
enterprises, stations, users and keys. Run `mobsrc --help`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from mobsrc.core.auth.principals import Role
from mobsrc.core.errors import DomainError, Unprocessable, field_errors

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _create_app():
    from mobsrc import create_app
    return create_app()


def _session_scope():
    from mobsrc.extensions import state
    return state().db.session_scope()


def _fail(exc: DomainError):
    details = "".join(f"\n  {e.field}: {e.reason}" for e in exc.errors)
    raise click.ClickException(f"{exc.detail}{details}")


def _create(schema, data: dict, create, describe) -> None:
    """Validate like the API does, create in one transaction, print what was made."""
    from marshmallow import ValidationError
    try:
        loaded = schema.load(data)
        with _session_scope() as session:
            click.echo(describe(create(session, loaded)))
    except ValidationError as exc:
        _fail(Unprocessable("Some values are not valid.", field_errors(exc.messages)))
    except DomainError as exc:
        _fail(exc)


# --- schema ---------------------------------------------------------------------------------------

def alembic_config(database_url: str | None = None):
    from alembic.config import Config
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


@click.group()
def db():
    """Database schema (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    """Apply migrations up to REVISION (default: head)."""
    from alembic import command
    command.upgrade(alembic_config(), revision)


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision):
    """Revert migrations down to REVISION ('base' for an empty schema)."""
    from alembic import command
    command.downgrade(alembic_config(), revision)


@db.command("current")
def db_current():
    """Show the applied revision."""
    from alembic import command
    command.current(alembic_config())


# --- administration --------------------------------------------------------------------------------

@click.group()
def enterprise():
    """Enterprises (fleet owners)."""


@enterprise.command("create")
@click.option("--name", required=True)
@click.option("--uscc", required=True, help="unified social credit code (18 characters)")
@click.option("--district", default=None, help="GB/T 2260 code, e.g. 520115")
@click.option("--contact-name", default="")
@click.option("--contact-phone", default="")
@with_appcontext
def enterprise_create(name, uscc, district, contact_name, contact_phone):
    """Register an enterprise."""
    from mobsrc.registry import service
    from mobsrc.registry.schemas import EnterpriseCreateSchema
    _create(EnterpriseCreateSchema(), dict(name=name, uscc=uscc, district_code=district, contact_name=contact_name,
                                           contact_phone=contact_phone),
            service.create_enterprise, lambda e: f"enterprise {e.id}: {e.name} ({e.uscc})")


@click.group()
def station():
    """Stations (I, M, remote sensing)."""


@station.command("create")
@click.option("--code", required=True)
@click.option("--kind", type=click.Choice(["i", "m", "rs"]), required=True)
@click.option("--name", required=True)
@click.option("--district", default=None)
@click.option("--lon", type=float, default=None)
@click.option("--lat", type=float, default=None)
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84")
@with_appcontext
def station_create(code, kind, name, district, lon, lat, crs):
    """Create a station."""
    from mobsrc.registry import service
    from mobsrc.registry.schemas import StationCreateSchema
    location = {"lon": lon, "lat": lat, "crs": crs} if lon is not None and lat is not None else None
    _create(StationCreateSchema(), dict(code=code, kind=kind, name=name, district_code=district, location=location),
            service.create_station, lambda st: f"station {st.id}: {st.code} ({st.kind.value})")


@click.group()
def user():
    """Users and their API keys."""


@user.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--enterprise-uscc", default=None, help="fleet_operator / terminal: the enterprise")
@click.option("--station-code", default=None, help="station roles: the station")
@click.option("--with-key/--no-key", default=True, help="also issue an API key (printed once)")
@with_appcontext
def user_create(name, role, enterprise_uscc, station_code, with_key):
    """Create a user (and by default an API key, printed once)."""
    from sqlalchemy import select

    from mobsrc.core.auth import service as accounts
    from mobsrc.registry.models import Enterprise, Station
    try:
        with _session_scope() as session:
            enterprise_id = station_id = None
            if enterprise_uscc:
                enterprise_id = session.scalar(select(Enterprise.id).where(Enterprise.uscc == enterprise_uscc))
                if enterprise_id is None:
                    raise click.ClickException(f"no enterprise with credit code {enterprise_uscc}")
            if station_code:
                station_id = session.scalar(select(Station.id).where(Station.code == station_code))
                if station_id is None:
                    raise click.ClickException(f"no station with code {station_code}")
            created = accounts.create_user(session, name, Role(role), enterprise_id, station_id)
            click.echo(f"user {created.id}: {created.name} ({role})")
            if with_key:
                key, secret = accounts.issue_api_key(session, created.id, "cli")
                click.echo(f"API key {key.id} (shown once, store it now): {secret}")
    except DomainError as exc:
        _fail(exc)


@user.command("list")
@with_appcontext
def user_list():
    """List users with their keys (never the secrets)."""
    from mobsrc.core.auth import service as accounts
    with _session_scope() as session:
        for u in accounts.list_users(session):
            keys = ", ".join(f"{k.id}{'' if k.active else ' (revoked)'}" for k in u.keys) or "no keys"
            click.echo(f"{u.id:>5}  {u.role.value:<15} {u.name}  [keys: {keys}]")


@click.group()
def key():
    """API keys."""


@key.command("create")
@click.option("--user-id", type=int, required=True)
@click.option("--label", default="")
@with_appcontext
def key_create(user_id, label):
    """Issue a key for a user; the secret is printed once."""
    from mobsrc.core.auth import service as accounts
    try:
        with _session_scope() as session:
            created, secret = accounts.issue_api_key(session, user_id, label)
            click.echo(f"API key {created.id} (shown once, store it now): {secret}")
    except DomainError as exc:
        _fail(exc)


@key.command("revoke")
@click.argument("key_id", type=int)
@with_appcontext
def key_revoke(key_id):
    """Revoke a key (it stops working at once)."""
    from mobsrc.core.auth import service as accounts
    from mobsrc.core.auth.principals import SYSTEM
    try:
        with _session_scope() as session:
            accounts.revoke_api_key(session, key_id, SYSTEM)
            click.echo(f"API key {key_id} revoked")
    except DomainError as exc:
        _fail(exc)


@click.command("demo")
@with_appcontext
def demo():
    """Load the demo data once (enterprises, users with keys, machines, vehicles)."""
    from mobsrc.devstack import demo as demo_data
    with _session_scope() as session:
        demo_data.load(session, click.echo)


@click.command("reconcile")
@with_appcontext
def reconcile():
    """Re-enqueue accepted work whose job never finished (what the cron does every minute)."""
    from mobsrc.core import reconcile as reconciler
    from mobsrc.extensions import state
    count = reconciler.reconcile(state().db, state().redis)
    click.echo(f"{count} job(s) enqueued")


@click.command("up")
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", "api_workers", default=2, show_default=True, help="gunicorn worker processes")
@click.option("--no-demo", is_flag=True, help="do not load the demo data")
def up(port, api_workers, no_demo):
    """Start the whole system: PostgreSQL+PostGIS and Redis (private, under ./var, unless
    DATABASE_URL / REDIS_URL are set), migrations, demo data, the API, a worker, the scheduler."""
    from mobsrc.devstack import run
    sys.exit(run.main(port=port, api_workers=api_workers, load_demo=not no_demo))


COMMANDS = (db, enterprise, station, user, key, demo, reconcile)
# --- im
from mobsrc.im.cli import im  # noqa: E402

COMMANDS += (im,)

# --- zones
from mobsrc.zones.cli import zones as zones_commands  # noqa: E402  (click only; cheap to import)

COMMANDS += (zones_commands,)
# --- obd
from mobsrc.obd import cli as obd_cli  # noqa: E402

COMMANDS += obd_cli.COMMANDS


def register(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


main = FlaskGroup(create_app=_create_app, add_default_commands=False,
                  help="mobsrc: mobile-source emission supervision. Configuration comes from the "
                       "environment (DATABASE_URL, REDIS_URL, MOBSRC_*).")
for _command in (*COMMANDS, up):
    main.add_command(_command)


if __name__ == "__main__":
    main()
