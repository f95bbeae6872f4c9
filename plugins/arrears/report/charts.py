"""The report's charts: Vega-Lite specs built with altair, rendered to SVG offline by vl-convert.

The page must open on a collector's PC with no internet and no script, so each chart becomes one
inline `<svg>` (vl-convert runs Vega in-process: no browser, no network). Tooltips are SVG `<title>`
elements, which every browser shows on hover without JavaScript: each mark gets a `tip` field,
Vega writes it as the mark's aria-label, and `_with_title_tooltips` turns that into a `<title>`.
Each chart carries a `data-chart` attribute so tests and readers can find it (decision 018).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from html import escape
from typing import Any

Formatter = Callable[[float], str]

# Colour-blind-safe palette (Okabe-Ito), used in order for series without a configured colour.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999", "#000000")

# Labels longer than this, or more categories than BARS_UPRIGHT_MAX, turn bars on their side: the
# category names then sit on the vertical axis at full length instead of being squeezed under narrow bars.
LABEL_UPRIGHT_MAX = 12
BARS_UPRIGHT_MAX = 12
FONT = "sans-serif"


@contextmanager
def building() -> Iterator[None]:
    """Build charts without altair's per-object schema validation (its cost: decision 018); vl-convert still
    compiles every spec and fails on a wrong one."""
    import altair as alt

    with alt.utils.schemapi.debug_mode(False):
        yield


def count_format(value: float) -> str:
    """1234 -> '1,234'."""
    return f"{value:,.0f}"


def share_format(value: float) -> str:
    """0.1234 -> '12.3%'."""
    return f"{value * 100:.1f}%"


def amount_format(value: float) -> str:
    """12345.6 -> '12,345.60'."""
    return f"{value:,.2f}"


# The same three formats for Vega's axes (d3-format).
AXIS_FORMATS: dict[Formatter, str] = {count_format: ",.0f", share_format: ".0%", amount_format: ",.0f"}


def colors_for(names: Sequence[str], colors: Mapping[str, str] | None, palette: Sequence[str] = PALETTE) -> list[str]:
    """One colour per name: its configured colour, else the next palette colour not used yet."""
    chosen: list[str] = []
    spare = iter([color for color in palette if color not in (colors or {}).values()] + list(palette))
    for name in names:
        chosen.append(colors[name] if colors and name in colors else next(spare))
    return chosen


_TOOLTIP_MARK = re.compile(r'<(path|line|text)\b([^>]*?) aria-label="([^"]*)"([^>]*?)/>')


def _with_title_tooltips(svg: str) -> str:
    """Each mark's aria-label (its `tip`) as an SVG <title> child: a hover tooltip without any script."""
    return _TOOLTIP_MARK.sub(lambda m: f"<{m[1]}{m[2]}{m[4]}><title>{m[3]}</title></{m[1]}>", svg)


def render(chart: Any, chart_id: str, title: str) -> str:
    """An altair chart as one inline <svg data-chart=...> string, scaled to the page width."""
    import altair as alt
    import vl_convert

    # Title anchored at the left: a centred title wider than a narrow chart was clipped at the edge.
    heading = alt.TitleParams(text=title, anchor="start", limit=0)
    spec = chart.properties(title=heading).configure(font=FONT).configure_view(stroke=None).to_dict(validate=False)
    svg = _with_title_tooltips(vl_convert.vegalite_to_svg(spec))
    head_end = svg.index(">")
    head = svg[len("<svg") : head_end]
    width = re.search(r'\swidth="([\d.]+)"', head)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)  # the viewBox keeps the shape; CSS sets the size
    return (
        f'<svg data-chart="{escape(chart_id)}" role="img" aria-label="{escape(title)}"{head} '
        f'style="max-width:{width[1] if width else 800}px;width:100%;height:auto">'
        f"<title>{escape(title)}</title>{svg[head_end + 1 :]}"
    )


def _data(rows: list[dict[str, Any]]) -> Any:
    import altair as alt

    return alt.Data(values=rows)


def _upright(categories: Sequence[str]) -> bool:
    return len(categories) <= BARS_UPRIGHT_MAX and max((len(c) for c in categories), default=0) <= LABEL_UPRIGHT_MAX


def stacked_bar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    category_title: str,
    value_title: str,
    series_title: str = "",
    value_format: Formatter = count_format,
    colors: Mapping[str, str] | None = None,
    bar_colors: Sequence[str] | None = None,
    legend: bool = True,
) -> str:
    """Bars per category (in the given order), stacked by series (name, one value per category); totals at the end.

    `bar_colors` gives each category its own colour (a one-series chart); otherwise colours follow the series.
    """
    import altair as alt

    names = [name for name, _ in series]
    rows = []
    for index, category in enumerate(categories):
        for order, (name, values) in enumerate(series):
            number = values[index]
            if number <= 0:
                continue
            tip = f"{category}: {value_format(number)}" if not legend else f"{category}, {name}: {value_format(number)}"
            rows.append({"category": category, "series": name, "order": order, "value": number, "tip": tip})
    sums = [sum(values[index] for _, values in series) for index in range(len(categories))]
    totals = [
        {"category": category, "total": total, "label": value_format(total)}
        for category, total in zip(categories, sums, strict=True)
    ]
    upright = _upright(categories)
    category_axis = alt.Axis(labelLimit=0, labelAngle=0, title=category_title)
    category_channel: Any = alt.X if upright else alt.Y
    value: Any = alt.Y if upright else alt.X
    value_axis = alt.Axis(format=AXIS_FORMATS.get(value_format, ",.0f"), title=value_title)
    if value_format is count_format:  # whole ticks only: 0, 1, 2, never a 0.5 printed as "1"
        value_axis = alt.Axis(
            format=",.0f", title=value_title, tickMinStep=1, tickCount=max(1, min(5, int(max(sums, default=0))))
        )
    if bar_colors is not None:
        color = alt.Color("category:N", scale=alt.Scale(domain=list(categories), range=list(bar_colors)), legend=None)
    else:
        color = alt.Color(
            "series:N",
            scale=alt.Scale(domain=names, range=colors_for(names, colors)),
            legend=alt.Legend(title=series_title or None, labelLimit=0) if legend else None,
        )
    size = {"width": alt.Step(max(36, 8 * max((len(c) for c in categories), default=0)))} if upright else {}
    bars = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            category_channel("category:N", scale=alt.Scale(domain=list(categories)), axis=category_axis),
            value("sum(value):Q", axis=value_axis, stack="zero"),
            color=color,
            order=alt.Order("order:Q"),
            description=alt.Description("tip:N"),
        )
    )
    labels = (
        alt.Chart(_data(totals))
        .mark_text(dy=-6 if upright else 0, dx=0 if upright else 6, align="center" if upright else "left")
        .encode(
            category_channel("category:N", scale=alt.Scale(domain=list(categories))),
            value("total:Q"),
            text="label:N",
            description=alt.Description("label:N"),
        )
    )
    return render(alt.layer(bars, labels).properties(**size), chart_id, title)


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    category_title: str,
    value_title: str,
    value_format: Formatter = count_format,
    colors: Mapping[str, str] | None = None,
) -> str:
    """One bar per (label, value), each labelled with its value; `colors` maps a label to its colour."""
    labels = [label for label, _ in bars]
    return stacked_bar_chart(
        chart_id,
        title,
        labels,
        [(title, [value for _, value in bars])],
        category_title=category_title,
        value_title=value_title,
        value_format=value_format,
        bar_colors=colors_for(labels, colors, palette=[PALETTE[0]] * len(labels)) if bars else [],
        legend=False,
    )


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
    """A grid of cells (row, column) shaded white to dark blue by value in [0, 1]; empty cells stay blank."""
    import altair as alt

    cells = [
        {"row": row, "column": column, "value": values[(row, column)], "label": value_format(values[(row, column)])}
        for row in rows
        for column in columns
        if (row, column) in values
    ]
    for cell in cells:
        cell["tip"] = f"{cell['row']} -> {cell['column']}: {cell['label']}"
    base = alt.Chart(_data(cells)).encode(
        alt.X(
            "column:N",
            scale=alt.Scale(domain=list(columns)),
            axis=alt.Axis(orient="top", labelAngle=0, title=column_title),
        ),
        alt.Y("row:N", scale=alt.Scale(domain=list(rows)), axis=alt.Axis(title=row_title)),
    )
    grid = base.mark_rect(stroke="white").encode(
        color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], range=["#ffffff", "#084594"]), legend=None),
        description=alt.Description("tip:N"),
    )
    text = base.mark_text().encode(
        text="label:N", color=alt.condition("datum.value > 0.5", alt.value("white"), alt.value("black"))
    )
    step = {"width": alt.Step(64), "height": alt.Step(30)}
    return render(alt.layer(grid, text).properties(**step), chart_id, title)


def line_chart(
    chart_id: str,
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[Any, float]]]],
    *,
    x_title: str,
    y_title: str,
    series_title: str = "",
    y_format: Formatter = share_format,
    colors: Mapping[str, str] | None = None,
    palette: Sequence[str] = PALETTE,
    x_order: Sequence[Any] | None = None,
    rule_at: Any = None,
    rule_label: str = "",
) -> str:
    """One line per (name, [(x, y), ...]) series, each its own colour, with a point per value; y starts at 0.

    `x_order` makes x ordinal in that order (nights); otherwise x is a number. `rule_at` draws a labelled
    vertical rule at that x (the start of a recent window).
    """
    import altair as alt

    names = [name for name, _ in series]
    points = [
        {"series": name, "x": x, "y": y, "tip": f"{name}, {x}: {y_format(y)}"}
        for name, values in series
        for x, y in values
        if y is not None
    ]
    if x_order is None:
        x = alt.X("x:Q", axis=alt.Axis(title=x_title, tickMinStep=1, format="d"))
    else:
        x = alt.X(
            "x:O",
            scale=alt.Scale(domain=list(x_order)),
            axis=alt.Axis(title=x_title, labelAngle=-45, labelOverlap="greedy"),
        )
    color = alt.Color(
        "series:N",
        scale=alt.Scale(domain=names, range=colors_for(names, colors, palette)),
        legend=alt.Legend(title=series_title or None, labelLimit=0) if len(names) > 1 else None,
    )
    layers = [
        alt.Chart(_data(points))
        .mark_line(point=True)
        .encode(
            x,
            alt.Y("y:Q", axis=alt.Axis(format=AXIS_FORMATS.get(y_format, ",.0f"), title=y_title)),
            color=color,
            description=alt.Description("tip:N"),
        )
    ]
    if rule_at is not None:
        marker = _data([{"x": rule_at, "label": rule_label}])
        layers.append(alt.Chart(marker).mark_rule(strokeDash=[4, 4], color="#555").encode(x))
        layers.append(alt.Chart(marker).mark_text(align="left", dx=4, y=6, color="#555").encode(x, text="label:N"))
    return render(alt.layer(*layers).properties(width=560, height=220), chart_id, title)
