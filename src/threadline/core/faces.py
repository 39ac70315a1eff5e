"""A capability package's public face, imported on first use.

Each capability's `__init__` names the use-cases code outside it may call. It cannot import
them eagerly: the capabilities call each other, and importing any one module of a package
runs that package's `__init__` first, so an eager face would pull its whole package in
whenever one of its modules is needed, and two packages that use each other's modules would
meet half-initialised. So a face imports its names for the type checker only (under
TYPE_CHECKING), lists them in `__all__`, and at run time fetches each from its home module
when it is first asked for (a module `__getattr__`, PEP 562). Only entry points and
integrations use the faces, so by then every capability module can be imported whole.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any


def lazy_face(package: str, modules: Sequence[str]) -> Callable[[str], Any]:
    """The `__getattr__` of `package`'s face: a name in the package's `__all__` is looked for
    in `modules` (named inside the package), in order; any other name is not there."""

    def __getattr__(name: str) -> Any:
        if name in getattr(sys.modules[package], "__all__", ()):
            for module in modules:
                home = importlib.import_module(f"{package}.{module}")
                if hasattr(home, name):
                    return getattr(home, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
