"""timer keys in the one format: the kind, then what names the timer, joined by ":"

Keys are now spelled by core/timers.py: timer_key. SLA and routing timers had their own
spellings ("sla:42:breach", "routing-offer:7", "routing-step:5"); the new code looks them up
as "sla.breach:42", "routing.offer:7" and "routing.step:5", so an armed timer left under its
old key would never be moved or cancelled again (and a clock re-armed would get a second
one). Every timer of these kinds is renamed, not only the armed ones: scheduling a key again
re-arms its row (also after it fired or was cancelled), so a fired routing step keeps being
re-used as before, and the downgrade can rename back without meeting a key twice.
Offer-expiry, follow-up and CSAT keys already had the format and are left as they are.

Revision ID: 0015_timer_keys
Revises: 0014_assignment_channel_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_timer_keys"
down_revision = "0014_assignment_channel_index"
branch_labels = None
depends_on = None

# kind, (prefix, suffix) around the id in the old key, the same in the new key
RENAMED = (
    ("sla.warning", ("sla:", ":warning"), ("sla.warning:", "")),
    ("sla.breach", ("sla:", ":breach"), ("sla.breach:", "")),
    ("routing.offer", ("routing-offer:", ""), ("routing.offer:", "")),
    ("routing.step", ("routing-step:", ""), ("routing.step:", "")),
)


def _rename(kind: str, before: tuple[str, str], after: tuple[str, str]) -> None:
    """Keys `before[0] <id> before[1]` of `kind` become `after[0] <id> after[1]`, in one
    statement that SQLite and PostgreSQL both run (ids are digits: no LIKE wildcard in them)."""
    (old_prefix, old_suffix), (new_prefix, new_suffix) = before, after
    op.get_bind().execute(
        sa.text(
            "UPDATE timers SET key = CAST(:new_prefix AS VARCHAR(200))"
            " || substr(key, :id_from, length(key) - :around) || CAST(:new_suffix AS VARCHAR(200))"
            " WHERE kind = :kind AND key LIKE :old_pattern"
        ),
        {
            "new_prefix": new_prefix,
            "new_suffix": new_suffix,
            "id_from": len(old_prefix) + 1,
            "around": len(old_prefix) + len(old_suffix),
            "kind": kind,
            "old_pattern": f"{old_prefix}%{old_suffix}",
        },
    )


def upgrade() -> None:
    for kind, old, new in RENAMED:
        _rename(kind, old, new)


def downgrade() -> None:
    for kind, old, new in RENAMED:
        _rename(kind, new, old)
