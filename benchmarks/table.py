"""The results table every benchmark prints: a header, a rule, one row per measured run."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

Column = tuple[str, str]  # (title, format spec of its values, e.g. ">9.1f")


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> None:
    header = "".join(f"{title:{_alignment_and_width(spec)}}" for title, spec in columns)
    print(header)
    print("-" * len(header))
    for row in rows:
        print("".join(f"{value:{spec}}" for value, (_, spec) in zip(row, columns, strict=True)))


def _alignment_and_width(spec: str) -> str:
    """A title is aligned and padded as its column's values, without their number format."""
    match = re.match(r"[<>^]?\d*", spec)
    return match.group(0) if match else ""
