"""The report's charts (altair -> vl-convert SVG): geometry follows the values, every series its own colour,
every chart a title, long labels readable, tooltips as SVG <title>, every label escaped, nothing external."""

from __future__ import annotations

import re
from html import unescape

import pytest

from arrears.report import charts


def bars(svg: str) -> dict[str, tuple[float, float, float, float]]:
    """Tooltip -> (x, y, width, height) of each bar (Vega draws a bar as the path 'Mx,y h<w> v<h> h-<w> Z')."""
    return {
        unescape(title): (float(x), float(y), float(width), float(height))
        for x, y, width, height, title in re.findall(
            r'<path [^>]*d="M([-\d.]+),([-\d.]+)h([-\d.]+)v([-\d.]+)h[^"]*"[^>]*><title>([^<]*)</title>', svg
        )
    }


def labels(svg: str) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def font_sizes(svg: str, text: str) -> list[float]:
    return [float(size) for size in re.findall(rf'font-size="([\d.]+)px"[^>]*>{re.escape(text)}</text>', svg)]


def test_bar_heights_are_proportional_to_values() -> None:
    svg = charts.bar_chart(
        "c", "Loans", [("early", 3), ("mid", 1), ("late", 0)], category_title="stage", value_title="loans"
    )
    drawn = bars(svg)
    assert drawn["early: 3"][3] == pytest.approx(3 * drawn["mid: 1"][3])
    assert not any(title.startswith("late") for title in drawn)  # a zero bar is not drawn...
    assert "late" in labels(svg)  # ...but its category is still labelled
    assert {"early", "mid", "3", "1", "stage", "loans", "Loans"} <= set(labels(svg))  # labels, totals, axes, title


def test_stacked_segments_sit_on_each_other_and_add_up() -> None:
    svg = charts.stacked_bar_chart(
        "c", "Queue", ["early", "mid"], [("M1", [2, 0]), ("M2", [1, 4])], category_title="team", value_title="n"
    )
    drawn = bars(svg)
    _, m1_y, _, m1_height = drawn["early, M1: 2"]
    _, m2_y, _, m2_height = drawn["early, M2: 1"]
    assert m2_y + m2_height == pytest.approx(m1_y)  # M2 stacked directly on top of M1
    assert m1_height == pytest.approx(2 * m2_height)
    assert drawn["mid, M2: 4"][3] == pytest.approx(m1_height + m2_height + m2_height)
    assert {"early", "mid", "M1", "M2", "3", "4"} <= set(labels(svg))  # categories, legend, totals


def test_categories_keep_the_given_order() -> None:
    order = ["predue", "early", "mid", "field", "agency:acme", "legal"]
    svg = charts.bar_chart("c", "Teams", [(team, 1) for team in order], category_title="team", value_title="n")
    drawn = bars(svg)
    xs = [drawn[f"{team}: 1"][0] for team in order]
    assert xs == sorted(xs)  # left to right in collection order, not alphabetically


def test_long_labels_turn_bars_on_their_side_and_stay_full_size() -> None:
    # Suite names (25 characters and more) under upright bars were squeezed to a few pixels.
    suites = ["fct_loan_delinquency_daily", "fct_work_queue", "export_early", "export_legal"]
    svg = charts.stacked_bar_chart(
        "dq",
        "Checks",
        suites,
        [("passed", [3, 2, 1, 1]), ("failed", [1, 0, 0, 0])],
        category_title="suite",
        value_title="n",
    )
    drawn = bars(svg)
    assert drawn["fct_loan_delinquency_daily, passed: 3"][2] == pytest.approx(3 * drawn["export_early, passed: 1"][2])
    for suite in suites:
        assert suite in labels(svg)  # whole, not cut with an ellipsis
        assert all(size >= 10 for size in font_sizes(svg, suite))


def test_labels_and_titles_are_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    svg = charts.stacked_bar_chart("c", hostile, [hostile], [(hostile, [1])], category_title="t", value_title="v")
    assert "<script" not in svg
    assert hostile in labels(svg)
    assert 'aria-label="&lt;script&gt;' in svg


def test_heatmap_shades_larger_shares_darker_and_leaves_missing_cells_blank() -> None:
    svg = charts.heatmap(
        "h",
        "Roll",
        ["M0", "M1"],
        ["M0", "M1", "M2"],
        {("M0", "M0"): 0.9, ("M0", "M1"): 0.1, ("M1", "M0"): 0.3},
        row_title="from",
        column_title="to",
    )
    reds = re.findall(r'fill="rgb\((\d+), \d+, \d+\)"[^>]*><title>([^<]*)</title>', svg)
    red = {unescape(title): int(value) for value, title in reds}
    assert red["M0 -> M0: 90.0%"] < red["M1 -> M0: 30.0%"] < red["M0 -> M1: 10.0%"]
    assert len(red) == 3  # no cell drawn where there is no value
    assert {"90.0%", "10.0%", "30.0%", "M2"} <= set(labels(svg))  # an empty column still has its heading


def test_line_chart_gives_each_series_its_own_colour() -> None:
    cohorts = [f"2024-{month:02d}" for month in range(1, 13)]
    palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"] + [
        "#8C564B",
        "#7F7F7F",
        "#BCBD22",
        "#17BECF",
    ]
    svg = charts.line_chart(
        "l",
        "Vintage",
        [(cohort, [(1, 0.01 * index), (2, 0.02 * index)]) for index, cohort in enumerate(cohorts, 1)],
        x_title="months on book",
        y_title="share",
        palette=palette,
    )
    strokes = re.findall(r'aria-roledescription="line mark" d="[^"]*" stroke="([^"]+)"', svg)
    assert len(strokes) == 12
    assert len(set(strokes)) == 12  # 12 cohorts, 12 colours: none reused
    assert {"Vintage", "months on book", "2024-01", "2024-12"} <= set(labels(svg))


def test_charts_are_inline_svg_with_a_title_and_nothing_external() -> None:
    svg = charts.bar_chart("c", "Loans by stage", [("early", 3)], category_title="stage", value_title="loans")
    assert svg.startswith('<svg data-chart="c" role="img" aria-label="Loans by stage"')
    assert "<title>Loans by stage</title>" in svg
    assert not re.search(r"<(script|image|foreignObject)\b|https?://(?!www\.w3\.org)", svg)
