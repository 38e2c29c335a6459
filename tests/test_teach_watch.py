"""Watch it learn: the snapshot recorder keeps a bounded number of snapshots of any architecture's first layer
and probe feature maps during cnn.train, with the accuracy at each; the Inside page steps through them."""
import numpy as np
import pytest

import cnn
from cnn.files.mnist import load_subset
from cnn.teach.snapshots import CHANNELS, MOST, Snapshots
from helpers import inside_view, new_app, start_training, wait_for_training


@pytest.fixture(scope="module")
def data():
    return load_subset()


def run(arch, data, epochs=2, batch_size=16):
    x_train, y_train, x_test, y_test = data
    model = cnn.build_model(arch, seed=0)
    recorder = Snapshots(model, x_test[0].astype(np.float32) / 255, x_test, y_test, epochs=epochs)
    cnn.train(model, x_train, y_train, x_test[:100], y_test[:100],
              cnn.TrainConfig(epochs=epochs, batch_size=batch_size, n_train=1000, seed=0), callback=recorder)
    return model, recorder.items


def test_snapshots_span_the_run_bounded_in_number_and_size(data):
    model, items = run("c32p", data)                                  # 126 steps: more than MOST snapshots
    assert 2 < len(items) <= MOST
    steps = [s["step"] for s in items]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == 2 * -(-1000 // 16)   # the last step of the run
    assert items[-1]["accuracy"] > items[0]["accuracy"] + 0.3           # it learned, as measured at each snapshot
    kind, weights = items[-1]["weights"]
    assert kind == "filters" and weights.shape == (3, 3, 1, CHANNELS)
    np.testing.assert_array_equal(weights, model.layers[0].params["W"][:, :, :, :CHANNELS])   # the final weights
    assert not np.array_equal(items[0]["weights"][1], weights)          # copies, not views of changing arrays
    assert items[-1]["maps"].shape == (26, 26, CHANNELS)
    assert sum(s["maps"].nbytes + s["weights"][1].nbytes for s in items) < 2_000_000


@pytest.mark.parametrize("arch, kind, shape", [("d24", "templates", (28, 28, CHANNELS)),
                                               ("pc4", "filters", (3, 3, 1, 4)), ("ppd8", "templates", (7, 7, 8))])
def test_any_architecture_is_watched(arch, kind, shape, data):
    _, items = run(arch, data, epochs=1, batch_size=64)
    assert items[-1]["weights"][0] == kind and items[-1]["weights"][1].shape == shape


def test_the_inside_page_steps_through_a_sidebar_runs_snapshots(app_env):
    at = new_app()
    inside_view(at.switch_page("app_pages/inside.py").run(), "Watch it learn")
    assert any("Train a model in the sidebar" in i.value for i in at.info)
    start_training(at, "c4p", n_train=300, epochs=2)
    wait_for_training(at)
    assert not at.exception
    slider = at.slider(key="watch_snapshot")
    assert slider.max >= 2 and slider.value == slider.max
    last = {m.label: m.value for m in at.metric}
    slider.set_value(0).run()
    first = {m.label: m.value for m in at.metric}
    assert first["Training step"] == "0" and last["Training step"] != "0"
    assert not at.exception


def test_watch_it_learn_probes_the_students_drawing_labels_its_accuracy_and_offers_a_watchable_run(app_env, data):
    at = new_app()
    at = inside_view(at.switch_page("app_pages/inside.py").run(), "Watch it learn")
    next(b for b in at.button if b.label == "Set up a run long enough to watch").click().run()
    number = {n.label: n.value for n in at.sidebar.number_input}
    assert (number["Training images"], number["Epochs"]) == (10000, 3)
    assert at.sidebar.selectbox(key="sidebar_preset").value == "c16pc16"
    drawing = data[2][1].astype(np.float32) / 255                     # as if drawn on the Draw page
    at.session_state["drawing"] = drawing
    start_training(at, "c4p", n_train=300, epochs=1)
    wait_for_training(at)
    assert not at.exception
    np.testing.assert_array_equal(at.session_state["job"].recorder.probe, drawing)
    assert any("Feature maps of your drawing" in m.value for m in at.markdown)
    assert any(m.label == "Accuracy on 100 test images" for m in at.metric)
