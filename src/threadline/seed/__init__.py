"""Demo data: a realistic workspace built through the same use-cases as live traffic."""

from threadline.seed.demo import (
    DEMO_PASSWORD,
    DEMO_SLUG,
    SeedProgress,
    SeedResult,
    SeedSize,
    demo_workspace_exists,
    seed_demo,
)

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_SLUG",
    "SeedProgress",
    "SeedResult",
    "SeedSize",
    "demo_workspace_exists",
    "seed_demo",
]
