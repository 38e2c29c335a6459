"""AppTest tests: every page renders without an exception; the sidebar trains, stops, saves; bad input
shows an error, never a traceback. Fixtures (a small model, a mock experiment.json): tests/conftest.py."""
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from helpers import APP, TIMEOUT, layer_charts, start_training, until, wait_for_training


@pytest.fixture
def at(app_env):
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def test_draw_page_prompts_for_a_drawing(at):
    assert not at.exception
    assert at.title[0].value == "Draw a digit"
    assert any("Draw a digit" in i.value for i in at.info)     # the canvas starts empty: a prompt, no guess
    assert not at.metric
    assert at.session_state["model_key"] == "file:default"


@pytest.mark.parametrize("page, title", [("app_pages/inside.py", "Inside the network"),
                                         ("app_pages/compare.py", "Compare configurations")])
def test_every_page_renders(at, page, title):
    at.switch_page(page).run()
    assert not at.exception
    assert at.title[0].value == title


def test_inside_page_shows_every_layer_for_a_test_image(at):
    at.switch_page("app_pages/inside.py").run()
    assert at.radio[0].value == "An MNIST test image"                 # nothing drawn yet
    at.number_input[0].set_value(7).run()
    assert not at.exception
    # c8p: one convolution, one pooling -> two feature-map charts (+ one filter chart)
    assert at.metric[0].label == "Prediction"
    assert layer_charts(at) == ["maps_0", "maps_1", "filters_0"]


def test_compare_page_switches_protocol(at):
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert at.segmented_control[0].value == "full"
    assert len(at.dataframe[0].value) == 2                            # c8p and c16pc16
    at.segmented_control[0].set_value("origin").run()
    assert not at.exception
    assert any("single point" in c.value for c in at.caption)


def test_compare_page_without_experiment_results(app_env, tmp_path, monkeypatch):
    (tmp_path / "default.npz").write_bytes((app_env / "default.npz").read_bytes())
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert any("experiment.json" in i.value for i in at.info)


@pytest.mark.parametrize("arch", ["c8x", "c0", "cp", "c16pc16pc16pc16"])
def test_invalid_architecture_shows_an_error(at, arch):
    start_training(at, arch_text=arch)
    assert not at.exception
    assert any("Architecture" in e.value and "invalid architecture" in e.value for e in at.sidebar.error)
    assert "job" not in at.session_state


def test_invalid_settings_show_an_error(at):
    lr = next(n for n in at.sidebar.number_input if n.label == "Learning rate")
    lr.set_value(0.0)
    start_training(at)
    assert not at.exception
    assert any("learning rate" in e.value for e in at.sidebar.error)


def test_training_in_the_sidebar_adds_a_model(at):
    start_training(at, arch_text="c4p", n_train=300, epochs=1)
    assert not at.exception
    at = wait_for_training(at)
    assert not at.exception
    assert any("c4p-1: done" in s.label for s in at.sidebar.status)
    models = at.session_state["session_models"]
    assert list(models) == ["c4p-1"] and len(models["c4p-1"].history) == 1
    # the new model is offered, not switched to: the pages keep the model in use until "Use it"
    assert at.session_state["model_key"] == "file:default"
    assert any("c4p-1 is ready" in m.value for m in at.sidebar.markdown)
    next(b for b in at.sidebar.button if b.label == "Use it").click().run()
    assert at.session_state["model_key"] == "session:c4p-1"
    assert not any(b.label == "Use it" for b in at.sidebar.button)
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert "c4p-1 (yours)" in list(at.dataframe[0].value["configuration"])


def test_stop_keeps_the_model_trained_so_far(at):
    start_training(at, arch_text="c8p", n_train=1000, epochs=50)
    assert not at.exception
    job = at.session_state["job"]
    deadline = time.monotonic() + 30
    while not job.snapshot()["batch"] and time.monotonic() < deadline:
        time.sleep(0.05)
    stop = next(b for b in at.sidebar.button if b.label == "Stop")
    stop.click().run()
    assert until(lambda: job.done, 30)          # how fast: python benchmarks/stop_latency.py
    at = wait_for_training(at)
    assert not at.exception
    model = at.session_state["session_models"]["c8p-1"]
    assert 1 <= len(model.history) < 50 and job.snapshot()["status"] == "stopped"
    assert any("c8p-1: stopped" in s.label for s in at.sidebar.status)


def test_save_refuses_bad_and_shipped_names_and_saves_a_good_one(at, app_env):
    start_training(at, arch_text="c4p", n_train=200)
    at = wait_for_training(at)

    def save(name):
        next(t for t in at.sidebar.text_input if t.label == "Save as").input(name)
        next(b for b in at.sidebar.button if b.label == "Save to weights/").click()
        return at.run()

    shipped = (app_env / "default.npz").read_bytes()
    for bad in ["../evil", "a/b", "", "x" * 65, "default", "c16pc16", "has space"]:
        save(bad)
        assert not at.exception
        assert any("Not saved" in e.value for e in at.sidebar.error), bad
    assert (app_env / "default.npz").read_bytes() == shipped
    assert not (app_env.parent / "evil.npz").exists()
    save("my-model_1")
    assert not at.exception, at.exception
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    assert (app_env / "my-model_1.npz").exists()
    save("my-model_1")                                                 # saved here: may be replaced
    assert any("Saved" in s.value for s in at.sidebar.success)
    (app_env / "my-model_1.npz").unlink()
    assert at.sidebar.get("download_button")


def test_missing_mnist_offers_the_subset(at, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))      # an immediate MnistError, no download
    start_training(at, arch_text="c4p", n_train=300, source="MNIST (60,000 images)")
    assert not at.exception
    assert any("MNIST is not available" in e.value for e in at.sidebar.error)
    next(b for b in at.sidebar.button if b.label == "Train on the committed subset instead").click()
    at = wait_for_training(at.run())
    assert not at.exception
    assert "c4p-1" in at.session_state["session_models"]


def test_inside_page_switches_between_the_subset_and_full_mnist(at):
    at.switch_page("app_pages/inside.py").run()
    at.radio[0].set_value("An MNIST test image").run()
    at.toggle[0].set_value(True).run()                                # MNIST_DIR: ../shared/mnist (conftest)
    assert not at.exception
    assert at.number_input[0].label == "Test image (0 to 9999)"
    at.number_input[0].set_value(9000).run()
    at.toggle[0].set_value(False).run()                               # back to 2,000 images: index out of range
    assert not at.exception
    assert at.number_input[0].label == "Test image (0 to 1999)"
    assert at.number_input[0].value <= 1999


def test_inside_page_without_mnist_falls_back_to_the_subset(at, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))
    st.cache_resource.clear()                                         # forget test images cached by other tests
    at.switch_page("app_pages/inside.py").run()
    at.radio[0].set_value("An MNIST test image").run()
    at.toggle[0].set_value(True).run()
    assert not at.exception
    assert any("not available" in w.value for w in at.warning)
    assert at.number_input[0].label == "Test image (0 to 1999)"
    at.run()
    assert not at.exception and at.toggle[0].disabled                 # no new attempt on every rerun


def test_divergence_is_reported_and_the_model_before_it_kept(at, monkeypatch):
    import cnn

    def diverging_train(model, x_train, y_train, x_test, y_test, config, callback=None, stop=None):
        record = {"epoch": 1, "train_loss": 2.0, "train_acc": 0.3, "test_loss": 2.1, "test_acc": 0.3,
                  "seconds": 0.1, "complete": True}
        model.history.append(record)
        callback({"kind": "epoch", **record})
        raise cnn.DivergenceError("the loss became nan in epoch 2: try a smaller learning rate")

    monkeypatch.setattr(cnn, "train", diverging_train)
    start_training(at, arch_text="c4p")
    at = wait_for_training(at)
    assert not at.exception
    assert any("smaller learning rate" in e.value for e in at.sidebar.error)
    assert any("c4p-1: failed" in s.label for s in at.sidebar.status)
    assert "c4p-1" in at.session_state["session_models"]             # the weights from before are kept


def test_training_job_without_streamlit(monkeypatch):
    """The thread wrapper alone: progress snapshots, points every few batches, stop."""
    import cnn
    from cnn.files.mnist import load_subset
    from ui.core.jobs import TrainingJob

    x_train, y_train, x_test, y_test = load_subset()
    config = cnn.TrainConfig(epochs=3, n_train=1000, batch_size=10)
    job = TrainingJob("t", cnn.build_model("c4p"), (x_train, y_train, x_test[:100], y_test[:100]), config).start()
    assert job.wait(timeout=60)
    s = job.snapshot()
    assert s["status"] == "finished" and s["fraction"] == 1.0 and len(s["epochs"]) == 3
    assert 3 <= len(s["points"]) <= 3 * 51 and s["points"][-1][0] == 3.0
    stopped = TrainingJob("s", cnn.build_model("c4p"), (x_train, y_train, x_test, y_test),
                          cnn.TrainConfig(epochs=100, n_train=1000, batch_size=1))
    stopped.stop()                                                    # before it starts: stops after one batch
    stopped.start()
    assert stopped.wait(timeout=30) and stopped.snapshot()["status"] == "stopped"
    assert len(stopped.model.history) == 1 and stopped.model.history[0]["complete"] is False
