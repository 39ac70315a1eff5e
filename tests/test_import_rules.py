"""The import rules import-linter's layer contract cannot state (make test runs both): no
module reaches itself through its imports, and the domain stays pure."""

from __future__ import annotations

import sys

import grimp

# What the domain may import besides itself and the standard library: pure libraries that
# compute and never do I/O.
PURE_LIBRARIES = {"phonenumbers", "email_validator", "holidays"}


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("threadline")
    circles = [
        (importer, imported)
        for importer in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        if graph.chain_exists(imported, importer)
    ]
    assert circles == []


def test_the_domain_imports_only_the_standard_library_and_pure_libraries() -> None:
    graph = grimp.build_graph("threadline", include_external_packages=True)
    outside = {
        f"{module} imports {imported}"
        for module in graph.find_descendants("threadline.domain")
        for imported in graph.find_modules_directly_imported_by(module)
        if not imported.startswith("threadline.domain")
        and imported.split(".")[0] not in sys.stdlib_module_names | PURE_LIBRARIES
    }
    assert outside == set()
