"""email addresses: one inbox per address in the installation, and the domains each workspace
may use

Before this, any workspace could give an inbox another workspace's address and the inbound
SMTP server delivered to whichever matched first. Now:

- `email_domains` lists the mail domains each workspace may put inbox addresses on (allowed
  by the operator: `threadline email-domain allow`); a domain belongs to one workspace.
- `uq_inboxes_email_address` makes an email inbox address unique across all workspaces,
  whatever its case; the SMTP server finds a recipient's inbox through it.

Existing email inbox addresses are normalised (lower case). If two inboxes share an address
the upgrade stops and names them: only a person can tell whose mail it is. Each domain that
existing inboxes of exactly one workspace use is recorded as allowed for that workspace, so
nothing that works today stops; check the result with `threadline email-domain list`.

Revision ID: 0012_email_addresses
Revises: 0011_revoked_tokens
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import threadline.adapters.db.types
from threadline.domain.customers.identities import normalise_email
from threadline.domain.errors import InvalidIdentity

revision = "0012_email_addresses"
down_revision = "0011_revoked_tokens"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EMAIL_INBOXES = "channel = 'email'"
log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    # Checked before any change: SQLite does not roll back DDL, and the upgrade must be
    # re-runnable once a person has settled the shared addresses.
    addresses = _existing_addresses()
    _refuse_shared_addresses(addresses)
    _store_normalised(addresses)
    op.create_table(
        "email_domains",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("allowed_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            threadline.adapters.db.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_email_domains_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_email_domains"),
        sa.UniqueConstraint("domain", name="uq_email_domains_domain"),
    )
    op.create_index("ix_email_domains_workspace_id", "email_domains", ["workspace_id"])
    _allow_domains_in_use(addresses)
    op.create_index(
        "uq_inboxes_email_address",
        "inboxes",
        [sa.text("lower(address)")],
        unique=True,
        postgresql_where=sa.text(EMAIL_INBOXES),
        sqlite_where=sa.text(EMAIL_INBOXES),
    )


def _normalised(address: str) -> str:
    try:
        return normalise_email(address)
    except InvalidIdentity:
        # Kept as it was apart from case: the upgrade does not drop an address it cannot parse.
        return address.strip().lower()


def _existing_addresses() -> list[tuple[int, int, str, str]]:
    """(inbox id, workspace id, stored address, normalised) of every email inbox address."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, workspace_id, address FROM inboxes"
            " WHERE channel = 'email' AND address IS NOT NULL ORDER BY id"
        )
    )
    return [
        (int(inbox_id), int(workspace_id), address, _normalised(address))
        for inbox_id, workspace_id, address in rows
    ]


def _store_normalised(addresses: list[tuple[int, int, str, str]]) -> None:
    bind = op.get_bind()
    for inbox_id, _, stored, normalised in addresses:
        if normalised != stored:
            bind.execute(
                sa.text("UPDATE inboxes SET address = :address WHERE id = :id"),
                {"address": normalised or None, "id": inbox_id},
            )


def _refuse_shared_addresses(addresses: list[tuple[int, int, str, str]]) -> None:
    holders: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for inbox_id, workspace_id, _, address in addresses:
        if address:
            holders[address].append((inbox_id, workspace_id))
    shared = {address: found for address, found in holders.items() if len(found) > 1}
    if not shared:
        return
    listing = "; ".join(
        f"{address}: " + ", ".join(f"inbox {i} (workspace {w})" for i, w in found)
        for address, found in sorted(shared.items())
    )
    raise RuntimeError(
        "several email inboxes share an address, and from this version an address belongs to"
        f" one inbox only: {listing}. Decide whose mail it is, clear the address of the others"
        " (PATCH /api/v1/inboxes/<id> with another address, or set it to NULL in the"
        " database), then run `threadline migrate` again."
    )


def _allow_domains_in_use(addresses: list[tuple[int, int, str, str]]) -> None:
    users: dict[str, set[int]] = defaultdict(set)
    for _, workspace_id, _, address in addresses:
        if "@" in address:
            users[address.rpartition("@")[2]].add(workspace_id)
    now = datetime.now(UTC)
    rows = [
        {
            "workspace_id": next(iter(workspaces)),
            "domain": domain,
            "allowed_by": "existing inboxes at upgrade",
            "created_at": now,
        }
        for domain, workspaces in sorted(users.items())
        if len(workspaces) == 1 and domain and len(domain) <= 253
    ]
    if rows:
        table = sa.table(
            "email_domains",
            sa.column("workspace_id", ID),
            sa.column("domain", sa.String()),
            sa.column("allowed_by", sa.String()),
            sa.column("created_at", threadline.adapters.db.types.UTCDateTime(timezone=True)),
        )
        op.bulk_insert(table, rows)
    for domain, workspaces in sorted(users.items()):
        if len(workspaces) > 1:
            log.warning(
                "the mail domain %s is used by inboxes of workspaces %s: allowed for none of"
                " them; their inboxes keep their addresses, and the operator decides who may"
                " add more (`threadline email-domain allow`)",
                domain,
                ", ".join(str(w) for w in sorted(workspaces)),
            )


def downgrade() -> None:
    op.drop_index("uq_inboxes_email_address", table_name="inboxes")
    op.drop_index("ix_email_domains_workspace_id", table_name="email_domains")
    op.drop_table("email_domains")
