"""Demo content for the agent workspace: canned responses, label scripts, a small appliance
catalogue with its relations, and orders for the demo customers.

Written through the same services the API uses, as the workspace's admin, in one transaction.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.content import (
    CannedResponseFields,
    LabelScriptFields,
    NewOrder,
    OrderLine,
    ProductFields,
    create_canned_response,
    create_label_script,
    create_product,
    record_order,
    set_relations,
)
from threadline.core.unit_of_work import UnitOfWorkFactory
from threadline.domain.content.catalogue import OrderStatus
from threadline.domain.security.access import Principal, Role

CANNED_RESPONSES = (
    (
        "refund",
        "Refund confirmed",
        "Hi {{customer.first_name | there}}, your refund has been approved and will reach your "
        "account within 5 working days. Best regards, {{agent.first_name}}",
    ),
    (
        "delivery-late",
        "Delivery is late",
        "Hi {{customer.first_name | there}}, I am sorry your parcel is late. I have asked the "
        "courier for an update and will write again today. {{agent.name}}, {{workspace.name}}",
    ),
    (
        "warranty",
        "Warranty claim: what we need",
        "Hi {{customer.first_name | there}}, to start the warranty claim please send a photo of "
        "the receipt and a short description of the fault. Your case number is "
        "{{conversation.id}}.",
    ),
    (
        "order-status",
        "Order status",
        "Hi {{customer.first_name | there}}, I have checked your order: it is on its way. "
        "You will get the tracking link by e-mail at {{customer.email | your address}}.",
    ),
    (
        "callback",
        "We will call you back",
        "Hi {{customer.first_name | there}}, we tried to reach you. We will call you back at "
        "{{customer.phone | the number you gave us}} within the hour. {{agent.first_name}}",
    ),
    (
        "thanks",
        "Thanks and goodbye",
        "Thank you for contacting {{workspace.name}}, {{customer.first_name | and have a nice "
        "day}}! If anything else comes up, just reply to this message.",
    ),
)

LABEL_SCRIPTS = (
    (
        "warranty",
        "1. Ask for the receipt or the order number. 2. Ask what happens and since when. "
        "3. Offer a courier pick-up; never ask the customer to pay for shipping.",
        (
            "Hi {{customer.first_name | there}}, could you send us a photo of the receipt?",
            "We will send a courier to collect the appliance free of charge.",
        ),
    ),
    (
        "complaint",
        "Listen first, apologise once, propose a concrete remedy (voucher up to 50 PLN without "
        "asking a supervisor).",
        (
            "I am sorry about this, {{customer.first_name | and thank you for telling us}}.",
            "As an apology we would like to offer you a 50 PLN voucher for your next order.",
        ),
    ),
    (
        "vip",
        "Platinum customer: answer on the channel they used, offer the service plan at 20% off.",
        (
            "Hi {{customer.first_name | there}}, {{agent.first_name}} here, I will take care of this.",
        ),
    ),
    (
        "b2b",
        "Business customer: confirm the company, the VAT number and the delivery address before "
        "any quote.",
        ("Could you confirm your company's VAT number so that I can prepare the quote?",),
    ),
    (
        "urgent",
        "Reply within 15 minutes; if you cannot solve it, @mention your supervisor in a note.",
        (),
    ),
)

# sku, name, price (PLN), description, active, in stock
PRODUCTS = (
    (
        "KET-AURA-17",
        "Glass kettle Aura 1.7 l",
        "189.00",
        "Borosilicate glass, blue LED.",
        True,
        True,
    ),
    ("KET-CLASSIC-15", "Kettle Classic 1.5 l", "129.00", "Discontinued model.", False, True),
    ("KET-STEEL-17", "Steel kettle 1.7 l", "159.00", "Brushed steel, keep-warm.", True, False),
    ("DESC-3", "Descaler 3-pack", "39.00", "For kettles and coffee machines.", True, True),
    (
        "FILT-KET-2",
        "Kettle limescale filter, 2-pack",
        "29.00",
        "Fits every kettle we sell.",
        True,
        True,
    ),
    (
        "CM-BARISTA",
        "Coffee machine Barista Pro",
        "1899.00",
        "Bean to cup, milk system.",
        True,
        True,
    ),
    ("CM-COMPACT", "Coffee machine Compact", "999.00", "Replaced by the Express.", False, True),
    ("CM-EXPRESS", "Espresso machine Express", "1299.00", "15 bar, steam wand.", True, True),
    ("MILK-CREMO", "Milk frother Cremo", "159.00", "Hot and cold foam.", True, True),
    ("SERVICE-24", "Service plan 24 months", "249.00", "Free repairs and descaling.", True, True),
    ("BEANS-1KG", "Coffee beans 1 kg", "69.00", "Medium roast, 100% arabica.", True, True),
    ("CUPS-SET", "Espresso cups, set of 6", "89.00", "Porcelain, 80 ml.", True, True),
    ("WATER-FILT", "Coffee machine water filter", "49.00", "Lasts two months.", True, True),
)

# sku -> (complementary, substitute)
RELATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "KET-AURA-17": (("DESC-3", "FILT-KET-2"), ()),
    "KET-CLASSIC-15": (("DESC-3", "FILT-KET-2"), ("KET-AURA-17", "KET-STEEL-17")),
    "KET-STEEL-17": (("DESC-3", "FILT-KET-2"), ("KET-AURA-17",)),
    "CM-BARISTA": (("MILK-CREMO", "SERVICE-24", "BEANS-1KG", "WATER-FILT"), ()),
    "CM-COMPACT": (("SERVICE-24", "BEANS-1KG", "WATER-FILT"), ("CM-EXPRESS", "CM-BARISTA")),
    "CM-EXPRESS": (("CUPS-SET", "BEANS-1KG", "SERVICE-24", "WATER-FILT"), ("CM-BARISTA",)),
    "MILK-CREMO": (("CUPS-SET",), ()),
}

# What demo customers bought: a main appliance, sometimes with an accessory.
BASKETS = (
    ("KET-CLASSIC-15",),
    ("KET-AURA-17",),
    ("KET-AURA-17", "DESC-3"),
    ("KET-STEEL-17", "FILT-KET-2"),
    ("CM-COMPACT",),
    ("CM-BARISTA", "BEANS-1KG"),
    ("CM-EXPRESS",),
    ("CM-BARISTA", "MILK-CREMO", "SERVICE-24"),
)
CUSTOMERS_WITH_ORDERS = 60
STATUSES = (OrderStatus.DELIVERED, OrderStatus.SHIPPED, OrderStatus.PLACED, OrderStatus.CANCELLED)
STATUS_WEIGHTS = (0.7, 0.15, 0.1, 0.05)


async def seed_agent_content(
    uow_factory: UnitOfWorkFactory, workspace_id: int, rng: random.Random
) -> None:
    async with uow_factory() as uow:
        session = uow.session
        admin_id = (
            await session.execute(
                select(t.Agent.id)
                .where(t.Agent.workspace_id == workspace_id, t.Agent.role == Role.ADMIN.value)
                .order_by(t.Agent.id)
                .limit(1)
            )
        ).scalar_one()
        admin = Principal(workspace_id=workspace_id, role=Role.ADMIN, agent_id=admin_id)
        for shortcut, title, body in CANNED_RESPONSES:
            await create_canned_response(uow, admin, CannedResponseFields(shortcut, title, body))
        for label, script, replies in LABEL_SCRIPTS:
            await create_label_script(uow, admin, LabelScriptFields(label, script, replies))
        ids = {}
        for sku, name, price, description, active, in_stock in PRODUCTS:
            product = await create_product(
                uow, admin, ProductFields(sku, name, price, "PLN", description, active, in_stock)
            )
            ids[sku] = product.id
        for sku, (complementary, substitute) in RELATIONS.items():
            await set_relations(uow, admin, ids[sku], complementary, substitute)
        customers = (
            await session.execute(
                select(t.Customer.id)
                .where(t.Customer.workspace_id == workspace_id, t.Customer.merged_into_id.is_(None))
                .order_by(t.Customer.id)
                .limit(CUSTOMERS_WITH_ORDERS)
            )
        ).scalars()
        now = uow.clock.now()
        number = 10_400
        for customer_id in list(customers):
            for _ in range(rng.choice((1, 1, 2))):
                number += rng.randint(1, 9)
                basket = rng.choice(BASKETS)
                await record_order(
                    uow,
                    admin,
                    customer_id,
                    NewOrder(
                        number=f"SO-{number}",
                        status=rng.choices(STATUSES, STATUS_WEIGHTS)[0],
                        placed_at=now
                        - timedelta(days=rng.randint(2, 120), hours=rng.randint(0, 9)),
                        items=tuple(OrderLine(sku, rng.choice((1, 1, 2))) for sku in basket),
                    ),
                )
        await uow.commit()
