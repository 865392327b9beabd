"""obd: alarms remember their I/M case

Revision ID: 0008
Revises: 0007b
Create Date: 2026-11-29 06:45:39.955237
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('obd_alarms', sa.Column('handover_ref', sa.String(length=60), nullable=True))


def downgrade() -> None:
    op.drop_column('obd_alarms', 'handover_ref')
