"""Each rule has one home: the weights files' schema refuses exactly the training settings the engine refuses,
log-softmax is one function, and every atomic writer leaves nothing behind when a write fails."""
import dataclasses
import json

import numpy as np
import pytest

from cnn.engine.layers import log_softmax
from cnn.engine.training import TrainConfig
from cnn.files import metadata
from cnn.studies import experiment, study
from cnn.teach import calibration, evaluation

SETTINGS = [("batch_size", 600), ("batch_size", 60000), ("momentum", 1.0), ("lr_decay", 0.0), ("lr", 0.0),
            ("seed", 2**32), ("epochs", 0), ("n_train", 0), ("lr", float("nan")),
            ("lr", float("inf")), ("epochs", 10**400), ("lr", 10**400), ("epochs", 2.0), ("optimizer", "rmsprop"),
            ("batch_size", 512), ("momentum", 0.0), ("lr_decay", 1.0), ("lr", 10.0), ("seed", 2**32 - 1)]


@pytest.mark.parametrize("name, value", SETTINGS)
def test_the_weights_schema_allows_exactly_the_settings_training_allows(name, value):
    config = dataclasses.replace(TrainConfig(n_train=60000), **{name: value})
    try:
        config.validate()
        trains = True
    except ValueError:
        trains = False
    meta = {"format_version": metadata.FORMAT_VERSION, "arch": "c8p", "activation": "relu",
            "settings": dataclasses.asdict(config)}
    try:
        metadata.check(json.loads(json.dumps(meta)))                  # as read back from a file
        loads = True
    except ValueError as e:
        assert name in str(e)
        loads = False
    assert loads == trains


def test_the_loss_of_evaluation_and_calibration_is_the_engines_log_softmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 30, (50, 10))                              # large: a naive softmax overflows
    labels = rng.integers(0, 10, 50)
    expected = -log_softmax(logits)[np.arange(50), labels].mean()
    assert np.isfinite(expected)
    assert calibration.nll(logits, labels) == pytest.approx(expected, rel=1e-12)
    assert calibration.nll(logits, labels, 2.0) == pytest.approx(-log_softmax(logits / 2)[np.arange(50), labels].mean())

    class Fixed:                                                      # a model whose logits are given
        def logits(self, x):
            return logits
    assert evaluation.confusion(Fixed(), np.zeros((50, 28, 28)), labels)["loss"] == pytest.approx(expected)


@pytest.mark.parametrize("write", [lambda path: study.write_results([{"a": 1}], path),
                                   lambda path: experiment.write_json({"format": 1}, path)])
def test_a_failed_results_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, write):
    path = tmp_path / "results.json"
    path.write_text("old")
    def fail(*args):
        raise OSError("disk full")
    monkeypatch.setattr("os.fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        write(path)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["results.json"]
    monkeypatch.undo()
    write(path)
    assert path.read_text() != "old" and [p.name for p in tmp_path.iterdir()] == ["results.json"]
