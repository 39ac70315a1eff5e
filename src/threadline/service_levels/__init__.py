"""Service levels: business calendars, SLA policies, and the clocks that run on them.

Code outside the package imports from here. Inside:

- calendars.py        business calendars; a change moves the running deadlines, written in
                      bulk by deadline_writes.py
- calendar_preview.py what a calendar means for the next two weeks, day by day
- policies.py         SLA policies
- reopen_window.py    how long a resolved conversation re-opens on a new message
- report.py           a conversation's SLA as agents see it
- defaults.py         what a demo workspace ships with
- clocks/             SLA clocks kept in step with each change, inside its transaction
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.domain.service_levels.public_holidays import holiday_countries
    from threadline.service_levels.calendar_preview import (
        CLOSED_DAY,
        NO_HOURS,
        PreviewDay,
        preview_calendar,
    )
    from threadline.service_levels.calendars import (
        calendar_view,
        create_calendar,
        get_calendar,
        list_calendars,
        update_calendar,
    )
    from threadline.service_levels.defaults import seed_default_sla
    from threadline.service_levels.policies import (
        create_policy,
        get_policy,
        list_policies,
        policy_view,
        update_policy,
    )
    from threadline.service_levels.reopen_window import (
        current_reopen_window,
        set_reopen_window,
    )
    from threadline.service_levels.report import conversation_sla
else:
    from threadline.core.faces import lazy_face

    __getattr__ = lazy_face(
        __name__,
        ["calendar_preview", "calendars", "defaults", "policies", "reopen_window", "report"],
    )

__all__ = [
    "CLOSED_DAY",
    "NO_HOURS",
    "PreviewDay",
    "calendar_view",
    "conversation_sla",
    "create_calendar",
    "create_policy",
    "current_reopen_window",
    "get_calendar",
    "get_policy",
    "holiday_countries",
    "list_calendars",
    "list_policies",
    "policy_view",
    "preview_calendar",
    "seed_default_sla",
    "set_reopen_window",
    "update_calendar",
    "update_policy",
]
