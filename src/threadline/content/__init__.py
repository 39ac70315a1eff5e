"""Content agents answer with: canned responses, label scripts and the suggestions drawn
from them, wrap-up codes, and the product catalogue with customers' orders.

Code outside the package imports from here. Inside:

- canned_responses.py  standard replies found by shortcut and rendered for a conversation
- label_scripts.py     what to say, and replies to suggest, per conversation label
- suggestions.py       what to suggest beside the reply box (scripts, products)
- wrap_up_codes.py     the classifications offered at resolve time
- catalogue.py         products, how they relate, and customers' orders
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.content.canned_responses import (
        MAX_TITLE_LENGTH,
        CannedResponseFields,
        canned_response_view,
        create_canned_response,
        delete_canned_response,
        get_canned_response,
        render_canned_response,
        search_canned_responses,
        update_canned_response,
    )
    from threadline.content.catalogue import (
        MAX_ORDER_ITEMS,
        MAX_ORDER_NUMBER_LENGTH,
        MAX_PRODUCT_NAME_LENGTH,
        MAX_QUANTITY,
        NewOrder,
        OrderLine,
        ProductFields,
        change_order_status,
        create_product,
        customer_orders,
        delete_product,
        get_product_detail,
        list_products,
        product_detail,
        product_relations,
        product_view,
        record_order,
        set_relations,
        update_product,
    )
    from threadline.content.label_scripts import (
        MAX_SUGGESTED_REPLIES,
        LabelScriptFields,
        create_label_script,
        delete_label_script,
        get_label_script,
        label_script_view,
        list_label_scripts,
        update_label_script,
    )
    from threadline.content.suggestions import conversation_suggestions
    from threadline.content.wrap_up_codes import (
        MAX_SUMMARY_LENGTH,
        WrapUp,
        create_code,
        list_codes,
        update_code,
        wrap_up_code_view,
    )
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(
        __name__, ["canned_responses", "catalogue", "label_scripts", "suggestions", "wrap_up_codes"]
    )

__all__ = [
    "MAX_ORDER_ITEMS",
    "MAX_ORDER_NUMBER_LENGTH",
    "MAX_PRODUCT_NAME_LENGTH",
    "MAX_QUANTITY",
    "MAX_SUGGESTED_REPLIES",
    "MAX_SUMMARY_LENGTH",
    "MAX_TITLE_LENGTH",
    "CannedResponseFields",
    "LabelScriptFields",
    "NewOrder",
    "OrderLine",
    "ProductFields",
    "WrapUp",
    "canned_response_view",
    "change_order_status",
    "conversation_suggestions",
    "create_canned_response",
    "create_code",
    "create_label_script",
    "create_product",
    "customer_orders",
    "delete_canned_response",
    "delete_label_script",
    "delete_product",
    "get_canned_response",
    "get_label_script",
    "get_product_detail",
    "label_script_view",
    "list_codes",
    "list_label_scripts",
    "list_products",
    "product_detail",
    "product_relations",
    "product_view",
    "record_order",
    "render_canned_response",
    "search_canned_responses",
    "set_relations",
    "update_canned_response",
    "update_code",
    "update_label_script",
    "update_product",
    "wrap_up_code_view",
]
