"""agent content: canned responses, scripts, product catalogue, mentions

Revision ID: 0008_agent_content
Revises: 0007_routing_steps
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.adapters.db.types

revision = "0008_agent_content"
down_revision = "0007_routing_steps"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, threadline.adapters.db.types.UTCDateTime(timezone=True), nullable=nullable
    )


def _json(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, threadline.adapters.db.types.JSONType, nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def _workspace_table(table: str, *columns: sa.schema.SchemaItem) -> None:
    op.create_table(
        table,
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        *columns,
        _fk(table, "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    )
    op.create_index(f"ix_{table}_workspace_id", table, ["workspace_id"])


def upgrade() -> None:
    _workspace_table(
        "canned_responses",
        sa.Column("shortcut", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _moment("created_at"),
        _moment("updated_at"),
        sa.UniqueConstraint(
            "workspace_id", "shortcut", name="uq_canned_responses_workspace_id_shortcut"
        ),
    )
    _workspace_table(
        "label_scripts",
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("script", sa.Text(), nullable=True),
        _json("suggested_replies"),
        _moment("created_at"),
        _moment("updated_at"),
        sa.UniqueConstraint("workspace_id", "label", name="uq_label_scripts_workspace_id_label"),
    )
    _workspace_table(
        "products",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("price", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("in_stock", sa.Boolean(), nullable=False),
        _moment("created_at"),
        _moment("updated_at"),
        sa.UniqueConstraint("workspace_id", "sku", name="uq_products_workspace_id_sku"),
    )
    op.create_table(
        "product_relations",
        sa.Column("product_id", ID, nullable=False),
        sa.Column("related_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        _fk("product_relations", "product_id", "products"),
        _fk("product_relations", "related_id", "products"),
        _fk("product_relations", "workspace_id", "workspaces"),
        sa.PrimaryKeyConstraint("product_id", "related_id", "kind", name="pk_product_relations"),
    )
    op.create_index("ix_product_relations_related_id", "product_relations", ["related_id"])
    op.create_index("ix_product_relations_workspace_id", "product_relations", ["workspace_id"])
    _workspace_table(
        "orders",
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _moment("placed_at"),
        _moment("created_at"),
        _moment("updated_at"),
        _fk("orders", "customer_id", "customers"),
        sa.UniqueConstraint("workspace_id", "number", name="uq_orders_workspace_id_number"),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])
    _workspace_table(
        "order_items",
        sa.Column("order_id", ID, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        _fk("order_items", "order_id", "orders"),
    )
    op.create_index("ix_order_items_order_id", "order_items", ["order_id"])
    _workspace_table(
        "notifications",
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("author_agent_id", ID, nullable=True),
        sa.Column("conversation_id", ID, nullable=True),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("note_id", ID, nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=False),
        _moment("created_at"),
        _moment("read_at", nullable=True),
        _fk("notifications", "agent_id", "agents"),
        _fk("notifications", "author_agent_id", "agents", "SET NULL"),
        _fk("notifications", "conversation_id", "conversations"),
        _fk("notifications", "customer_id", "customers"),
        _fk("notifications", "message_id", "messages"),
        _fk("notifications", "note_id", "notes"),
    )
    op.create_index("ix_notifications_agent_read", "notifications", ["agent_id", "read_at"])


def downgrade() -> None:
    for table in (
        "notifications",
        "order_items",
        "orders",
        "product_relations",
        "products",
        "label_scripts",
        "canned_responses",
    ):
        op.drop_table(table)
