"""Reading the console's routing form into what `put_settings` takes, and the form's values
from the stored settings.

The page offers three modes: auto and offer are both the stored mode "auto" (offer is its
`offer_mode` step), manual is "manual". A field that is not a number is named back to the
admin; the ranges are the use-case's to check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.domain.errors import DomainError

MODES = ("auto", "offer", "manual")
WEIGHTS = ("affinity", "skill", "competence", "free_capacity", "idle")
DURATIONS = ("idle_saturation_minutes", "affinity_half_life_days")
# The whole-number steps, in the order the page shows them (overflow_team_id is a choice).
STICKY = ("sticky_wait_seconds",)
RELAXATION = ("relax_after_seconds", "relax_levels_per_step", "max_relax_steps")
OVERFLOW = ("overflow_after_seconds",)
OFFERS = ("offer_timeout_seconds", "max_missed_offers")
STEPS = STICKY + RELAXATION + OVERFLOW + OFFERS


@dataclass(frozen=True, slots=True)
class RoutingChoice:
    mode: str
    weights: dict[str, float]
    steps: dict[str, Any]


def page_mode(settings: dict[str, Any]) -> str:
    if settings["mode"] != "auto":
        return "manual"
    return "offer" if settings["steps"].get("offer_mode") else "auto"


def form_values(settings: dict[str, Any]) -> dict[str, str]:
    """The stored settings as the form shows them."""
    values = {"mode": page_mode(settings)}
    for name in WEIGHTS + DURATIONS:
        values[f"w-{name}"] = _number_text(settings["weights"][name])
    for name in STEPS:
        values[f"s-{name}"] = str(settings["steps"][name])
    team = settings["steps"].get("overflow_team_id")
    values["overflow_team_id"] = "" if team is None else str(team)
    return values


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _number(text: str, name: str) -> float:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise DomainError(f"routing weight {name} must be a number, not {text[:40]!r}") from None


def _whole(text: str, name: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise DomainError(
            f"routing step setting {name} must be a whole number, not {text[:40]!r}"
        ) from None


def routing_choice(form: dict[str, str]) -> RoutingChoice:
    """What the admin chose; DomainError naming a field that is not a number."""
    mode = form.get("mode", "")
    if mode not in MODES:
        raise DomainError(f"routing mode must be one of {', '.join(MODES)}, not {mode[:20]!r}")
    weights = {name: _number(form.get(f"w-{name}", ""), name) for name in WEIGHTS + DURATIONS}
    steps: dict[str, Any] = {name: _whole(form.get(f"s-{name}", ""), name) for name in STEPS}
    team = form.get("overflow_team_id", "").strip()
    steps["overflow_team_id"] = _whole(team, "overflow_team_id") if team else None
    steps["offer_mode"] = mode == "offer"
    return RoutingChoice("manual" if mode == "manual" else "auto", weights, steps)
