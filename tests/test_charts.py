"""The chart functions and results tables: pure, so tested without Streamlit."""
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from helpers import mock_experiment
from ui.charts import basic as charts
from ui.charts import results


def bar_styles(html):
    """{digit: (probability, the bar's inline style)} of every bar in probability_bars' HTML."""
    found = {}

    class Bars(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if "data-p" in a:
                found[int(a["data-digit"])] = (float(a["data-p"]), a["style"])
    Bars().feed(html)
    return found


def test_probability_bars_has_ten_bars_on_a_fixed_scale_and_the_best_highlighted():
    probs = np.full(10, 0.02)
    probs[7] = 0.82
    bars = bar_styles(charts.probability_bars(probs))
    assert sorted(bars) == list(range(10))
    assert np.allclose([bars[d][0] for d in range(10)], probs)
    heights = {d: float(re.search(r"(?<![-\w])height:([\d.]+)%", style).group(1)) for d, (_, style) in bars.items()}
    assert heights[7] == pytest.approx(82) and heights[0] == pytest.approx(2)     # 0-100%: the scale is fixed
    colors = [re.search(r"background:(#\w+)", style).group(1) for _, style in bars.values()]
    assert colors[7] == charts.HIGHLIGHT and colors.count(charts.HIGHLIGHT) == 1
    assert 'title="digit 7: 82.0%"' in charts.probability_bars(probs)               # the exact value on hover


def test_mosaic_places_every_map_with_blank_gaps():
    maps = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)            # (H, W, C)
    z = charts.mosaic(maps, ncols=3)
    assert z.shape == (2 * 2 + 1, 3 * 3 + 2)                            # 2 rows x 3 columns of 2x3, 1-pixel gaps
    assert np.array_equal(z[0:2, 4:7], maps[:, :, 1])
    assert np.array_equal(z[3:5, 0:3], maps[:, :, 3])
    assert np.isnan(z[2]).all() and np.isnan(z[3:5, 8:]).all()          # gap row, empty last tile


@pytest.mark.parametrize("shape", [(26, 26, 1), (13, 13, 16), (11, 11, 3), (1, 1, 64)])
def test_feature_map_figure_is_one_grey_image_scaled_per_channel(shape):
    maps = np.random.default_rng(0).normal(size=shape)
    fig = charts.feature_map_figure(maps)
    assert len(fig.data) == 1
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.nanmin(z) >= 0 and np.nanmax(z) <= 1
    assert np.isfinite(z).sum() == maps.size


def test_filter_figure_of_a_deeper_layer_shows_one_filter_over_its_input_channels_with_a_colour_bar():
    w = np.random.default_rng(0).normal(size=(3, 3, 4, 6))              # 6 filters over 4 channels
    fig = charts.filter_figure(w, out=1)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (3, 4 * 4 - 1)                                    # one row: filter 1's four slices
    assert np.array_equal(z[:, 8:11], w[:, :, 2, 1])                    # its slice over input channel 2
    lim = np.abs(w).max()
    assert fig.layout.coloraxis.cmin == -lim and fig.layout.coloraxis.cmax == lim    # the layer's one scale
    assert fig.layout.coloraxis.showscale


def test_filter_figure_for_a_first_layer_puts_filters_in_rows_of_sixteen():
    w = np.ones((3, 3, 1, 32))
    z = np.asarray(charts.filter_figure(w).data[0].z, dtype=float)
    assert z.shape == (2 * 4 - 1, 16 * 4 - 1)                           # 32 filters: two rows of 16, as captioned


def test_training_figure_has_running_loss_and_epoch_curves():
    epochs = [{"epoch": 1, "test_loss": 0.3, "train_acc": 0.9, "test_acc": 0.91},
              {"epoch": 2, "test_loss": 0.2, "train_acc": 0.95, "test_acc": 0.94}]
    fig = charts.training_figure([(0.5, 1.0), (1.0, 0.5), (1.5, 0.4)], epochs)
    names = [t.name for t in fig.data]
    assert names == ["training loss (running)", "test loss", "training accuracy", "test accuracy"]
    assert list(fig.data[0].x) == [0.5, 1.0, 1.5] and list(fig.data[3].y) == [0.91, 0.94]
    assert len(charts.training_figure([], []).data) == 3                 # nothing yet: empty curves, no error


@pytest.fixture
def full_frame(tmp_path):
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(mock_experiment()))
    return results.runs_frame(results.read_experiment(path)["full"]["runs"])


def test_results_aggregate_over_seeds(full_frame):
    assert len(full_frame) == 2 * 3 * 3                                  # configs x seeds x epochs
    per_epoch = results.per_epoch(full_frame)
    row = per_epoch[(per_epoch.config == "c8p") & (per_epoch.epoch == 2)].iloc[0]
    values = full_frame[(full_frame.config == "c8p") & (full_frame.epoch == 2)]["test_acc"]
    assert row.test_acc_mean == pytest.approx(values.mean()) and row.test_acc_min == values.min()
    summary = results.summary(full_frame)
    assert list(summary.config) == ["c8p", "c16pc16"] and list(summary.seeds) == [3, 3]
    assert list(summary.epochs) == [3, 3]
    table = results.table(summary)
    assert list(table.columns[:4]) == ["configuration", "parameters", "seeds", "epochs"]


def test_curves_figure_draws_a_mean_line_and_a_band_per_configuration(full_frame):
    fig = charts.curves_figure(results.per_epoch(full_frame), "test_acc")
    lines = [t for t in fig.data if t.fill != "toself"]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert [t.name for t in lines] == ["c8p", "c16pc16"] and len(bands) == 2
    assert len(bands[0].x) == 2 * 3                                      # there and back along 3 epochs
    with_train = charts.curves_figure(results.per_epoch(full_frame), "test_loss", show_train=True)
    assert sum(t.line.dash == "dot" for t in with_train.data) == 2


def test_final_bars_figure_has_accuracy_and_loss_with_error_bars(full_frame):
    fig = charts.final_bars_figure(results.summary(full_frame))
    assert [t.name for t in fig.data] == ["training accuracy", "test accuracy", "test loss"]
    assert all(list(t.x) == ["c8p", "c16pc16"] for t in fig.data)
    assert all(t.error_y.array is not None for t in fig.data)


def test_read_experiment_rejects_malformed_files(tmp_path):
    bad = tmp_path / "experiment.json"
    for text in ["{not json", "[]", '{"format": 1}']:
        bad.write_text(text)
        with pytest.raises(results.ResultsError):
            results.read_experiment(bad)


def test_upscale_gives_crisp_uint8_pixels():
    img = charts.upscale(np.array([[0.0, 1.0]]), 3)
    assert img.dtype == np.uint8 and img.shape == (3, 6) and img[:, :3].max() == 0 and img[:, 3:].min() == 255


def test_steps_strip_shows_the_three_steps_at_one_height_with_transparent_gaps():
    cropped = np.zeros((100, 50))
    cropped[:, 20:30] = 1                                               # a tall stroke, as on the canvas
    scaled, centred = np.full((20, 10), 0.5), np.zeros((28, 28))
    img = charts.steps_strip({"cropped": cropped, "scaled": scaled, "centred": centred}, height=84, gap=10)
    assert img.dtype == np.uint8 and img.shape == (84, 42 + 10 + 42 + 10 + 84, 4)
    gray, alpha = img[..., 0], img[..., 3]
    assert (alpha[:, 42:52] == 0).all() and (alpha[:, 94:104] == 0).all() and (alpha[:, :42] == 255).all()
    assert gray[:, 17:25].min() == 255 and gray[:, :16].max() == 0   # the stroke, crisp, at the same place
    assert (gray[:, 52:94] == 127).all() and (gray[:, 104:] == 0).all()


def test_figures_html_embeds_each_image_as_a_png_that_decodes_to_the_same_pixels():
    import base64
    import io

    from PIL import Image
    rgba = np.random.default_rng(0).integers(0, 256, (5, 7, 4), dtype=np.uint8)
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    html = charts.figures_html([(rgba, "a <b> & c", "first"), (gray, "gray", "second")], caption="<b>both</b>")
    found = []

    class Figures(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "figure":
                found.append([a["data-name"]])
            elif tag == "img":
                png = base64.b64decode(a["src"].removeprefix("data:image/png;base64,"))
                found[-1] += [np.asarray(Image.open(io.BytesIO(png))), a["alt"]]
    Figures().feed(html)
    assert [(name, alt) for name, _, alt in found] == [("first", "a <b> & c"), ("second", "gray")]
    assert np.array_equal(found[0][1], rgba) and np.array_equal(found[1][1], gray)
    assert "a &lt;b&gt; &amp; c</figcaption>" in html and html.endswith("<b>both</b></div>")


def test_final_bars_zoom_in_on_high_accuracies_but_never_below_zero(full_frame):
    summary = results.summary(full_frame)
    low, high = charts.final_bars_figure(summary).layout.yaxis.range
    assert high == 1 and 0 < low <= summary["test_acc_min"].min() - 0.03
    summary[["train_acc_min", "test_acc_min"]] = 0.01
    assert charts.final_bars_figure(summary).layout.yaxis.range[0] == 0


def test_malformed_runs_are_skipped_not_fatal():
    runs = [{"arch": "c8p", "seed": 0, "params": 10, "history": [
                {"epoch": 1, "train_loss": 1, "train_acc": 0.5, "test_loss": "oops", "test_acc": 0.5, "seconds": 1},
                {"epoch": 2, "train_loss": 1, "train_acc": 0.6, "test_loss": 0.9, "test_acc": 0.6, "seconds": 1},
                "not a record"]},
            {"arch": "c16p", "history": None}, "not a run"]
    frame = results.runs_frame(runs)
    assert list(frame.epoch) == [2]
    assert len(results.summary(frame)) == 1
