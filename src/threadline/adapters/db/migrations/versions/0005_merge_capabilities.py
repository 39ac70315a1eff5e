"""Join the branches that channels (IMAP cursors), service levels and wrap-up added in parallel,
so the next migration has one parent.

Revision ID: 0005_merge
Revises: 0002_imap, 0003_sla, 0004_wrapup
"""

from __future__ import annotations

revision = "0005_merge"
down_revision = ("0002_imap", "0003_sla", "0004_wrapup")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
