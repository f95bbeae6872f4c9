"""The inline SVG charts: geometry follows the values, axes use round ticks, every label is escaped."""

from __future__ import annotations

import re
from html import unescape

import pytest

from arrears.report import charts


def rects(svg: str) -> dict[str, tuple[float, float]]:
    """Tooltip -> (y, height) of each drawn rectangle that has a tooltip."""
    return {
        unescape(title): (float(y), float(height))
        for y, height, title in re.findall(
            r'<rect [^>]*y="([\d.]+)"[^>]*height="([\d.]+)"[^>]*><title>([^<]*)</title>', svg
        )
    }


def labels(svg: str) -> list[str]:
    return [unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


@pytest.mark.parametrize(
    ("value", "whole", "expected"),
    [
        (3, True, 4),  # ticks 0 1 2 3 4, never 1.25
        (7, True, 8),
        (1, True, 4),
        (100, True, 100),
        (101, True, 200),
        (0.05, False, 0.08),
        (0.9, False, 1.0),
        (0, False, 1.0),
    ],
)
def test_axis_maximum_is_four_round_steps(value: float, whole: bool, expected: float) -> None:
    assert charts.axis_maximum(value, whole=whole) == pytest.approx(expected)


def test_bar_heights_are_proportional_to_values() -> None:
    svg = charts.bar_chart("c", "Loans", [("early", 3), ("mid", 1), ("late", 0)])
    drawn = rects(svg)
    assert drawn["early: 3"][1] == pytest.approx(3 * drawn["mid: 1"][1])
    assert not any(title.startswith("late") for title in drawn)  # a zero bar is not drawn...
    assert "late" in labels(svg)  # ...but its category is still labelled
    assert {"0", "1", "2", "3", "4"} <= set(labels(svg))  # the count axis


def test_stacked_segments_sit_on_each_other_and_add_up() -> None:
    svg = charts.stacked_bar_chart("c", "Queue", ["early", "mid"], [("M1", [2, 0]), ("M2", [1, 4])])
    drawn = rects(svg)
    m1_y, m1_height = drawn["early, M1: 2"]
    m2_y, m2_height = drawn["early, M2: 1"]
    assert m2_y + m2_height == pytest.approx(m1_y)  # M2 stacked directly on top of M1
    assert m1_height == pytest.approx(2 * m2_height)
    assert drawn["mid, M2: 4"][1] == pytest.approx(m1_height + m2_height + m2_height)
    assert {"early", "mid", "M1", "M2", "3", "4"} <= set(labels(svg))  # categories, legend, totals


def test_labels_and_titles_are_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    svg = charts.stacked_bar_chart("c", hostile, [hostile], [(hostile, [1])])
    assert "<script" not in svg
    assert hostile in labels(svg)
    assert 'aria-label="&lt;script&gt;' in svg


def test_heatmap_shades_larger_shares_darker_and_leaves_missing_cells_blank() -> None:
    svg = charts.heatmap(
        "h",
        "Roll",
        ["M0", "M1"],
        ["M0", "M1"],
        {("M0", "M0"): 0.9, ("M0", "M1"): 0.1, ("M1", "M0"): 0.3},
        row_title="from",
        column_title="to",
    )
    fills = dict(re.findall(r'fill="([^"]+)" stroke="#fff"><title>([^<]*)</title>', svg))
    by_cell = {unescape(title): fill for fill, title in fills.items()}
    red = {cell: int(fill[4:].split(",")[0]) for cell, fill in by_cell.items() if fill.startswith("rgb(")}
    assert red["M0 -> M0: 90.0%"] < red["M1 -> M0: 30.0%"] < red["M0 -> M1: 10.0%"]
    assert by_cell["M1 -> M1: none"] == "#fafafa"
    assert {"90.0%", "10.0%", "30.0%"} <= set(labels(svg))


def test_line_chart_draws_one_line_per_series_with_a_point_per_value() -> None:
    svg = charts.line_chart(
        "l",
        "Vintage",
        [("2024-01", [(1, 0.01), (2, 0.05), (3, 0.07)]), ("2024-02", [(1, 0.02)])],
        x_title="months on book",
    )
    assert svg.count("<polyline") == 2
    assert svg.count("<circle") == 4
    assert {"2024-01", "2024-02", "months on book", "1", "3"} <= set(labels(svg))
    first_line = re.search(r'<polyline points="([^"]+)"', svg)
    assert first_line is not None
    points = first_line.group(1).split()
    heights = [float(point.split(",")[1]) for point in points]
    assert heights[0] > heights[1] > heights[2]  # rising shares are drawn higher (smaller y)
