"""Shared fixtures. MNIST_DIR points at the real data (../shared/mnist beside the repo) unless already set."""
import os
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "mnist"
os.environ.setdefault("MNIST_DIR", str(SHARED_MNIST))


def until(condition, seconds):
    """Wait up to `seconds` for condition() to be true; whether it became true."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="session")
def subset():
    """A small real MNIST subset committed to the repo: 1,000 training and 2,000 test images."""
    from cnn.data import FILES, load_subset
    return dict(zip(FILES, load_subset()))


# ---------------------------------------------------------------- app and browser fixtures (app.py, ui/, app_pages/)

def mock_experiment():
    """experiment.json in the documented format: two configurations x two seeds per protocol."""
    rng = np.random.default_rng(0)

    def run(arch, seed, epochs, base):
        history = [{"epoch": e, "train_loss": 1 / (e + base), "train_acc": 1 - 0.1 / (e + base),
                    "test_loss": 1.1 / (e + base) + rng.uniform(0, 0.02), "test_acc": 1 - 0.12 / (e + base)
                    - rng.uniform(0, 0.01), "seconds": 1.5 + rng.uniform(0, 0.2)} for e in range(1, epochs + 1)]
        return {"arch": arch, "seed": seed, "params": 1000 + 100 * base, "history": history}

    return {"format": 1, "protocols": {
        "origin": {"description": "1,000 images, one pass, batch 1.",
                   "runs": [run(a, s, 1, b) for a, b in (("c8p", 1), ("c16pc16", 2)) for s in (0, 1)]},
        "full": {"description": "60,000 images, 3 epochs.",
                 "runs": [run(a, s, 3, b) for a, b in (("c8p", 1), ("c16pc16", 2)) for s in (0, 1, 2)]}}}


def make_weights_dir(folder):
    """A weights folder: default.npz (c8p trained briefly on the committed subset) and experiment.json."""
    import json

    import cnn
    from cnn.data import load_subset
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train, x_test, y_test = load_subset()
    model = cnn.build_model("c8p", seed=0)
    cnn.train(model, x_train, y_train, x_test[:200], y_test[:200],
              cnn.TrainConfig(epochs=2, n_train=len(x_train), seed=0))
    cnn.save_model(model, folder / "default.npz")
    (folder / "experiment.json").write_text(json.dumps(mock_experiment()))
    return folder


@pytest.fixture(scope="session")
def app_weights(tmp_path_factory):
    return make_weights_dir(tmp_path_factory.mktemp("weights"))


@pytest.fixture
def app_env(app_weights, monkeypatch, tmp_path):
    """Point the app at the fixture weights folder and an empty data folder (the user's drawings), and run
    it from the repository root."""
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(app_weights))
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.chdir(ROOT)
    return app_weights
