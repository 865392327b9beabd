"""enforcement: daily violation counts

Revision ID: 0007b
Revises: 0007
Create Date: 2026-11-29 06:09:06.211473

`violation_day_counts` holds, per Beijing day, kind, status, subject type and district, how many
violations there are: dashboard statistics read it instead of the register. A statement-level
trigger on `violations` appends each statement's net changes to `violation_day_count_changes`
in the same transaction: plain inserts, so writers never wait for each other on a counter row
(nor deadlock). The job `enforcement.fold_day_count_changes` (every minute) folds the changes
into the counts; readers add the changes not yet folded, so every answer is exact. The upgrade
counts the violations already recorded.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007b'
down_revision = '0007'
branch_labels = None
depends_on = None

KEY = ("(occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS day, kind, status, subject_type, "
       "coalesce(district_code, '') AS district_code")
APPEND = "INSERT INTO violation_day_count_changes (day, kind, status, subject_type, district_code, violations) "
GROUPED = " GROUP BY 1, 2, 3, 4, 5"

FOLLOW = f"""
CREATE FUNCTION violation_day_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {APPEND} SELECT {KEY}, count(*) FROM new_rows {GROUPED};
  ELSIF TG_OP = 'DELETE' THEN
    {APPEND} SELECT {KEY}, -count(*) FROM old_rows {GROUPED};
  ELSIF TG_OP = 'UPDATE' THEN
    {APPEND} SELECT day, kind, status, subject_type, district_code, sum(delta) FROM
      (SELECT {KEY}, 1 AS delta FROM new_rows UNION ALL SELECT {KEY}, -1 FROM old_rows) AS d
      {GROUPED} HAVING sum(delta) <> 0;
  ELSE  -- TRUNCATE
    DELETE FROM violation_day_count_changes;
    DELETE FROM violation_day_counts;
  END IF;
  RETURN NULL;
END $$;
"""
TRIGGERS = {
    "violations_day_counts_insert": "AFTER INSERT ON violations REFERENCING NEW TABLE AS new_rows",
    "violations_day_counts_update": "AFTER UPDATE ON violations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "violations_day_counts_delete": "AFTER DELETE ON violations REFERENCING OLD TABLE AS old_rows",
    "violations_day_counts_truncate": "AFTER TRUNCATE ON violations",
}
KIND = sa.Enum('nrmm_in_no_use_zone', 'black_smoke', 'rs_high_emitter', 'obd_alarm_unresolved', 'im_case_overdue',
               'failed_inspection_driving', 'spot_check_failure', name='violation_kind', native_enum=False,
               create_constraint=True, length=29)
STATUS = sa.Enum('open', 'under_review', 'penalised', 'dismissed', name='violation_status', native_enum=False,
                 create_constraint=True, length=16)
SUBJECT = sa.Enum('vehicle', 'machine', name='subject_type', native_enum=False, create_constraint=True, length=11)


def _key_columns() -> list[sa.Column]:
    return [sa.Column('day', sa.Date(), nullable=False), sa.Column('kind', KIND, nullable=False),
            sa.Column('status', STATUS, nullable=False), sa.Column('subject_type', SUBJECT, nullable=False),
            sa.Column('district_code', sa.String(length=6), nullable=False)]


def upgrade() -> None:
    op.create_table('violation_day_counts', *_key_columns(),
                    sa.Column('violations', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('day', 'kind', 'status', 'subject_type', 'district_code',
                                            name=op.f('pk_violation_day_counts')))
    op.create_table('violation_day_count_changes',
                    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False), *_key_columns(),
                    sa.Column('violations', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_day_count_changes')))
    op.execute(FOLLOW)
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION violation_day_counts_follow()")
    op.execute("INSERT INTO violation_day_counts (day, kind, status, subject_type, district_code, violations) "
               f"SELECT {KEY}, count(*) FROM violations {GROUPED}")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON violations")
    op.execute("DROP FUNCTION violation_day_counts_follow()")
    op.drop_table('violation_day_count_changes')
    op.drop_table('violation_day_counts')
