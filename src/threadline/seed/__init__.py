"""Demo data: a realistic workspace built through the same use-cases as live traffic."""

from threadline.seed.demo import (
    SeedProgress,
    SeedResult,
    SeedSize,
    demo_workspace_exists,
    seed_demo,
)
from threadline.seed.demo_workspace import DEMO_PASSWORD, DEMO_SLUG

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_SLUG",
    "SeedProgress",
    "SeedResult",
    "SeedSize",
    "demo_workspace_exists",
    "seed_demo",
]
