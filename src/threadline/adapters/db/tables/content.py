"""Agent content (migration 0008_agent_content): wrap-up codes, canned responses, label
scripts and the product catalogue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.adapters.db.tables.base import Base, BigId, workspace_fk
from threadline.adapters.db.types import JSONType


class WrapUpCode(Base):
    """A classification an agent picks when resolving; workspace-wide when team_id is null."""

    __tablename__ = "wrap_up_codes"
    __table_args__ = (Index("ix_wrap_up_codes_ws_code", "workspace_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Resolving with this code needs a planned follow-up (the next step is part of the matter).
    follow_up_required: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class CannedResponse(Base):
    """A standard reply an agent inserts by its shortcut; the body may hold {{variables}}."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("workspace_id", "shortcut"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    shortcut: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LabelScript(Base):
    """What to say for conversations carrying a label: a script and suggested replies."""

    __tablename__ = "label_scripts"
    __table_args__ = (UniqueConstraint("workspace_id", "label"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    label: Mapped[str] = mapped_column(String(100))
    script: Mapped[str | None] = mapped_column(Text)
    suggested_replies: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("workspace_id", "sku"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    # Text, like offer prices, so an amount is never rounded.
    price: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    in_stock: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProductRelation(Base):
    """`related` complements `product` (sell it too) or substitutes it (sell it instead)."""

    __tablename__ = "product_relations"
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    related_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # complementary | substitute
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
