"""foundation: accounts, audit log, registry

Revision ID: 0001
Revises:
Create Date: 2026-11-29 03:53:34.516097
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# GB/T 2260 codes served at start: Guizhou, Guiyang and its ten county-level divisions
# (standards-telemetry.md §6.1, CONFIRMED). Other cities add theirs with a later migration.
DISTRICTS = [
    ("520000", "贵州省", None, "province"), ("520100", "贵阳市", "520000", "city"),
    ("520102", "南明区", "520100", "district"), ("520103", "云岩区", "520100", "district"),
    ("520111", "花溪区", "520100", "district"), ("520112", "乌当区", "520100", "district"),
    ("520113", "白云区", "520100", "district"), ("520115", "观山湖区", "520100", "district"),
    ("520121", "开阳县", "520100", "county"), ("520122", "息烽县", "520100", "county"),
    ("520123", "修文县", "520100", "county"), ("520181", "清镇市", "520100", "county"),
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('key_id', sa.BigInteger(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('entity', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=60), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity', 'entity_id'], unique=False)
    op.create_index(op.f('ix_audit_log_user_id'), 'audit_log', ['user_id'], unique=False)
    op.create_table('districts',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('parent_code', sa.String(length=6), nullable=True),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_districts'))
    )
    districts = sa.table("districts", sa.column("code"), sa.column("name"), sa.column("parent_code"),
                         sa.column("level"))
    op.bulk_insert(districts, [dict(zip(("code", "name", "parent_code", "level"), d)) for d in DISTRICTS])
    op.create_table('registration_code_counters',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('type_code', sa.String(length=2), nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('district_code', 'type_code', name=op.f('pk_registration_code_counters'))
    )
    op.create_table('enterprises',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('contact_name', sa.String(length=60), server_default='', nullable=False),
    sa.Column('contact_phone', sa.String(length=30), server_default='', nullable=False),
    sa.Column('address', sa.String(length=300), server_default='', nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['districts.code'], name=op.f('fk_enterprises_district_code_districts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprises')),
    sa.UniqueConstraint('uscc', name=op.f('uq_enterprises_uscc'))
    )
    op.create_geospatial_table('stations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('i', 'm', 'rs', name='station_kind', native_enum=False, create_constraint=True, length=6), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('address', sa.String(length=300), server_default='', nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['districts.code'], name=op.f('fk_stations_district_code_districts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stations')),
    sa.UniqueConstraint('code', name=op.f('uq_stations_code'))
    )
    op.create_geospatial_index('idx_stations_location', 'stations', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_stations_kind'), 'stations', ['kind'], unique=False)
    op.create_table('machine_imports',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.BigInteger(), nullable=False),
    sa.Column('filename', sa.String(length=200), server_default='', nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='import_status', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('registered', sa.Integer(), nullable=False),
    sa.Column('already_registered', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_machine_imports_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machine_imports')),
    sa.UniqueConstraint('enterprise_id', 'sha256', name='uq_machine_imports_file')
    )
    op.create_index(op.f('ix_machine_imports_enterprise_id'), 'machine_imports', ['enterprise_id'], unique=False)
    op.create_index(op.f('ix_machine_imports_status'), 'machine_imports', ['status'], unique=False)
    op.create_table('machines',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('machine_type', sa.Enum('excavator', 'loader', 'bulldozer', 'roller', 'crane', 'forklift', 'paver', 'grader', 'drilling_rig', 'concrete_pump', 'generator_set', 'aerial_work_platform', 'tractor', 'other', name='machine_type', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('brand', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('machine_serial', sa.String(length=60), server_default='', nullable=False),
    sa.Column('engine_manufacturer', sa.String(length=100), nullable=False),
    sa.Column('engine_model', sa.String(length=100), nullable=False),
    sa.Column('engine_serial', sa.String(length=60), nullable=False),
    sa.Column('engine_key', sa.String(length=170), nullable=False),
    sa.Column('rated_power_kw', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('fuel', sa.Enum('diesel', 'petrol', 'natural_gas', 'electric', 'hybrid', 'other', name='fuel', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('emission_stage', sa.Enum('pre_china_1', 'china_1', 'china_2', 'china_3', 'china_4', name='emission_stage', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('manufactured_on', sa.Date(), nullable=True),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=False),
    sa.Column('terminal_id', sa.String(length=40), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('status', sa.Enum('registered', 'transferred', 'deregistered', name='machine_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deregistered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deregistration_reason', sa.Enum('scrapped', 'exported', 'other', name='deregistration_reason', native_enum=False, create_constraint=True, length=12), nullable=True),
    sa.CheckConstraint('rated_power_kw > 0', name=op.f('ck_machines_rated_power_positive')),
    sa.ForeignKeyConstraint(['district_code'], ['districts.code'], name=op.f('fk_machines_district_code_districts')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_machines_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machines')),
    sa.UniqueConstraint('code', name=op.f('uq_machines_code')),
    sa.UniqueConstraint('engine_key', name='uq_machines_engine_key'),
    sa.UniqueConstraint('terminal_id', name=op.f('uq_machines_terminal_id'))
    )
    op.create_index(op.f('ix_machines_emission_stage'), 'machines', ['emission_stage'], unique=False)
    op.create_index(op.f('ix_machines_enterprise_id'), 'machines', ['enterprise_id'], unique=False)
    op.create_index(op.f('ix_machines_machine_type'), 'machines', ['machine_type'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.Enum('admin', 'police', 'i_station', 'm_station', 'rs_station', 'fleet_operator', 'terminal', name='role', native_enum=False, create_constraint=True, length=18), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('station_id', sa.BigInteger(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_users_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_users_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    op.create_index(op.f('ix_users_enterprise_id'), 'users', ['enterprise_id'], unique=False)
    op.create_index(op.f('ix_users_station_id'), 'users', ['station_id'], unique=False)
    op.create_table('vehicles',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('plate', sa.String(length=10), nullable=False),
    sa.Column('plate_colour', sa.Enum('blue', 'yellow', 'green', 'yellow_green', 'black', 'white', 'other', name='plate_colour', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('fuel', sa.Enum('diesel', 'petrol', 'natural_gas', 'electric', 'hybrid', 'other', name='fuel', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('emission_standard', sa.Enum('china_3', 'china_4', 'china_5', 'china_6', name='vehicle_standard', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=False),
    sa.Column('obd_terminal_id', sa.String(length=40), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_vehicles_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicles')),
    sa.UniqueConstraint('obd_terminal_id', name=op.f('uq_vehicles_obd_terminal_id')),
    sa.UniqueConstraint('plate', 'plate_colour', name='uq_vehicles_plate_colour'),
    sa.UniqueConstraint('vin', name=op.f('uq_vehicles_vin'))
    )
    op.create_index(op.f('ix_vehicles_enterprise_id'), 'vehicles', ['enterprise_id'], unique=False)
    op.create_index(op.f('ix_vehicles_plate'), 'vehicles', ['plate'], unique=False)
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('lookup', sa.String(length=16), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('lookup', name=op.f('uq_api_keys_lookup'))
    )
    op.create_index(op.f('ix_api_keys_user_id'), 'api_keys', ['user_id'], unique=False)
    op.create_table('machine_history',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('machine_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('from_enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('to_enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_machine_history_machine_id_machines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machine_history'))
    )
    op.create_index(op.f('ix_machine_history_machine_id'), 'machine_history', ['machine_id'], unique=False)
    op.create_table('machine_import_rows',
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('registered', 'already_registered', 'rejected', name='row_outcome', native_enum=False, create_constraint=True, length=22), nullable=False),
    sa.Column('machine_id', sa.BigInteger(), nullable=True),
    sa.Column('code', sa.String(length=15), nullable=True),
    sa.Column('errors', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['machine_imports.id'], name=op.f('fk_machine_import_rows_import_id_machine_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', 'row_number', name=op.f('pk_machine_import_rows'))
    )


def downgrade() -> None:
    # The PostGIS extension stays: other databases objects may use it, and re-creating is cheap.
    op.drop_table('machine_import_rows')
    op.drop_index(op.f('ix_machine_history_machine_id'), table_name='machine_history')
    op.drop_table('machine_history')
    op.drop_index(op.f('ix_api_keys_user_id'), table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index(op.f('ix_vehicles_plate'), table_name='vehicles')
    op.drop_index(op.f('ix_vehicles_enterprise_id'), table_name='vehicles')
    op.drop_table('vehicles')
    op.drop_index(op.f('ix_users_station_id'), table_name='users')
    op.drop_index(op.f('ix_users_enterprise_id'), table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('ix_machines_machine_type'), table_name='machines')
    op.drop_index(op.f('ix_machines_enterprise_id'), table_name='machines')
    op.drop_index(op.f('ix_machines_emission_stage'), table_name='machines')
    op.drop_table('machines')
    op.drop_index(op.f('ix_machine_imports_status'), table_name='machine_imports')
    op.drop_index(op.f('ix_machine_imports_enterprise_id'), table_name='machine_imports')
    op.drop_table('machine_imports')
    op.drop_index(op.f('ix_stations_kind'), table_name='stations')
    op.drop_geospatial_index('idx_stations_location', table_name='stations', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('stations')
    op.drop_table('enterprises')
    op.drop_table('registration_code_counters')
    op.drop_table('districts')
    op.drop_index(op.f('ix_audit_log_user_id'), table_name='audit_log')
    op.drop_index('ix_audit_log_entity', table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
