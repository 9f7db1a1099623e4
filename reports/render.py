"""A figure's table rows and its SVG chart as HTML, built in Python: a team-year is thousands
of cells and hundreds of bars, and the template language would spend most of the page's
time on them."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reports.charts import Geometry
from reports.tables import Table


def table_body(table: Table) -> SafeString:
    rows = []
    for row in table.cells():
        cells = []
        for n, (text, link) in enumerate(row):
            shown = f'<a href="{escape(link)}">{escape(text)}</a>' if link else escape(text)
            cells.append(f'<th scope="row">{shown}</th>' if n == 0 else f"<td>{shown}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="{len(table.columns)}">Nothing in this period.</td></tr>')
    # Every value and link went through escape() above.
    return mark_safe("\n".join(rows))  # noqa: S308


def _trunc(text: str, size: int) -> str:
    """As the template filter truncatechars."""
    return text if len(text) <= size else text[: size - 1] + "\u2026"


def chart_svg(geo: Geometry, key: str) -> SafeString:
    """The figure's chart as accessible SVG (title, description, axis labels, a title on each
    bar or cell), built in Python like the table rows: a year's weekly chart is hundreds
    of bars, and the template language spent more on them than the figures took."""
    e = escape
    bottom = int(geo.plot_bottom)
    out = [
        # Focusable: on a phone the chart scrolls sideways in its own box, by keyboard too.
        '<figure class="chart" tabindex="0">',
        f'<svg viewBox="0 0 {geo.width} {geo.height}" role="img" '
        f'aria-labelledby="{e(key)}-t {e(key)}-d" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{e(key)}-t">{e(geo.title)}</title>',
        f'<desc id="{e(key)}-d">{e(geo.summary)}</desc>',
    ]
    if geo.kind == "heat":
        out += [
            f'<text x="{geo.left - 6}" y="{t.pos}" text-anchor="end" dominant-baseline="middle" '
            f'class="tick">{e(t.text)}</text>'
            for t in geo.y_ticks
        ]
        out += [
            f'<rect x="{c.x}" y="{c.y}" width="{c.w}" height="{c.h}" fill="{e(c.color)}">'
            f"<title>{e(c.label)}</title></rect>"
            for c in geo.cells
        ]
        out += [
            f'<text x="{t.pos}" y="{bottom + 14}" text-anchor="middle" class="tick">'
            f"{e(t.text)}</text>"
            for t in geo.x_ticks
        ]
        out.append(
            f'<text x="{geo.width - 12}" y="{bottom + 30}" text-anchor="end" class="axis">'
            f"Hour of day (team time) \u00b7 colour: {e(geo.y_label)}</text>"
        )
    else:
        out += [
            f'<line x1="{geo.left}" x2="{geo.width - 12}" y1="{t.pos}" y2="{t.pos}" '
            f'class="grid"/><text x="{geo.left - 6}" y="{t.pos}" text-anchor="end" '
            f'dominant-baseline="middle" class="tick">{e(t.text)}</text>'
            for t in geo.y_ticks
        ]
        middle = geo.plot_middle
        out.append(
            f'<text x="12" y="{middle}" text-anchor="middle" '
            f'transform="rotate(-90 12 {middle})" class="axis">{e(geo.y_label)}</text>'
        )
        out += [
            f'<rect x="{b.x}" y="{b.y}" width="{b.w}" height="{b.h}" fill="{e(b.color)}">'
            f"<title>{e(b.label)}</title></rect>"
            for b in geo.bars
        ]
        out += [
            f'<text x="{t.pos}" y="{bottom + 14}" text-anchor="middle" class="tick">'
            f"{e(_trunc(t.text, 16))}</text>"
            for t in geo.x_ticks
        ]
        out += [
            f'<g transform="translate({x} {bottom + 30})"><rect width="10" height="10" '
            f'fill="{e(color)}"/><text x="14" y="9" class="tick">{e(name)}</text></g>'
            for x, color, name in geo.legend
        ]
    out += ["</svg>", f"<figcaption>{e(geo.summary)}</figcaption>", "</figure>"]
    # Every text and attribute value went through escape() above; the numbers are ours.
    return mark_safe("\n".join(out))  # noqa: S308
