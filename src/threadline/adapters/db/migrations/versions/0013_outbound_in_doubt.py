"""outbound sends whose outcome is in doubt: when an attempt began, since when it is in doubt

A send that timed out after the request was written, or whose worker was killed mid-send,
may have reached the provider. The job then remembers since when it is in doubt, so that
it is looked up at the provider or held for a delivery report instead of being sent twice.
Jobs leased to a worker now carry the status `sending`, and jobs in doubt `unconfirmed`.

Revision ID: 0013_outbound_in_doubt
Revises: 0012_email_addresses
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.adapters.db.types

revision = "0013_outbound_in_doubt"
down_revision = "0012_email_addresses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_jobs") as batch:
        batch.add_column(
            sa.Column(
                "attempt_started_at",
                threadline.adapters.db.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "in_doubt_since",
                threadline.adapters.db.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    # Older code knows only pending, done and failed: a job in flight or in doubt goes back
    # to pending (and may then be sent again, as it would have been before).
    op.execute(
        "UPDATE outbound_jobs SET status = 'pending' WHERE status IN ('sending', 'unconfirmed')"
    )
    with op.batch_alter_table("outbound_jobs") as batch:
        batch.drop_column("in_doubt_since")
        batch.drop_column("attempt_started_at")
