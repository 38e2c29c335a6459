"""The Evaluate and explanation charts (ui/eval_charts.py): pure, so tested without Streamlit."""
import numpy as np

from ui import eval_charts


def test_confusion_figure_is_a_heatmap_with_a_selectable_marker_on_every_cell():
    matrix = np.arange(100).reshape(10, 10)
    fig = eval_charts.confusion_figure(matrix)
    heat, cells = fig.data
    assert heat.type == "heatmap" and np.array_equal(np.asarray(heat.text), matrix)
    assert heat.hoverinfo == "skip"                       # hover and selection go to the markers
    assert cells.type == "scatter" and len(cells.x) == 100
    k = 37                                                # true 3, predicted 7
    assert (cells.y[k], cells.x[k]) == (3, 7) and list(cells.customdata[k]) == [3, 7, 37]
    assert tuple(fig.layout.yaxis.range) == (9.5, -0.5)   # digit 0 at the top, as in a table


def test_selected_cell_reads_the_selection_and_ignores_anything_else():
    assert eval_charts.selected_cell([{"x": 7, "y": 3, "point_index": 37}]) == (3, 7)
    assert eval_charts.selected_cell([{"x": 2.0, "y": 9.0}]) == (9, 2)
    for points in (None, [], [{}], [{"x": "a", "y": 1}], [{"x": 12, "y": 1}], ["junk"]):
        assert eval_charts.selected_cell(points) is None


def test_per_class_figure_highlights_the_weakest_digit():
    acc = np.linspace(0.99, 0.95, 10)
    acc[4] = 0.9
    fig = eval_charts.per_class_figure(acc, np.full(10, 100))
    colors = list(fig.data[0].marker.color)
    assert colors[4] == eval_charts.HIGHLIGHT and colors.count(eval_charts.HIGHLIGHT) == 1
    assert fig.layout.yaxis.range[1] == 1


def test_per_class_figure_with_absent_digits():
    acc = np.full(10, np.nan)
    acc[7] = 0.5
    fig = eval_charts.per_class_figure(acc, np.eye(10, dtype=int)[7])
    assert list(fig.data[0].marker.color).index(eval_charts.HIGHLIGHT) == 7
    eval_charts.per_class_figure(np.full(10, np.nan), np.zeros(10))   # nothing at all: no crash


def test_attribution_figure_has_a_symmetric_colour_scale():
    heat = np.zeros((28, 28))
    heat[3, 4], heat[10, 10] = -0.5, 0.2
    fig = eval_charts.attribution_figure(heat, "Saliency for 7", "gradient")
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-0.5, 0.5)
    eval_charts.attribution_figure(np.zeros((28, 28)), "flat", "gradient")          # all zero: no division by 0
