"""Reading rows of the shared datasets for the end-to-end tests."""

from __future__ import annotations

import csv
from pathlib import Path


def read_rows(path: Path, n: int, offset: int = 0) -> list[dict[str, str]]:
    """Rows ``offset`` to ``offset + n`` of a CSV, as dicts."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))[offset : offset + n]
