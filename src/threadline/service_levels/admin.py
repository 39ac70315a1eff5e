"""Configuring service levels: one place to import them from.

The use-cases live beside this module: calendars.py (business calendars; a change moves the
running deadlines, written by deadline_writes.py), policies.py (SLA policies), defaults.py
(what a demo workspace ships with) and report.py (the per-conversation SLA report).
"""

from __future__ import annotations

from threadline.service_levels.calendars import (
    calendar_view,
    create_calendar,
    list_calendars,
    recompute_open_deadlines,
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

__all__ = [
    "calendar_view",
    "conversation_sla",
    "create_calendar",
    "create_policy",
    "list_calendars",
    "list_policies",
    "policy_view",
    "recompute_open_deadlines",
    "seed_default_sla",
    "update_calendar",
    "update_policy",
]
