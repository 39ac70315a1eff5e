"""Service levels: business calendars, SLA policies, and the clocks that run on them.

Code outside the package imports from here. Inside:

- admin.py    calendars and policies, and a conversation's SLA as agents see it
- clocks.py   SLA clocks kept in step with each change, inside its transaction
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.service_levels.admin import (
        calendar_view,
        conversation_sla,
        create_calendar,
        create_policy,
        list_calendars,
        list_policies,
        policy_view,
        update_calendar,
        update_policy,
    )
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(__name__, ["admin"])

__all__ = [
    "calendar_view",
    "conversation_sla",
    "create_calendar",
    "create_policy",
    "list_calendars",
    "list_policies",
    "policy_view",
    "update_calendar",
    "update_policy",
]
