"""enforcement: actions, query indexes, district boundaries

Enforcement state on the violation (decision, penalty, officer, appeal), event details; the
police query indexes (every filter B-tree ends in (occurred_at, id); one GiST over
(location, occurred_at), which needs btree_gist); Guiyang's district boundaries (WGS-84),
loaded from mobsrc/core/geo/data (see its README for the source).

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-29 04:50:44.335652
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def _load_district_boundaries() -> None:
    from mobsrc.core.geo.districts import SOURCE, load_district_boundaries
    connection = op.get_bind()
    known = set(connection.scalars(sa.text("SELECT code FROM districts")))
    for district in load_district_boundaries():
        if district.code not in known:
            raise RuntimeError(f"district {district.code} {district.name} is not in the districts table")
        connection.execute(sa.text("INSERT INTO district_boundaries (code, geom, source) "
                                   "VALUES (:code, ST_Multi(ST_GeomFromText(:wkt, 4326)), :source)"),
                           dict(code=district.code, wkt=district.geometry.wkt, source=SOURCE))


def upgrade() -> None:
    # The composite GiST over (location, occurred_at) needs B-tree operator classes in GiST.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_geospatial_table('district_boundaries',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['code'], ['districts.code'], name=op.f('fk_district_boundaries_code_districts')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_district_boundaries'))
    )
    op.create_geospatial_index('idx_district_boundaries_geom', 'district_boundaries', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    _load_district_boundaries()
    op.add_column('violation_events', sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False))
    op.add_column('violations', sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('violations', sa.Column('status_reason', sa.String(length=500), nullable=True))
    op.add_column('violations', sa.Column('decision_number', sa.String(length=60), nullable=True))
    op.add_column('violations', sa.Column('penalty_amount', sa.Numeric(precision=12, scale=2), nullable=True))
    op.add_column('violations', sa.Column('officer', sa.String(length=60), nullable=True))
    op.add_column('violations', sa.Column('decided_on', sa.Date(), nullable=True))
    op.add_column('violations', sa.Column('appeal_status', sa.Enum('pending', 'upheld', 'amended', 'overturned', name='appeal_status', native_enum=False, create_constraint=True, length=14), nullable=True))
    op.drop_geospatial_index(op.f('idx_violations_location'), table_name='violations', postgresql_using='gist', column_name='location')
    op.drop_index(op.f('ix_violations_district_code'), table_name='violations')
    op.drop_index(op.f('ix_violations_occurred_at'), table_name='violations')
    op.drop_index(op.f('ix_violations_status'), table_name='violations')
    op.drop_index(op.f('ix_violations_enterprise_time'), table_name='violations')
    op.create_index('ix_violations_enterprise_time', 'violations', ['enterprise_id', 'occurred_at', 'id'], unique=False)
    op.drop_index(op.f('ix_violations_machine_code_time'), table_name='violations')
    op.create_index('ix_violations_machine_code_time', 'violations', ['machine_code', 'occurred_at', 'id'], unique=False)
    op.drop_index(op.f('ix_violations_plate_time'), table_name='violations')
    op.create_index('ix_violations_plate_time', 'violations', ['plate', 'occurred_at', 'id'], unique=False)
    op.drop_index(op.f('ix_violations_vin_time'), table_name='violations')
    op.create_index('ix_violations_vin_time', 'violations', ['vin', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_violations_district_time', 'violations', ['district_code', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_violations_location_time', 'violations', ['location', 'occurred_at'], unique=False, postgresql_using='gist')
    op.create_index('ix_violations_status_time', 'violations', ['status', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_violations_time', 'violations', ['occurred_at', 'id'], unique=False)
    op.create_index('ix_violations_vehicle_id', 'violations', ['vehicle_id'], unique=False, postgresql_where='vehicle_id IS NOT NULL')
    op.create_index('ix_violations_machine_id', 'violations', ['machine_id'], unique=False, postgresql_where='machine_id IS NOT NULL')
    op.create_unique_constraint('uq_violations_decision_number', 'violations', ['decision_number'])


def downgrade() -> None:
    # btree_gist stays: other features' constraints may use it, and an extension costs nothing.
    op.drop_constraint('uq_violations_decision_number', 'violations', type_='unique')
    op.drop_index('ix_violations_machine_id', table_name='violations', postgresql_where='machine_id IS NOT NULL')
    op.drop_index('ix_violations_vehicle_id', table_name='violations', postgresql_where='vehicle_id IS NOT NULL')
    op.drop_index('ix_violations_time', table_name='violations')
    op.drop_index('ix_violations_status_time', table_name='violations')
    op.drop_index('ix_violations_location_time', table_name='violations', postgresql_using='gist')
    op.drop_index('ix_violations_district_time', table_name='violations')
    op.drop_index('ix_violations_vin_time', table_name='violations')
    op.create_index(op.f('ix_violations_vin_time'), 'violations', ['vin', 'occurred_at'], unique=False)
    op.drop_index('ix_violations_plate_time', table_name='violations')
    op.create_index(op.f('ix_violations_plate_time'), 'violations', ['plate', 'occurred_at'], unique=False)
    op.drop_index('ix_violations_machine_code_time', table_name='violations')
    op.create_index(op.f('ix_violations_machine_code_time'), 'violations', ['machine_code', 'occurred_at'], unique=False)
    op.drop_index('ix_violations_enterprise_time', table_name='violations')
    op.create_index(op.f('ix_violations_enterprise_time'), 'violations', ['enterprise_id', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_violations_status'), 'violations', ['status'], unique=False)
    op.create_index(op.f('ix_violations_occurred_at'), 'violations', ['occurred_at'], unique=False)
    op.create_index(op.f('ix_violations_district_code'), 'violations', ['district_code'], unique=False)
    op.create_geospatial_index(op.f('idx_violations_location'), 'violations', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.drop_column('violations', 'appeal_status')
    op.drop_column('violations', 'decided_on')
    op.drop_column('violations', 'officer')
    op.drop_column('violations', 'penalty_amount')
    op.drop_column('violations', 'decision_number')
    op.drop_column('violations', 'status_reason')
    op.drop_column('violations', 'status_changed_at')
    op.drop_column('violation_events', 'details')
    op.drop_geospatial_index('idx_district_boundaries_geom', table_name='district_boundaries', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('district_boundaries')
