"""Customers: profiles, identities, notes, offers made to them, and merging.

Code outside the package imports from here. Inside:

- resolve.py   continuity rule 1: the customer behind an address (created when unknown)
- profile.py   profiles and identities edited by hand
- notes.py     notes every agent sees
- offers.py    offers made to a customer, known to every agent at once
- merge.py     continuity rule 4: merging, audited and undoable
- names.py     names by id, for lists
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.customers.merge import (
        get_merge,
        list_merges,
        merge_customers,
        merge_view,
        unmerge,
    )
    from threadline.customers.names import customer_names
    from threadline.customers.notes import add_note, list_notes
    from threadline.customers.offers import NewOffer, change_offer_status, list_offers, record_offer
    from threadline.customers.profile import add_identity, create_customer, update_customer
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(__name__, ["merge", "names", "notes", "offers", "profile"])

__all__ = [
    "NewOffer",
    "add_identity",
    "add_note",
    "change_offer_status",
    "create_customer",
    "customer_names",
    "get_merge",
    "list_merges",
    "list_notes",
    "list_offers",
    "merge_customers",
    "merge_view",
    "record_offer",
    "unmerge",
    "update_customer",
]
