"""The teaching views' pure chart functions (ui/charts/teach.py): what each figure holds."""
import numpy as np

from ui.charts import teach as teach_charts


def test_a_pick_map_has_one_clickable_marker_per_pixel_and_outlines_the_choice():
    z = np.arange(12.0).reshape(3, 4)
    fig = teach_charts.pick_map_figure(z, selected=(2, 1), box=(0, 1, 2, 2))
    markers = fig.data[1]
    assert len(markers.x) == 12 and list(markers.x[:4]) == [0, 1, 2, 3] and list(markers.y[4:8]) == [1, 1, 1, 1]
    assert list(markers.customdata) == list(z.ravel())                   # the hover value of each pixel
    boxes = [(s.x0, s.x1, s.y0, s.y1) for s in fig.layout.shapes]
    assert (0.5, 2.5, -0.5, 1.5) in boxes and (0.5, 1.5, 1.5, 2.5) in boxes


def test_numbers_figures_show_every_number_and_the_winner():
    window = np.array([[0.5, 2.0], [-1.0, 2.0]])
    fig = teach_charts.numbers_figure([window], ["window"], highlight=(0, 1))
    np.testing.assert_array_equal(np.array(fig.data[0].text, dtype=float), window)
    assert len(fig.layout.shapes) == 1


def test_the_reliability_diagram_draws_both_curves_and_the_diagonal():
    bins = [{"confidence": 0.95, "accuracy": 0.9, "count": 500}]
    fig = teach_charts.reliability_figure(bins, [{"confidence": 0.9, "accuracy": 0.9, "count": 500}])
    assert [t.name for t in fig.data] == ["perfect calibration", "raw softmax", "calibrated"]
    assert list(fig.data[1].y) == [0.9]


def test_reliability_bins_of_few_images_are_hollow_faint_and_carry_their_count():
    bins = [{"confidence": 0.95, "accuracy": 0.96, "count": 900}, {"confidence": 0.35, "accuracy": 0.0, "count": 3}]
    fig = teach_charts.reliability_figure(bins)
    full, few = fig.data[1], fig.data[2]
    assert list(full.x) == [0.95] and full.marker.symbol == "circle"
    assert list(few.x) == [0.35] and few.marker.symbol == "circle-open" and list(few.text) == ["3"]
    assert few.marker.opacity < full.marker.opacity and "under 30 images" in few.name


def test_weight_tiles_are_laid_out_in_rows_of_eight_on_one_symmetric_scale():
    tiles = np.random.default_rng(0).normal(size=(3, 3, 12))
    fig = teach_charts.weights_grid_figure(tiles)
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (2 * 4 - 1, 8 * 4 - 1)                              # 2 rows of 8 tiles, 1-pixel gaps
    np.testing.assert_array_equal(z[4:7, 12:15], tiles[:, :, 11])        # tile 11: row 1, column 3
    assert fig.data[0].zmin == -fig.data[0].zmax == -np.abs(tiles).max()
