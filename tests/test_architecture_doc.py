"""docs/architecture.md says where things are; these tests hold it to that.

Every file or folder it names in backticks exists, every `module.py: name` and dotted
`package.name` it names can be imported, and every `*.py` the folder map lists under a folder
is in that folder. A move that forgets the document fails here.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "threadline"
DOC = ROOT / "docs" / "architecture.md"
TEXT = DOC.read_text()

# Where a path in the prose may be rooted: the package (the usual case) or the repository.
BASES = (PACKAGE, ROOT)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"^[\w./-]+(?:\.py|/)$")
PATH_AND_NAME = re.compile(r"^([\w./-]+\.py): (\w+)$")
DOTTED = re.compile(r"^((?:[a-z_]+\.)+[A-Za-z_]+)(?:\(\))?$")
DOTTED_ROOTS = ("domain.", "core.", "integrations.", "bootstrap.", "app.", "adapters.")
# `app.` is the API app's module, as the prose calls it.
ALIASES = {"app": "entrypoints.api.app"}


def _spans() -> list[str]:
    return sorted(set(CODE_SPAN.findall(TEXT)))


def _exists(relative: str) -> bool:
    if "/" not in relative.rstrip("/"):
        # A bare file name ("sender.py") stands for any module of that name.
        return any(PACKAGE.rglob(relative.rstrip("/")))
    return any((base / relative).exists() for base in BASES)


def _importable(dotted: str) -> bool:
    head, _, rest = dotted.partition(".")
    parts = f"{ALIASES.get(head, head)}.{rest}".split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module("threadline." + ".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_every_path_the_document_names_exists() -> None:
    paths = [s for s in _spans() if PATH.match(s) and "<" not in s]
    assert len(paths) > 30, "the document names its files in backticks"
    assert [p for p in paths if not _exists(p)] == []


def test_every_module_and_name_the_document_names_is_there() -> None:
    missing = []
    for span in _spans():
        if m := PATH_AND_NAME.match(span):
            module = m.group(1).removesuffix(".py").replace("/", ".")
            if not _importable(f"{module}.{m.group(2)}"):
                missing.append(span)
        elif (m := DOTTED.match(span)) and span.startswith(DOTTED_ROOTS) and ".py" not in span:
            if not _importable(m.group(1)):
                missing.append(span)
    assert missing == []


# Names start before this column in the folder map; what they hold is described after it.
DESCRIPTION_COLUMN = 20


def _folder_map() -> list[tuple[Path, str]]:
    """(folder, the words beside it) for each line of the folder map under src/threadline/.
    A line that starts with file names, not a folder, lists files of the folder above it."""
    block = TEXT.split("## Folder map", 1)[1].split("```", 2)[1]
    stack: list[tuple[int, Path]] = []
    rows: list[tuple[Path, str]] = []
    current = PACKAGE
    for line in block.splitlines()[1:]:
        if not line.strip() or line.startswith("src/"):
            continue
        depth = len(line) - len(line.lstrip(" "))
        if depth < DESCRIPTION_COLUMN:
            while stack and stack[-1][0] >= depth:
                stack.pop()
            parent = stack[-1][1] if stack else PACKAGE
            m = re.match(r"^ *([\w.-]+/)(?:\s+(.*))?$", line)
            if m is None:  # files of `parent`, listed at this depth
                current = parent
                rows.append((current, line.strip()))
                continue
            if parent == PACKAGE and m.group(1) in ("benchmarks/", "tests/", "tools/"):
                parent = ROOT
            current = parent / m.group(1).rstrip("/")
            stack.append((depth, current))
            rows.append((current, m.group(2) or ""))
        else:
            rows.append((current, line.strip()))
    return rows


def test_the_folder_map_lists_folders_that_exist() -> None:
    rows = _folder_map()
    assert len(rows) > 20
    assert sorted({str(f.relative_to(ROOT)) for f, _ in rows if not f.exists()}) == []


def test_the_folder_map_names_modules_where_they_are() -> None:
    misplaced = []
    for where, words in _folder_map():
        for name in re.findall(r"\b[\w*]+\.py\b", words):
            if where.exists() and not any(where.rglob(name)):
                misplaced.append(f"{where.relative_to(ROOT)}: {name}")
    assert misplaced == []
