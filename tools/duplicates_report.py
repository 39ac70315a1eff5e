"""Which of the pairs the `duplicates` command finds are not declared boilerplate.

Runs `duplicates` over the tree (it must be on PATH; it is not a dependency of the project),
sorts each pair into the kinds declared in tools/boilerplate.toml, and prints a count per
kind and every pair left over. Exits 1 when any pair is left over, so it can gate a change.

    python tools/duplicates_report.py            # the whole tree
    python tools/duplicates_report.py --change   # only what the uncommitted change added
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatch
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DECLARATIONS = ROOT / "tools" / "boilerplate.toml"
ROW = re.compile(
    r"^D\d+ (?P<a>\S+):(?P<a0>\d+)-(?P<a1>\d+) ~ (?P<b>\S+):(?P<b0>\d+)-(?P<b1>\d+)(?P<tail>.*)$"
)
MARKED_BY_THE_TOOL = "marked boilerplate by the tool"


@dataclass(frozen=True)
class Place:
    path: str
    first: int
    last: int

    def lines(self) -> list[str]:
        """The run's lines as the tool compares them: stripped, without blanks and comments."""
        text = (ROOT / self.path).read_text(encoding="utf-8").splitlines()
        kept = (line.strip() for line in text[self.first - 1 : self.last])
        return [line for line in kept if line and not line.startswith(("#", "//"))]


@dataclass(frozen=True)
class Pair:
    row: str
    one: Place
    other: Place
    by_shape: bool
    marked_boilerplate: bool


@dataclass(frozen=True)
class Kind:
    name: str
    paths: tuple[str, ...]
    line_patterns: tuple[re.Pattern[str], ...]
    identical_too: bool
    # A pair of files looked at and found alike only in form (every shape pair between them).
    files: frozenset[str] = frozenset()

    def covers(self, pair: Pair) -> bool:
        sides = (pair.one, pair.other)
        if self.files and pair.by_shape:
            return {pair.one.path, pair.other.path} == self.files
        if self.paths and (pair.by_shape or self.identical_too):
            if all(any(fnmatch(side.path, glob) for glob in self.paths) for side in sides):
                return True
        if self.line_patterns:
            return all(self._all_lines_match(side) for side in sides)
        return False

    def _all_lines_match(self, place: Place) -> bool:
        return all(any(p.match(line) for p in self.line_patterns) for line in place.lines())


def declared_kinds() -> list[Kind]:
    table = tomllib.loads(DECLARATIONS.read_text(encoding="utf-8"))
    return [
        Kind(
            name=entry["name"],
            paths=tuple(entry.get("paths", ())),
            line_patterns=tuple(re.compile(p) for p in entry.get("lines", ())),
            identical_too=bool(entry.get("identical_too", False)),
        )
        for entry in table["kind"]
    ] + [
        Kind(
            name="looked at, alike in form only",
            paths=(),
            line_patterns=(),
            identical_too=False,
            files=frozenset(entry["files"]),
        )
        for entry in table.get("looked_at", [])
    ]


def run_duplicates(folder: str, extra: list[str]) -> list[str]:
    command = ["duplicates", "--repo", folder, "--most", "200", "--seconds", "300", *extra]
    # The command and its arguments are ours; nothing from outside reaches them.
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.splitlines()


def parse(output: list[str], folder: str) -> list[Pair]:
    prefix = "" if folder == "." else folder.rstrip("/") + "/"
    pairs = []
    for line in output:
        match = ROW.match(line)
        if match is None:
            continue
        tail = match["tail"]
        one = Place(prefix + match["a"], int(match["a0"]), int(match["a1"]))
        other = Place(prefix + match["b"], int(match["b0"]), int(match["b1"]))
        pairs.append(
            Pair(
                row=f"{one.path}:{one.first}-{one.last} ~ {other.path}:{other.first}-{other.last}{tail}",
                one=one,
                other=other,
                by_shape=" shape" in tail,
                marked_boilerplate=" boilerplate" in tail,
            )
        )
    return pairs


def all_pairs(folder: str, extra: list[str]) -> list[Pair]:
    """The tool lists 200 pairs at the most. Where it cut the list, each sub-folder is asked
    again and, over the whole tree, each two sub-folders together (copied aside), so that
    pairs between them are seen too."""
    output = run_duplicates(folder, extra)
    pairs = parse(output, folder)
    if any(line.startswith("(+") and "more pairs" in line for line in output):
        groups = _groups(folder)
        for child in groups:
            if (ROOT / child).is_dir():
                pairs.extend(all_pairs(child, extra))
        if not extra:
            with ThreadPoolExecutor(max_workers=4) as pool:
                for found in pool.map(_pairs_between, combinations(groups.values(), 2)):
                    pairs.extend(found)
    unique = {pair.row: pair for pair in pairs}
    return list(unique.values())


def _groups(folder: str) -> dict[str, list[str]]:
    """The folder's files (as git lists them) by the sub-folder or loose file they are in."""
    listed = subprocess.run(  # noqa: S603
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", folder],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    groups: dict[str, list[str]] = {}
    base = Path(folder)
    for path in listed:
        relative = Path(path).relative_to(base) if folder != "." else Path(path)
        head = str(base / relative.parts[0]) if folder != "." else relative.parts[0]
        groups.setdefault(head, []).append(path)
    return groups


def _pairs_between(two: tuple[list[str], list[str]]) -> list[Pair]:
    one, other = (set(files) for files in two)
    with tempfile.TemporaryDirectory() as aside:
        for path in one | other:
            if (ROOT / path).is_file():
                target = Path(aside) / path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ROOT / path, target)
        found = parse(run_duplicates(aside, []), ".")
    return [p for p in found if {p.one.path in one, p.other.path in one} == {True, False}]


def kind_of(pair: Pair, kinds: list[Kind]) -> str | None:
    for kind in kinds:
        if kind.covers(pair):
            return kind.name
    # A run may change kind halfway (the end of an import list, two constants, a record).
    every_pattern = tuple(p for kind in kinds for p in kind.line_patterns)
    mixed = Kind("declarations of several kinds", (), every_pattern, identical_too=False)
    if mixed.covers(pair):
        return mixed.name
    return MARKED_BY_THE_TOOL if pair.marked_boilerplate else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--change", action="store_true", help="only pairs the change added")
    parser.add_argument("--base", help="with --change: count as added all since this commit")
    args = parser.parse_args()
    if shutil.which("duplicates") is None:
        print("the duplicates command is not on PATH; nothing to report", file=sys.stderr)
        return 2
    extra = ["--change", *(["--base", args.base] if args.base else [])] if args.change else []
    output = run_duplicates(".", extra)
    pairs = all_pairs(".", extra)
    kinds = declared_kinds()
    counts: Counter[str] = Counter()
    undeclared = []
    for pair in pairs:
        kind = kind_of(pair, kinds)
        if kind is None:
            undeclared.append(pair)
        else:
            counts[kind] += 1
    print(output[0] if output else "duplicates printed nothing")
    for line in output:
        if line.startswith(("left out:", "incomplete:")):
            print(line)
    # Asked folder by folder, the tool lists some runs the whole-tree run leaves out as too
    # common; the rows below are all it listed in any run.
    print(f"{len(pairs):4} rows read over all runs")
    for name, count in counts.most_common():
        print(f"{count:4} declared: {name}")
    print(f"{len(undeclared):4} not declared")
    for pair in undeclared:
        print("  " + pair.row)
    return 1 if undeclared else 0


if __name__ == "__main__":
    sys.exit(main())
