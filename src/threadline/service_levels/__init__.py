"""Service levels: business calendars, SLA policies, and the clocks that run on them.

Code outside the package imports from here. Inside:

- calendars.py        business calendars; a change moves the running deadlines, written in
                      bulk by deadline_writes.py
- policies.py         SLA policies
- report.py           a conversation's SLA as agents see it
- defaults.py         what a demo workspace ships with
- clocks/             SLA clocks kept in step with each change, inside its transaction
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.service_levels.calendars import (
        calendar_view,
        create_calendar,
        list_calendars,
        update_calendar,
    )
    from threadline.service_levels.defaults import seed_default_sla
    from threadline.service_levels.policies import (
        create_policy,
        list_policies,
        policy_view,
        update_policy,
    )
    from threadline.service_levels.report import conversation_sla
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(__name__, ["calendars", "defaults", "policies", "report"])

__all__ = [
    "calendar_view",
    "conversation_sla",
    "create_calendar",
    "create_policy",
    "list_calendars",
    "list_policies",
    "policy_view",
    "seed_default_sla",
    "update_calendar",
    "update_policy",
]
