"""the audit log (append-only) and API keys' last use

`audit_entries` holds one row per state change an agent, an app or the system made, with
before and after. The log is append-only where it counts, in the database: a trigger refuses
every UPDATE and DELETE of its rows on PostgreSQL and on SQLite alike. (TRUNCATE, an
operator's tool, stays possible.) `api_keys.last_used_at` is when an app last called with the
key: its use is audited as that one fact, not as a row per request.

Revision ID: 0018_audit_log
Revises: 0017_inbox_traffic_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import threadline.adapters.db.types

revision = "0018_audit_log"
down_revision = "0017_inbox_traffic_index"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REFUSAL = "audit entries are append-only"

POSTGRES_FUNCTION = f"""
CREATE FUNCTION audit_entries_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}';
END;
$$ LANGUAGE plpgsql
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse_change()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER audit_entries_no_{verb} BEFORE {verb} ON audit_entries
BEGIN
    SELECT RAISE(ABORT, '{refusal}');
END
"""


def _create_table() -> None:
    utc = utc_column_type()
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "audit_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", sa.String(length=300), nullable=True),
        sa.Column("before", json, nullable=True),
        sa.Column("after", json, nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_audit_entries_workspace_id_workspaces"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
    )
    op.create_index(
        "ix_audit_entries_workspace_id_at_id", "audit_entries", ["workspace_id", "at", "id"]
    )


def upgrade() -> None:
    _create_table()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(SQLITE_TRIGGER.format(verb=verb, refusal=REFUSAL))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("last_used_at", utc_column_type(), nullable=True))


def utc_column_type() -> threadline.adapters.db.types.UTCDateTime:
    return threadline.adapters.db.types.UTCDateTime(timezone=True)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION audit_entries_refuse_change()")
    op.drop_index("ix_audit_entries_workspace_id_at_id", table_name="audit_entries")
    op.drop_table("audit_entries")
