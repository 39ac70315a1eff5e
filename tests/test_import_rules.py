"""The import rules import-linter's layer contract cannot state (make test runs both): no
module reaches itself through its imports, and the domain stays pure."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import grimp

# What the domain may import besides itself and the standard library: pure libraries that
# compute and never do I/O.
PURE_LIBRARIES = {"phonenumbers", "email_validator", "holidays"}


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("threadline", cache_dir=None)
    circles = [
        (importer, imported)
        for importer in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        if graph.chain_exists(imported, importer)
    ]
    assert circles == []


def test_the_domain_imports_only_the_standard_library_and_pure_libraries() -> None:
    graph = grimp.build_graph("threadline", include_external_packages=True, cache_dir=None)
    outside = {
        f"{module} imports {imported}"
        for module in graph.find_descendants("threadline.domain")
        for imported in graph.find_modules_directly_imported_by(module)
        if not imported.startswith("threadline.domain")
        and imported.split(".")[0] not in sys.stdlib_module_names | PURE_LIBRARIES
    }
    assert outside == set()


def test_every_name_a_capability_face_offers_is_there() -> None:
    """The faces fetch their names on first use (core/faces.py), so a name listed in
    `__all__` but missing from its home module would fail only when an entry point asks."""
    graph = grimp.build_graph("threadline", cache_dir=None)
    missing = []
    for package in sorted(m for m in graph.modules if m.count(".") == 1):
        face = importlib.import_module(package)
        offered = getattr(face, "__all__", ())
        missing += [f"{package}.{n}" for n in offered if not hasattr(face, n)]
        # Once a module is imported its package's attribute of that name is the module, so a
        # face fetching names on first use must not offer one named like its modules.
        if hasattr(face, "__path__") and "__getattr__" in vars(face):
            modules = {m.name for m in pkgutil.iter_modules(face.__path__)}
            missing += [f"{package}.{n} (a module)" for n in offered if n in modules]
    assert missing == []


# The capabilities: packages whose `__init__` is their public face.
CAPABILITIES = (
    "content",
    "conversations",
    "csat",
    "customers",
    "delivery",
    "follow_ups",
    "routing",
    "service_levels",
    "web_chat",
    "workspace",
)


# Sub-packages that are a face of their own, with their own `__all__`.
SUB_FACES = {"threadline.conversations.queries"}


def test_entry_points_integrations_and_the_seed_use_the_capabilities_through_their_faces() -> None:
    """What an entry point may call is what a capability offers in its `__init__`; reaching
    into its modules would make every internal name public again."""
    graph = grimp.build_graph("threadline", cache_dir=None)
    callers = [
        m
        for top in ("threadline.entrypoints", "threadline.integrations", "threadline.seed")
        for m in sorted(graph.find_descendants(top))
    ]
    faces = {f"threadline.{c}" for c in CAPABILITIES}
    reached_in = sorted(
        f"{caller} imports {imported}"
        for caller in callers
        for imported in graph.find_modules_directly_imported_by(caller)
        if ".".join(imported.split(".")[:2]) in faces and imported not in faces | SUB_FACES
    )
    assert reached_in == []
