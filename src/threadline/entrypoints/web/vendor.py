"""The design system the pages are built with: Bootstrap, Bootstrap Icons, htmx and its
WebSocket extension.

They come from the npm registry, pinned with hashes in `package-lock.json` and installed into
`node_modules/` by `make install` (`npm ci`); nothing of theirs is committed. Only each
package's built files are served, under `/app/vendor/<package>/`. A checkout outside the
repository (an installed wheel, a container) points `THREADLINE_WEB_ASSETS` at its own
`node_modules`.
"""

from __future__ import annotations

import os
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

VENDOR_URL = "/app/vendor"
ASSETS_VARIABLE = "THREADLINE_WEB_ASSETS"
# Served name -> the folder of built files inside the npm package.
SERVED = {
    "bootstrap": "bootstrap/dist",
    "bootstrap-icons": "bootstrap-icons/font",
    "htmx": "htmx.org/dist",
    "htmx-ext-ws": "htmx-ext-ws/dist",
}


def node_modules() -> Path:
    configured = os.environ.get(ASSETS_VARIABLE)
    if configured:
        return Path(configured)
    # src/threadline/entrypoints/web/vendor.py -> the repository root.
    return Path(__file__).resolve().parents[4] / "node_modules"


def missing_assets(root: Path) -> list[str]:
    return [name for name, folder in SERVED.items() if not (root / folder).is_dir()]


def install_vendor_assets(app: FastAPI) -> None:
    root = node_modules()
    missing = missing_assets(root)
    if missing:
        # The pages still answer (unstyled), and the log says what to do.
        structlog.get_logger(__name__).error(
            "web.design_system_missing",
            folder=str(root),
            packages=missing,
            fix=f"run `make install` (npm ci) or set {ASSETS_VARIABLE}",
        )
    for name, folder in SERVED.items():
        app.mount(
            f"{VENDOR_URL}/{name}",
            StaticFiles(directory=root / folder, check_dir=False),
            name=f"vendor-{name}",
        )
