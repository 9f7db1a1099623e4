"""SVG chart geometry from a figure's table: where each bar or cell goes. Pure; the
page draws it (reports.render.chart_svg). The chart reads the table's own rows, so
it shows the same numbers as the table, the CSV and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil, log10

from reports.tables import Table

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 68, 12, 28, 64
PALETTE = ("#1f5f99", "#d9822b", "#4a9b5c", "#a23b72", "#6b6b6b", "#8c6d1f")


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    color: str
    label: str  # "<category>, <series>: <value> <unit>", for the bar's <title>

    def __post_init__(self) -> None:
        # Rounded here: the template prints them as they are (floatformat is slow).
        self.x, self.y, self.w, self.h = (round(v, 1) for v in (self.x, self.y, self.w, self.h))


@dataclass
class Tick:
    pos: float
    text: str

    def __post_init__(self) -> None:
        self.pos = round(self.pos, 1)


@dataclass
class Geometry:
    kind: str
    title: str
    summary: str  # the text alternative
    y_label: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[float, str, str]] = field(default_factory=list)  # (x, color, name)
    cells: list[Bar] = field(default_factory=list)
    plot_bottom: float = HEIGHT - BOTTOM
    plot_middle: int = (TOP + HEIGHT - BOTTOM) // 2
    left: int = LEFT


def _nice(top: float) -> float:
    if top <= 0:
        return 1.0
    step = 10 ** int(log10(top))
    for m in (1, 2, 2.5, 5, 10):
        if top <= m * step:
            return m * step
    return 10 * step


def _fmt(value: float) -> str:
    return f"{value:g}"


def chart_geometry(table: Table) -> Geometry | None:
    spec = table.chart
    if spec is None:
        return None
    unit = {c.key: c.unit for c in table.columns}
    names = {c.key: c.label for c in table.columns}
    if spec.kind == "heat":
        return _heat(table, names, unit)
    categories: list[str] = []
    series: list[str] = []
    values: dict[tuple[str, str], float | None] = {}
    if spec.group:
        column = spec.values[0]
        for row in table.rows:
            cat, ser = str(row[spec.x]), str(row[spec.group])
            categories += [cat] if cat not in categories else []
            series += [ser] if ser not in series else []
            values[cat, ser] = row[column]  # type: ignore[assignment]
        value_unit = unit[column]
    else:
        series = [names[v] for v in spec.values]
        for row in table.rows:
            cat = str(row[spec.x])
            categories.append(cat)
            for key in spec.values:
                values[cat, names[key]] = row[key]  # type: ignore[assignment]
        value_unit = unit[spec.values[0]]
    geo = Geometry("bar", table.title, "", f"{spec.y_label} ({value_unit})")
    top = _nice(max([v for v in values.values() if v is not None] or [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(categories))
    bar_w = max(1.0, slot * 0.8 / max(1, len(series)))
    colors = {name: PALETTE[n % len(PALETTE)] for n, name in enumerate(series)}
    x = float(LEFT)
    for name in series:
        geo.legend.append((round(x, 1), colors[name], name))
        x += 24 + 6.5 * len(name)  # the swatch, the name at about 6.5 units a letter
    every = max(1, ceil(len(categories) / 14))
    for i, cat in enumerate(categories):
        if i % every == 0:
            geo.x_ticks.append(Tick(LEFT + slot * (i + 0.5), cat))
        for j, ser in enumerate(series):
            value = values.get((cat, ser))
            if value is None:
                continue
            h = plot_h * float(value) / top
            geo.bars.append(
                Bar(
                    LEFT + slot * i + slot * 0.1 + bar_w * j,
                    TOP + plot_h - h,
                    bar_w,
                    h,
                    colors[ser],
                    f"{cat}, {ser}: {_fmt(float(value))} {value_unit}",
                )
            )
    geo.y_ticks = [Tick(TOP + plot_h * (1 - n / 4), _fmt(top * n / 4)) for n in range(5)]
    biggest = max(geo.bars, key=lambda b: b.h, default=None)
    geo.summary = (
        f"Bar chart, {len(categories)} {names[spec.x].lower()} values x {len(series)} series "
        f"({', '.join(series)}); highest: {biggest.label if biggest else 'none'}. "
        "The table below holds every number."
    )
    return geo


def _heat(table: Table, names: dict[str, str], unit: dict[str, str]) -> Geometry:
    spec = table.chart
    assert spec is not None
    geo = Geometry("heat", table.title, "", f"{spec.y_label} ({unit[spec.values[0]]})")
    plot_w = WIDTH - LEFT - RIGHT
    cell_w = plot_w / len(spec.values)
    cell_h = 24.0
    geo.height = int(TOP + cell_h * len(table.rows) + 36)
    geo.plot_bottom = round(TOP + cell_h * len(table.rows))
    top = max([float(r[k] or 0) for r in table.rows for k in spec.values] or [0]) or 1
    busiest = ("", "", -1.0)
    for i, row in enumerate(table.rows):
        geo.y_ticks.append(Tick(TOP + cell_h * (i + 0.5), str(row[spec.x])))
        for j, key in enumerate(spec.values):
            value = float(row[key] or 0)
            shade = round(0.08 + 0.92 * value / top, 2) if value else 0.0
            geo.cells.append(
                Bar(
                    LEFT + cell_w * j,
                    TOP + cell_h * i,
                    cell_w - 1,
                    cell_h - 1,
                    f"rgba(31,95,153,{shade})" if value else "#f3f3f3",
                    f"{row[spec.x]} {names[key]}: {_fmt(value)} {unit[key]}",
                )
            )
            if value > busiest[2]:
                busiest = (str(row[spec.x]), names[key], value)
    geo.x_ticks = [
        Tick(LEFT + cell_w * (j + 0.5), f"{j:02d}") for j in range(0, len(spec.values), 3)
    ]
    geo.summary = (
        f"Heat map of {spec.y_label.lower()} per weekday and hour; busiest: {busiest[0]} "
        f"{busiest[1]} with {_fmt(busiest[2])}. The table below holds every number."
    )
    return geo
