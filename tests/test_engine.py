"""The engine's contract: grammar, prediction, training, weights files, command lines."""
import ast
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import cnn
from cnn.files.weights import to_bytes
from cnn.studies.origin import CONFIGURATIONS as ORIGIN_CONFIGS
from helpers import BAD_WEIGHTS, GOOD_WEIGHTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("arch", ORIGIN_CONFIGS + ["c32pc64pd128", "pc8", "c8c8pp", "d10", "c256"])
def test_valid_architectures_build_and_predict(arch):
    model = cnn.build_model(arch)
    proba = model.predict_proba(np.zeros((3, 28, 28)))
    assert proba.shape == (3, 10) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)


@pytest.mark.parametrize("arch,fragment", [
    ("", "empty"), ("   ", "empty"), ("c0", "from 1 to 256"), ("cp", "must be followed by a number"),
    ("x8", "unexpected character 'x'"), ("c8x", "at character 3: unexpected character 'x'"),
    ("c257", "from 1 to 256"), ("c08", "from 1 to 256"), ("ppppp", "below 1x1"),
    ("c8pc8pc8pc8", "at character 10: this layer would shrink the image below 1x1"),
    ("d8c8", "cannot follow a dense layer"),
    ("C8", "unexpected character 'C'"), ("c8 p", "unexpected character ' '"), ("d2000", "from 1 to 1024"),
    ("c1" * 13, "more than 12 layers"), (None, "empty"),
])
def test_invalid_architectures_raise_one_clear_error(arch, fragment):
    with pytest.raises(cnn.ArchError) as e:
        cnn.build_model(arch)
    assert fragment in str(e.value) and "c<N>" in str(e.value)


def test_same_seed_same_weights_and_history(subset):
    config = cnn.TrainConfig(epochs=1, n_train=256, batch_size=32, augment=True)
    runs = []
    for _ in range(2):
        model = cnn.build_model("c4p", seed=3)
        cnn.train(model, subset["x_train"], subset["y_train"], subset["x_test"][:200], subset["y_test"][:200], config)
        runs.append(model)
    for a, b in zip(runs[0].params, runs[1].params, strict=True):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert strip(runs[0].history) == strip(runs[1].history)


def test_prediction_writes_nothing_and_is_thread_safe(subset):
    model = cnn.build_model("c8pc8", seed=0)
    before = to_bytes(model)
    x = subset["x_test"][:64]
    expected = model.predict_proba(x)
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(model.predict_proba(x))
                cnn.saliency(model, x[0])
                model.feature_maps(x[:2])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert all(np.array_equal(r, expected) for r in results)
    assert to_bytes(model) == before


def test_uint8_and_float_inputs_agree(subset):
    model = cnn.build_model("c8p")
    x = subset["x_test"][:5]
    np.testing.assert_allclose(model.predict_proba(x), model.predict_proba(x / 255.0), atol=1e-6)
    with pytest.raises(ValueError, match="28, 28"):
        model.predict_proba(np.zeros((2, 20, 20)))


def test_feature_maps_and_filters_cover_every_layer():
    model = cnn.build_model("c4pc6pd8")
    maps = model.feature_maps(np.zeros((28, 28)))
    assert [(label, m.shape) for label, m in maps] == [
        ("c4: 26x26x4", (1, 26, 26, 4)), ("p: 13x13x4", (1, 13, 13, 4)),
        ("c6: 11x11x6", (1, 11, 11, 6)), ("p: 5x5x6", (1, 5, 5, 6))]
    assert [w.shape for _, w in model.filters()] == [(3, 3, 1, 4), (3, 3, 4, 6)]


def test_training_stops_when_the_callback_asks(subset):
    model = cnn.build_model("c4p")
    events = []

    def callback(event):
        events.append(event)
        return event["kind"] == "batch" and event["batch"] == 3

    history = cnn.train(model, subset["x_train"], subset["y_train"], subset["x_test"][:100], subset["y_test"][:100],
                        cnn.TrainConfig(epochs=3, n_train=640, batch_size=32), callback)
    assert len(history) == 1 and history[0]["complete"] is False
    assert [e["batch"] for e in events if e["kind"] == "batch"] == [1, 2, 3]


def test_divergence_restores_the_weights_and_says_what_to_do(subset):
    model = cnn.build_model("c4p", activation="none")
    before = model.get_weights()
    config = cnn.TrainConfig(epochs=1, n_train=1000, lr=10.0, optimizer="sgd")
    with pytest.raises(cnn.DivergenceError, match="smaller learning rate"):
        cnn.train(model, subset["x_train"], subset["y_train"], subset["x_test"][:50], subset["y_test"][:50], config)
    for p, saved in zip(model.params, before, strict=True):
        for k in p:
            np.testing.assert_array_equal(p[k], saved[k])


@pytest.mark.parametrize("change,fragment", [
    (dict(lr=0), "learning rate"), (dict(lr=float("nan")), "learning rate"), (dict(lr=1e9), "learning rate"),
    (dict(batch_size=0), "batch size"), (dict(batch_size=5000, n_train=1000), "batch size"),
    (dict(epochs=0), "epochs"), (dict(n_train=0), "training images"), (dict(seed=-1), "seed"),
    (dict(seed=2**40), "seed"), (dict(optimizer="rmsprop"), "optimizer"),
])
def test_bad_training_settings_are_refused(change, fragment):
    with pytest.raises(ValueError, match=fragment):
        cnn.TrainConfig(**change).validate()


def test_weights_round_trip(tmp_path, subset):
    model = cnn.build_model("c4pc4", activation="none", seed=5, input_offset=-0.5)
    cnn.train(model, subset["x_train"], subset["y_train"], subset["x_test"][:100], subset["y_test"][:100],
              cnn.TrainConfig(epochs=1, n_train=128, seed=5))
    path = tmp_path / "m.npz"
    cnn.save_model(model, path)
    loaded = cnn.load_model(path)
    assert (loaded.arch, loaded.activation, loaded.input_offset) == ("c4pc4", "none", -0.5)
    assert loaded.history == model.history and loaded.meta["settings"]["seed"] == 5
    x = subset["x_test"][:20]
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert not list(tmp_path.glob("*.tmp")), "the temporary file is renamed, never left behind"


@pytest.mark.parametrize("case", list(BAD_WEIGHTS))
def test_bad_weights_files_are_refused_clearly(case, tmp_path):
    data, fragment = BAD_WEIGHTS[case]
    path = tmp_path / "bad.npz"
    path.write_bytes(data)
    with pytest.raises(cnn.WeightsError, match=fragment):
        cnn.load_model(path)
    with pytest.raises(cnn.WeightsError, match=fragment):
        cnn.load_model(data)


def test_oversized_and_missing_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("cnn.files.weights.MAX_BYTES", 100)
    with pytest.raises(cnn.WeightsError, match="at most"):
        cnn.load_model(GOOD_WEIGHTS)
    with pytest.raises(cnn.WeightsError, match="cannot read"):
        cnn.load_model(tmp_path / "nothing.npz")


def test_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    cnn.save_model(cnn.build_model("c2p", seed=1), path)
    before = path.read_bytes()

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError):
        cnn.save_model(cnn.build_model("c2p", seed=2), path)
    assert path.read_bytes() == before and not list(tmp_path.glob(".*tmp"))


def test_engine_imports_no_streamlit():
    for path in (ROOT / "cnn").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] == "streamlit"], path


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)


def test_train_command_line(tmp_path):
    out = tmp_path / "m.npz"
    r = run_cli("cnn", "train", "--arch", "c4p", "--epochs", "1", "--n-train", "2000", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "epoch 1: train loss" in r.stderr and "test loss" in r.stderr
    assert cnn.load_model(out).history[0]["test_acc"] > 0.8


@pytest.mark.parametrize("args,fragment", [(["--arch", "c0"], "from 1 to 256"), (["--lr", "0"], "learning rate"),
                                           (["--batch-size", "0"], "batch size")])
def test_train_command_line_refuses_bad_settings(args, fragment):
    r = run_cli("cnn", "train", *args)
    assert r.returncode == 2 and fragment in r.stderr and "Traceback" not in r.stderr


def test_experiment_runs_end_to_end_on_a_tiny_setting(tmp_path):
    for protocol in ("origin", "full"):
        r = run_cli("cnn", "experiment", "--protocol", protocol, "--archs", "c4p", "--seeds", "1", "--epochs", "1",
                    "--n-train", "300", "--n-test", "200", "--out", str(tmp_path))
        assert r.returncode == 0, r.stderr
    results = json.loads((tmp_path / "experiment.json").read_text())
    for protocol in ("origin", "full"):
        run = results["protocols"][protocol]["runs"][0]
        assert run["arch"] == "c4p" and len(run["history"]) == 1
    model = cnn.load_model(tmp_path / "c4p.npz")
    assert model.history == results["protocols"]["full"]["runs"][0]["history"]
    _, _, x_test, y_test = cnn.load_mnist()                # the recorded accuracy is the saved model's, measured
    assert model.history[0]["test_acc"] == pytest.approx((model.predict(x_test[:200]) == y_test[:200]).mean())


def test_bench_prints_the_figures():
    r = run_cli("cnn", "bench", "--arch", "c4p", "--train-images", "640", "--repeats", "1", "--json")
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    for key in ("train_images_per_s", "infer_images_per_s", "predict_one_ms", "epoch_s"):
        assert figures[key] > 0
