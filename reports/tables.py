"""The shape every figure takes: a table (columns and rows) that the page shows as a chart
and as a table, the CSV writes and the API returns, so the four cannot disagree. Pure."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from math import ceil
from typing import Any

Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = ""


@dataclass(frozen=True)
class Chart:
    """How the page draws the table: ``bar`` (one bar per ``values`` column per row, or per
    ``group`` value when the rows are long-form) or ``heat`` (rows x ``values`` columns)."""

    kind: str
    x: str  # the column naming each row's place on the x axis (or the heat map's row)
    values: tuple[str, ...]
    y_label: str
    group: str = ""  # long-form rows: one series per value of this column


@dataclass
class Table:
    key: str
    title: str
    description: str
    columns: list[Column]
    rows: list[dict[str, Cell]] = field(default_factory=list)
    chart: Chart | None = None
    # (row index, column key) -> the queue with the tickets behind that number
    links: dict[tuple[int, str], str] = field(default_factory=dict)
    # A linked number that is not a count of tickets (a median, a rate) -> the column of the
    # same row that counts the tickets its link lists
    counted_by: dict[str, str] = field(default_factory=dict)

    def cells(self) -> list[list[tuple[str, str]]]:
        """Each row's values in column order as shown ("—" for none), with the link behind
        each ("" for none; none for no value either)."""
        keys = [c.key for c in self.columns]
        return [
            [
                ("\u2014", "")
                if row.get(k) is None
                else (str(row.get(k)), self.links.get((n, k), ""))
                for k in keys
            ]
            for n, row in enumerate(self.rows)
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.key,
            "title": self.title,
            "columns": [{"key": c.key, "label": c.label, "unit": c.unit} for c in self.columns],
            "rows": self.rows,
        }

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.key for c in self.columns])
        for row in self.rows:
            writer.writerow(
                ["" if row.get(c.key) is None else row.get(c.key) for c in self.columns]
            )
        return out.getvalue()


def percentile(values: list[float], p: int) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p % of the values at or
    below it (p50 of 1, 2, 3, 4 is 2)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, ceil(p / 100 * len(ordered)) - 1)]


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def ratio(part: float, whole: float, digits: int = 1) -> float | None:
    return None if not whole else round(100 * part / whole, digits)
