"""Inline SVG charts for the run report: bar, stacked bar, heatmap and line.

The report must open on a collector's PC with no internet, so there is no charting library or CDN:
each function returns one self-contained `<svg>` string. Every label and tooltip goes through
`html.escape` because categories (teams, reasons, suites) come from the data. Each chart carries a
`data-chart` attribute so tests and readers can find it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

Formatter = Callable[[float], str]

# Colour-blind-safe palette (Okabe-Ito), used in order for series without a configured colour.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999", "#000000")

_FONT = 'font-family="sans-serif" font-size="12"'


def count_format(value: float) -> str:
    """1234 -> '1,234'."""
    return f"{value:,.0f}"


def share_format(value: float) -> str:
    """0.1234 -> '12.3%'."""
    return f"{value * 100:.1f}%"


def axis_maximum(value: float, *, whole: bool = False) -> float:
    """Top of a 4-tick value axis: 4 x a round step (1, 2, 2.5 or 5 x 10^n) that reaches value.

    `whole` keeps the step a whole number, so a count axis never shows a tick like 1.25.
    """
    if value <= 0:
        return 4.0 if whole else 1.0
    quarter = value / 4
    magnitude = 10 ** math.floor(math.log10(quarter))
    step = next(factor * magnitude for factor in (1, 2, 2.5, 5, 10) if factor * magnitude >= quarter)
    if whole:
        step = max(1.0, float(math.ceil(step)))
    return step * 4


def _color(name: str, index: int, colors: Mapping[str, str] | None) -> str:
    if colors and name in colors:
        return colors[name]
    return PALETTE[index % len(PALETTE)]


def _open_svg(chart_id: str, title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" data-chart="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def _text(x: float, y: float, label: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {_FONT}{extra}>{escape(label)}</text>'


def _legend_width(names: Sequence[str]) -> int:
    """Room for the legend: a swatch plus the longest name at about 7 px a character."""
    return 30 + 7 * max((len(name) for name in names), default=0)


def _legend(names: Sequence[str], colors: Mapping[str, str] | None, x: float, y: float) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        top = y + index * 18
        parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="12" height="12" fill="{_color(name, index, colors)}"/>')
        parts.append(_text(x + 18, top + 10, name, anchor="start"))
    return parts


def _value_axis(
    scale_max: float, left: float, top: float, plot_height: float, plot_width: float, fmt: Formatter
) -> list[str]:
    parts = []
    for tick in range(5):
        value = scale_max * tick / 4
        y = top + plot_height - plot_height * tick / 4
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_width:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(_text(left - 6, y + 4, fmt(value), anchor="end", extra=' fill="#555"'))
    return parts


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    value_format: Formatter = count_format,
    colors: Mapping[str, str] | None = None,
) -> str:
    """Vertical bars, one per (label, value), each labelled with its value; `colors` maps a label to its colour."""
    return stacked_bar_chart(
        chart_id,
        title,
        [label for label, _ in bars],
        [(title, [value for _, value in bars])],
        value_format=value_format,
        bar_colors=[_color(label, 0, colors) for label, _ in bars],
        legend=False,
    )


def stacked_bar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    value_format: Formatter = count_format,
    colors: Mapping[str, str] | None = None,
    bar_colors: Sequence[str] | None = None,
    legend: bool = True,
) -> str:
    """Vertical bars per category, stacked by series (name, one value per category); totals on top."""
    legend_width = _legend_width([name for name, _ in series]) if legend else 0
    # Each bar gets room for its label (about 7 px a character): long team or reason names must stay legible.
    slot = min(220, max(48, 10 + 7 * max((len(category) for category in categories), default=0)))
    left, top, plot_height = 64.0, 16.0, 200.0
    plot_width = slot * len(categories)
    width = int(left + plot_width + 16 + legend_width)
    height = int(top + plot_height + 64)
    totals = [sum(values[index] for _, values in series) for index in range(len(categories))]
    scale_max = axis_maximum(max(totals, default=0), whole=value_format is count_format)
    parts = _open_svg(chart_id, title, width, height)
    parts += _value_axis(scale_max, left, top, plot_height, plot_width, value_format)
    for index, category in enumerate(categories):
        x = left + index * slot + slot * 0.15
        bar_width = slot * 0.7
        base = top + plot_height
        for series_index, (name, values) in enumerate(series):
            value = values[index]
            if value <= 0:
                continue
            bar_height = plot_height * value / scale_max
            base -= bar_height
            fill = bar_colors[index] if bar_colors else _color(name, series_index, colors)
            tooltip = (
                f"{category}: {value_format(value)}" if not legend else f"{category}, {name}: {value_format(value)}"
            )
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_width:.1f}" height="{bar_height:.1f}" fill="{fill}">'
                f"<title>{escape(tooltip)}</title></rect>"
            )
        parts.append(_text(x + bar_width / 2, base - 4, value_format(totals[index])))
        parts.append(_text(x + bar_width / 2, top + plot_height + 16, category))
    parts.append(
        f'<line x1="{left}" y1="{top + plot_height}" x2="{left + plot_width}" y2="{top + plot_height}" stroke="#333"/>'
    )
    if legend:
        parts += _legend([name for name, _ in series], colors, left + plot_width + 16, top)
    parts.append("</svg>")
    return "\n".join(parts)


def _heat_color(share: float) -> str:
    """White (0) to dark blue (1): darker means a larger share."""
    share = min(1.0, max(0.0, share))
    red = round(255 - share * (255 - 8))
    green = round(255 - share * (255 - 69))
    blue = round(255 - share * (255 - 148))
    return f"rgb({red},{green},{blue})"


def heatmap(
    chart_id: str,
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Mapping[tuple[str, str], float],
    *,
    row_title: str,
    column_title: str,
    value_format: Formatter = share_format,
) -> str:
    """A grid of cells (row, column) shaded by value in [0, 1]; empty cells stay blank."""
    cell_width, cell_height = 64.0, 30.0
    left, top = 96.0, 48.0
    width = int(left + cell_width * len(columns) + 16)
    height = int(top + cell_height * len(rows) + 16)
    parts = _open_svg(chart_id, title, width, height)
    parts.append(_text(left + cell_width * len(columns) / 2, 14, column_title, extra=' font-weight="bold"'))
    parts.append(_text(8, 14, row_title, anchor="start", extra=' font-weight="bold"'))
    for column_index, column in enumerate(columns):
        parts.append(_text(left + cell_width * (column_index + 0.5), top - 8, column))
    for row_index, row in enumerate(rows):
        y = top + row_index * cell_height
        parts.append(_text(left - 8, y + cell_height / 2 + 4, row, anchor="end"))
        for column_index, column in enumerate(columns):
            x = left + column_index * cell_width
            value = values.get((row, column))
            fill = "#fafafa" if value is None else _heat_color(value)
            label = "" if value is None else value_format(value)
            tooltip = f"{row} -> {column}: {label or 'none'}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_width:.1f}" height="{cell_height:.1f}" '
                f'fill="{fill}" stroke="#fff"><title>{escape(tooltip)}</title></rect>'
            )
            if label:
                ink = ' fill="#fff"' if (value or 0) > 0.5 else ""
                parts.append(_text(x + cell_width / 2, y + cell_height / 2 + 4, label, extra=ink))
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(
    chart_id: str,
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    x_title: str,
    y_format: Formatter = share_format,
    colors: Mapping[str, str] | None = None,
) -> str:
    """One line per (name, [(x, y), ...]) series, with a legend; y starts at 0."""
    left, top, plot_width, plot_height = 64.0, 16.0, 520.0, 220.0
    legend_width = _legend_width([name for name, _ in series])
    width = int(left + plot_width + 16 + legend_width)
    height = int(top + plot_height + 52)
    xs = [x for _, points in series for x, _ in points]
    ys = [y for _, points in series for _, y in points]
    x_min, x_max = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x_span = (x_max - x_min) or 1.0
    scale_max = axis_maximum(max(ys, default=0))
    parts = _open_svg(chart_id, title, width, height)
    parts += _value_axis(scale_max, left, top, plot_height, plot_width, y_format)

    def place(x: float, y: float) -> tuple[float, float]:
        return left + plot_width * (x - x_min) / x_span, top + plot_height - plot_height * y / scale_max

    tick_step = max(1, math.ceil(x_span / 12))
    tick = x_min
    while tick <= x_max:
        px, _ = place(tick, 0)
        parts.append(_text(px, top + plot_height + 16, f"{tick:g}", extra=' fill="#555"'))
        tick += tick_step
    parts.append(_text(left + plot_width / 2, top + plot_height + 40, x_title))
    for index, (name, points) in enumerate(series):
        color = _color(name, index, colors)
        placed = [place(x, y) for x, y in sorted(points)]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in placed)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2">'
            f"<title>{escape(name)}</title></polyline>"
        )
        for (x, y), (px, py) in zip(sorted(points), placed, strict=True):
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}">'
                f"<title>{escape(f'{name}, {x:g}: {y_format(y)}')}</title></circle>"
            )
    parts += _legend([name for name, _ in series], colors, left + plot_width + 16, top)
    parts.append("</svg>")
    return "\n".join(parts)
