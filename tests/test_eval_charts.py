"""The Evaluate and explanation charts (ui/charts/evaluate.py): pure, so tested without Streamlit."""
import numpy as np

from ui.charts import evaluate as eval_charts


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
    assert fig.layout.yaxis.range[0] == 0.85 and "axis from 85%" in fig.layout.yaxis.title.text   # said, not silent


def test_per_class_figure_with_absent_digits():
    acc = np.full(10, np.nan)
    acc[7] = 0.5
    fig = eval_charts.per_class_figure(acc, np.eye(10, dtype=int)[7])
    assert list(fig.data[0].marker.color).index(eval_charts.HIGHLIGHT) == 7
    eval_charts.per_class_figure(np.full(10, np.nan), np.zeros(10))   # nothing at all: no crash


def test_attribution_image_is_red_where_positive_blue_where_negative_on_a_symmetric_scale():
    heat = np.zeros((28, 28))
    heat[3, 4], heat[10, 10] = -0.5, 0.2
    image, lim = eval_charts.attribution_image(heat, scale=9, legend=False)
    assert image.shape == (252, 252, 4) and image.dtype == np.uint8 and lim == 0.5
    assert (image[..., 3] == 255).all()                                     # opaque
    r, g, b = (image[..., c].astype(int) for c in range(3))
    assert np.array_equal(image[27:36, 36:45, :3], np.broadcast_to(image[27, 36, :3], (9, 9, 3)))   # crisp squares
    assert b[27, 36] > g[27, 36] > r[27, 36] and b[27, 36] - r[27, 36] > 80   # -0.5, the largest magnitude: deep blue
    assert r[90, 90] > b[90, 90] + 50                                       # +0.2: red ...
    assert r[90, 90] > 200 and g[90, 90] > 100                              # ... but pale: 0.2 of a symmetric 0.5
    white = image[0, 0, :3]
    assert (white > 240).all() and white.max() - white.min() < 5           # zero: near-white grey
    assert np.array_equal(eval_charts.attribution_image(-heat, legend=False)[0][90, 90, :3],
                          eval_charts.diverging_colors(-0.4))               # the sign flips the colour


def test_attribution_image_of_a_zero_map_is_white_and_the_legend_runs_from_blue_to_red():
    image, lim = eval_charts.attribution_image(np.zeros((28, 28)), scale=9)    # no division by 0
    assert lim == 1.0
    assert image.shape == (28 * 9 + 4 + 9, 252, 4)                          # map, transparent gap, colour bar
    assert (image[:252, :, :3] == image[0, 0, :3]).all() and (image[0, 0, :3] > 240).all()
    assert (image[252:256, :, 3] == 0).all() and (image[256:, :, 3] == 255).all()
    bar = image[-1, :, :3].astype(int)
    assert bar[0, 2] > bar[0, 0] + 50 and bar[-1, 0] > bar[-1, 2] + 50     # blue on the left, red on the right
    assert (bar[len(bar) // 2] > 230).all()                                 # white in the middle


def test_diverging_colors_clips_and_keeps_the_shape():
    colors = eval_charts.diverging_colors(np.array([[-5, -1], [1, 5]]))
    assert colors.shape == (2, 2, 3) and colors.dtype == np.uint8
    assert np.array_equal(colors[0, 0], colors[0, 1]) and np.array_equal(colors[1, 0], colors[1, 1])
    assert tuple(colors[0, 0]) == (5, 48, 97) and tuple(colors[1, 1]) == (103, 0, 31)


def test_attribution_image_draws_the_digits_outline_over_the_map():
    ink = np.zeros((28, 28))
    ink[10:18, 10:18] = 1.0
    image, _ = eval_charts.attribution_image(np.zeros((28, 28)), scale=9, legend=False, ink=ink)
    grey = (image[..., :3] == eval_charts.OUTLINE).all(axis=2)
    assert grey[90, 90:162].all() and grey[90:162, 90].all()              # the square's top and left edges
    assert not grey[100:150, 100:150].any() and not grey[:80].any()        # inside and outside: the map's colours
