"""Reading the console's SLA policy form into the fields `create_policy` / `update_policy`
take, and a policy as that form shows it.

Conditions are one checkbox per channel, priority and team, and customer labels and tiers
typed comma-separated; targets are whole minutes (blank: no target); the calendar is chosen
from the workspace's ("" runs round the clock)."""

from __future__ import annotations

from typing import Any

from threadline.domain.channels import Channel
from threadline.domain.conversations import Priority
from threadline.domain.errors import DomainError
from threadline.domain.service_levels.sla import ESCALATION_STAGES, EscalationAction

TARGETS = ("first_response", "next_response", "resolution")
ACTIONS = tuple(action.value for action in EscalationAction)
CHANNELS = tuple(channel.value for channel in Channel)
PRIORITIES = tuple(priority.value for priority in Priority)
MAX_FIELDS = 600
# A year, in minutes: beyond it a target is a typo.
MAX_TARGET_MINUTES = 525_600


def _whole(text: str, what: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise DomainError(f"{what} is a whole number from {low} to {high}")
    return int(text)


def _listed(text: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))[:50]


def _conditions(form: dict[str, str]) -> dict[str, list[Any]]:
    teams = [int(key[5:]) for key in form if key.startswith("team-") and key[5:].isdigit()]
    found: dict[str, list[Any]] = {
        "channel": [c for c in CHANNELS if form.get(f"channel-{c}") == "yes"],
        "priority": [p for p in PRIORITIES if form.get(f"priority-{p}") == "yes"],
        "team_id": sorted(teams),
        "customer_label": _listed(form.get("customer_label", "")),
        "customer_tier": _listed(form.get("customer_tier", "")),
    }
    return {key: values for key, values in found.items() if values}


def policy_fields(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": form.get("name", "").strip()[:200],
        "position": _whole(form.get("position", ""), "the order", 0, 1_000_000) or 0,
        "conditions": _conditions(form),
        "active": form.get("active") == "yes",
    }
    for target in TARGETS:
        minutes = _whole(
            form.get(f"{target}_minutes", ""), "a target in minutes", 1, MAX_TARGET_MINUTES
        )
        fields[f"{target}_seconds"] = None if minutes is None else minutes * 60
    calendar = form.get("calendar_id", "").strip()
    fields["calendar_id"] = int(calendar) if calendar.isdigit() else None
    warning = _whole(form.get("warning_percent", ""), "the warning share (percent)", 1, 100)
    fields["warning_ratio"] = (warning or 80) / 100
    fields["escalation"] = {
        stage: [a for a in ACTIONS if form.get(f"esc-{stage}-{a}") == "yes"]
        for stage in ESCALATION_STAGES
    }
    return fields


def form_values(policy: dict[str, Any]) -> dict[str, Any]:
    """What the form's fields show for a stored (or typed) policy."""
    conditions = policy.get("conditions") or {}
    minutes = {target: (policy.get(f"{target}_seconds") or 0) // 60 or None for target in TARGETS}
    return {
        **policy,
        "minutes": minutes,
        "channels": set(conditions.get("channel", [])),
        "priorities": set(conditions.get("priority", [])),
        "team_ids": set(conditions.get("team_id", [])),
        "labels": ", ".join(conditions.get("customer_label", [])),
        "tiers": ", ".join(conditions.get("customer_tier", [])),
        "warning_percent": round(float(policy.get("warning_ratio") or 0.8) * 100),
        "escalation": policy.get("escalation") or {},
    }
