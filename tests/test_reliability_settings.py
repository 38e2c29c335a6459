"""Reliability (issue 6): bad training settings, in the sidebar form and on the command line, and a run that
diverges; each with the message the user sees and nothing trained. Learning rate 0: tests/test_app.py."""

import numpy as np
import pytest

import cnn
from helpers import SUBSET, new_app, number, start_training, wait_for_training

# ---------------------------------------------------------------- bad training settings in the sidebar form

# Values the form accepts and TrainConfig.validate refuses: (widget values, message under the form).
# Learning rate 0 is in tests/test_app.py::test_invalid_settings_show_an_error.
REFUSED_SETTINGS = {
    "huge learning rate": ({"Learning rate": 1e9}, "learning rate must be a number above 0 and at most 10"),
    "learning rate above 10": ({"Learning rate": 10.5}, "learning rate must be a number above 0 and at most 10"),
    "batch larger than the training images": ({"Batch size": 400, "Training images": 300},
                                              "batch size must be at least 1 and at most the number of training"),
}


@pytest.mark.parametrize("case", list(REFUSED_SETTINGS))
def test_bad_settings_the_form_takes_are_refused_with_a_message(weights, case):
    values, message = REFUSED_SETTINGS[case]
    at = new_app()
    for label, value in values.items():
        number(at, label).set_value(value)
    at = start_training(at, arch_text="c2p", n_train=values.get("Training images", 300), source=SUBSET)
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any(e.startswith("**Settings:**") and message in e for e in errors), errors
    assert "job" not in at.session_state                              # nothing trains


# Values the widgets refuse: the browser's number input does not take them, and Streamlit resets a value outside
# [min, max] (or a non-finite float) that a client sends anyway to the widget's default.
WIDGET_BOUNDS = {   # label: (min, max, the form's default, values that must never reach TrainConfig)
    "Epochs": (1, 100, 1, [0, -3, 101]),
    "Batch size": (1, cnn.engine.training.MAX_BATCH, 64, [0, -64, cnn.engine.training.MAX_BATCH + 1]),
    "Learning rate": (0.0, None, 0.002, [-0.001, float("nan"), float("inf")]),
    "Training images": (1, 60000, 10000, [0, 60001]),
    "Seed": (0, cnn.engine.training.MAX_SEED, 0, [-1, 2**32, 2**40]),
}


def test_settings_outside_the_widget_bounds_never_reach_training(weights):
    at = new_app()
    for label, (low, high, default, _) in WIDGET_BOUNDS.items():
        assert (number(at, label).min, number(at, label).max, number(at, label).value) == (low, high, default)
    for label, (low, high, _, bad_values) in WIDGET_BOUNDS.items():
        for bad in bad_values:
            number(at, label).set_value(bad)
            at = start_training(at, arch_text="c0", n_train=bad if label == "Training images" else 300)
            assert not at.exception, (label, bad, at.exception)
            # what Start would have used: a value within bounds (the default, or the bad value clamped)
            value = number(at, label).value
            assert low <= value and (high is None or value <= high) and value < float("inf"), (label, bad, value)
            assert any("Architecture" in e.value for e in at.sidebar.error) and "job" not in at.session_state


# ---------------------------------------------------------------- divergence

def test_real_divergence_keeps_the_model_in_use_and_suggests_a_smaller_learning_rate(weights):
    at = new_app()
    in_use = at.session_state["model_key"]
    number(at, "Learning rate").set_value(10.0)                       # the largest rate the form takes
    next(s for s in at.sidebar.selectbox if s.label == "Optimizer").set_value("sgd")
    next(s for s in at.sidebar.selectbox if s.label == "Activation").set_value("none")
    at = wait_for_training(start_training(at, arch_text="c4p", n_train=1000, epochs=3, source=SUBSET))
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("diverged" in e and "Try a smaller learning rate than 10" in e for e in errors), errors
    assert any("c4p-1: failed" in s.label for s in at.sidebar.status)
    assert at.session_state["model_key"] == in_use                     # it diverged in epoch 1: nothing to keep
    assert "c4p-1" not in at.session_state["session_models"]
    job = at.session_state["job"]
    assert all(np.isfinite(a).all() for p in job.model.params for a in p.values())   # restored, never NaN


CLI_REFUSED = {      # python -m cnn train arguments: the message on stderr (a few more are in tests/test_engine.py)
    ("--lr", "nan"): "learning rate", ("--lr", "1e9"): "learning rate", ("--lr", "-0.1"): "learning rate",
    ("--epochs", "0"): "epochs", ("--n-train", "0"): "training images", ("--seed", "-1"): "seed",
    ("--seed", str(2**32)): "seed", ("--batch-size", "500", "--n-train", "100"): "batch size",
}


def test_bad_settings_on_the_command_line_exit_with_a_message_before_loading_anything(capsys, monkeypatch):
    from cnn import cli
    monkeypatch.setattr(cli, "load_mnist", lambda: pytest.fail("loaded MNIST despite bad settings"))
    for args, fragment in CLI_REFUSED.items():
        with pytest.raises(SystemExit) as stop:
            cli.main(["train", *args])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and err.startswith("error: ") and fragment in err, (args, err)
        assert "Traceback" not in err
