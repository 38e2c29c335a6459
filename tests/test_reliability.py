"""Reliability (issue 6) at the app level: bad input, faults and concurrency, each with the message the user sees.

The engine-level tables live in tests/test_engine.py (BAD_WEIGHTS: bad weights files; bad TrainConfig values;
divergence; a failed save) and are reused here through the app. Bad uploads: tests/test_app_learn.py; canvas
inputs: tests/test_preprocess.py; architecture strings: tests/test_arch_property.py. The load script is
tests/load_app.py; its quick variant and the browser fault tests are at the end of this file.
"""
import errno
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import cnn
from cnn.weights import save_model
from test_app import APP, TIMEOUT, start_training, wait_for_training
from test_engine import BAD_WEIGHTS
from ui import state
from ui.training import TrainingJob

ROOT = Path(__file__).resolve().parents[1]
SUBSET = "Committed subset (1,000 images)"
MNIST = "MNIST (60,000 images)"


@pytest.fixture
def weights(app_weights, tmp_path, monkeypatch):
    """A private copy of the fixture weights folder (default.npz, experiment.json) plus a "shipped" c8p.npz,
    at tmp_path/outside/weights, so that anything written beside or above the folder would show."""
    folder = tmp_path / "outside" / "weights"
    shutil.copytree(app_weights, folder)
    shutil.copy(folder / "default.npz", folder / "c8p.npz")
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.chdir(ROOT)
    return folder


def new_app(**session):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def number(at, label):
    return next(n for n in at.sidebar.number_input if n.label == label)


def tree(folder):
    """{relative path: bytes} of every file under folder."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- bad training settings in the sidebar form

# Values the form accepts and TrainConfig.validate refuses: (widget values, message under the form).
# Learning rate 0 is in tests/test_app.py::test_invalid_settings_show_an_error.
REFUSED_SETTINGS = {
    "huge learning rate": ({"Learning rate": 1e9}, "learning rate must be a number above 0 and at most 10"),
    "learning rate above 10": ({"Learning rate": 10.5}, "learning rate must be a number above 0 and at most 10"),
    "batch larger than the training images": ({"Batch size": 600, "Training images": 500},
                                              "batch size must be at least 1 and at most the number of training"),
    "batch larger than the whole subset": ({"Batch size": 5000, "Training images": 60000},
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
    "Batch size": (1, None, 64, [0, -64]),
    "Learning rate": (0.0, None, 0.002, [-0.001, float("nan"), float("inf")]),
    "Training images": (1, 60000, 10000, [0, 60001]),
    "Seed": (0, cnn.training.MAX_SEED, 0, [-1, 2**32, 2**40]),
}


def test_settings_outside_the_widget_bounds_never_reach_training(weights):
    at = new_app()
    for label, (low, high, default, _) in WIDGET_BOUNDS.items():
        assert (number(at, label).min, number(at, label).max, number(at, label).value) == (low, high, default)
    for label, (_, _, default, bad_values) in WIDGET_BOUNDS.items():
        for bad in bad_values:
            number(at, label).set_value(bad)
            at = start_training(at, arch_text="c0", n_train=bad if label == "Training images" else 300)
            assert not at.exception, (label, bad, at.exception)
            assert number(at, label).value == default, (label, bad)       # what Start would have used
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


# ---------------------------------------------------------------- damaged MNIST

def _mnist_copy(folder, damage):
    """The four shared MNIST files (symbolic links) in `folder`, then one damaged: -> the MNIST_DIR to use."""
    shared = Path(os.environ["MNIST_DIR"])
    folder.mkdir()
    for name, _, _ in cnn.data.FILES.values():
        (folder / f"{name}.gz").symlink_to(shared / f"{name}.gz")
    labels, test_labels = folder / "train-labels-idx1-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    if damage == "missing":
        test_labels.unlink()
    elif damage == "truncated":
        data = labels.read_bytes()
        labels.unlink()
        labels.write_bytes(data[:len(data) // 2])
    elif damage == "truncated raw":
        raw = gzip.decompress(test_labels.read_bytes())
        test_labels.unlink()
        (folder / "t10k-labels-idx1-ubyte").write_bytes(raw[:-100])
    elif damage == "corrupted":
        raw = bytearray(gzip.decompress(test_labels.read_bytes()))
        raw[5000] = (raw[5000] + 1) % 10                               # one label changed: still a valid file
        test_labels.unlink()
        test_labels.write_bytes(gzip.compress(bytes(raw)))
    elif damage == "wrong file":
        labels.unlink()
        labels.symlink_to(shared / "t10k-images-idx3-ubyte.gz")
    elif damage == "not a folder":
        (folder / "file").write_text("x")
        return folder / "file"
    return folder


BAD_MNIST = {           # damage: (what the message says is wrong, how it says to fix it)
    "missing": ("MNIST files missing: t10k-labels-idx1-ubyte", "To fix: set the environment variable MNIST_DIR"),
    "truncated": ("not a readable gzip file", "Delete or replace this file"),
    "truncated raw": ("the file is truncated", "Delete or replace this file"),
    "corrupted": ("MD5 checksum", "the file is corrupted"),
    "wrong file": ("wrong magic number 2051 (expected 2049)", "Delete or replace this file"),
    "not a folder": ("which is not a folder", "Set MNIST_DIR to the folder holding the four MNIST files"),
}


@pytest.fixture
def bad_mnist(tmp_path, monkeypatch):
    """-> damage(name): point MNIST_DIR at a damaged copy; downloads go to an empty cache and fail at once."""
    monkeypatch.setenv("CNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cnn.data, "MIRRORS", ("http://127.0.0.1:9/",))   # nothing listens: refused at once

    def damage(kind):
        monkeypatch.setenv("MNIST_DIR", str(_mnist_copy(tmp_path / "mnist", kind)))
    return damage


@pytest.mark.parametrize("damage", list(BAD_MNIST))
def test_damaged_mnist_says_what_is_wrong_and_never_trains(weights, bad_mnist, damage):
    what, fix = BAD_MNIST[damage]
    bad_mnist(damage)
    at = start_training(new_app(), arch_text="c4p", n_train=300, source=MNIST)
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("MNIST is not available" in e and what in e and fix in e for e in errors), errors
    assert "job" not in at.session_state                               # never trains on bad data
    assert any(b.label == "Train on the committed subset instead" for b in at.sidebar.button)


@pytest.mark.parametrize("damage", ["missing", "truncated", "corrupted"])
def test_damaged_mnist_on_the_evaluate_page_says_so_and_uses_the_committed_test_images(weights, bad_mnist, damage):
    what, fix = BAD_MNIST[damage]
    bad_mnist(damage)
    at = new_app()
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(what in e and fix in e and "Evaluating on the 2,000 test images committed" in e for e in errors), errors
    assert any(m.label == "Mistakes" and m.value.endswith("of 2,000") for m in at.metric)   # never the bad files


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


# ---------------------------------------------------------------- saving

BAD_NAMES = {           # name typed in "Save as": the reason given
    "../evil": "use 1 to 64 letters", "..": "use 1 to 64 letters", ".": "use 1 to 64 letters",
    "../../outside": "use 1 to 64 letters", "/tmp/evil": "use 1 to 64 letters", "a/b": "use 1 to 64 letters",
    "a\\b": "use 1 to 64 letters", "": "use 1 to 64 letters", "   ": "use 1 to 64 letters",
    "x" * 65: "use 1 to 64 letters", "x" * 10_000: "use 1 to 64 letters", ".hidden": "use 1 to 64 letters",
    "mine\n": None, "nul\x00byte": "use 1 to 64 letters", "ünïcode": "use 1 to 64 letters",
    "default": "name of a shipped model", "default.npz": "name of a shipped model", "c8p": "shipped model",
    "experiment": "shipped model", "c16pc16": "shipped model",     # shipped names, even where no file is there
    "theirs": "already exists and was not saved from this session",
}


def save(at, name):
    next(t for t in at.sidebar.text_input if t.label == "Save as").input(name)
    next(b for b in at.sidebar.button if b.label == "Save to weights/").click()
    return at.run()


def with_a_model(**kw):
    """The app with one model trained in this session (injected: no training thread needed)."""
    model = cnn.build_model("c2p", seed=7)
    return new_app(session_models={"mine": model}, **kw), model


def test_bad_save_names_are_refused_and_nothing_is_written_outside_the_folder(weights):
    (weights / "theirs.npz").write_bytes((weights / "default.npz").read_bytes())   # saved by someone else
    outside = weights.parent.parent
    before = tree(outside)
    at, _ = with_a_model()
    for name, reason in BAD_NAMES.items():
        at = save(at, name)
        assert not at.exception, (name, at.exception)
        if reason is None:                                               # trailing whitespace is trimmed
            assert any("Saved as weights/mine.npz" in s.value for s in at.sidebar.success)
            continue
        errors = [e.value for e in at.sidebar.error]
        assert any(e.startswith("Not saved:") and reason in e for e in errors), (name, errors)
    after = tree(outside)
    assert set(after) - set(before) == {"outside/weights/mine.npz"}           # the one good save, nothing else
    assert all(after[f] == data for f, data in before.items())          # shipped files unchanged, byte for byte
    assert not Path("/tmp/evil.npz").exists() and not Path("/tmp/evil").exists()


def test_an_unwritable_weights_folder_refuses_the_save_and_keeps_the_model(weights, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(blocker / "weights"))     # as root, chmod would not stop a write
    at, model = with_a_model()
    assert not at.exception, at.exception
    before = tree(tmp_path)
    at = save(at, "mine")
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("Not saved: cannot write to weights/" in e and "download it instead" in e for e in errors), errors
    assert at.session_state["session_models"]["mine"] is model
    assert at.sidebar.get("download_button")                             # the way out the message names
    assert tree(tmp_path) == before


@pytest.mark.parametrize("fault", ["os.replace", "os.fsync"])
def test_a_full_disk_leaves_the_previous_file_intact(weights, monkeypatch, fault):
    at, model = with_a_model()
    at = save(at, "mine")
    assert any("Saved as weights/mine.npz" in s.value for s in at.sidebar.success)
    previous = (weights / "mine.npz").read_bytes()
    model.params[0]["b"][...] = 1.0                                     # a different model under the same name

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fault, full)
    at = save(at, "mine")
    monkeypatch.undo()
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("Not saved: cannot write to weights/ (No space left on device)" in e for e in errors), errors
    assert (weights / "mine.npz").read_bytes() == previous
    assert not [p.name for p in weights.iterdir() if p.name.endswith(".tmp")]


def test_bad_files_in_the_weights_folder_are_listed_as_unusable_and_never_chosen(weights):
    for i, (data, _) in enumerate(BAD_WEIGHTS.values()):
        (weights / f"bad-{i:02d}.npz").write_bytes(data)
    leftovers = {".mine.npz.k2j4h1.tmp": b"PK\x03\x04half a file", "._default.npz": b"\x00\x05\x16\x07",
                 "mine.npz.tmp": b"", ".hidden.npz": b"PK"}
    for name, data in leftovers.items():
        (weights / name).write_bytes(data)
    at = new_app()
    assert not at.exception, at.exception
    picker = at.selectbox(key="model_picker_draw")
    assert picker.value == "file:default"
    labels = picker.options
    assert len(labels) == 2 + len(BAD_WEIGHTS)                          # default, c8p and the bad files only
    assert sum("(cannot be loaded)" in label for label in labels) == len(BAD_WEIGHTS)
    assert not [label for label in labels if "tmp" in label or label.startswith(".")]
    for key in ["file:bad-00", "file:bad-04", "file:bad-11"]:            # empty, pickled, NaN weights
        at = picker.set_value(key).run()
        assert not at.exception, at.exception
        assert any("This model cannot be used" in e.value and "Choose another model" in e.value for e in at.error)
        assert not at.metric
        picker = at.selectbox(key="model_picker_draw")
    at = picker.set_value("file:default").run()
    assert not at.exception and not at.error


def test_every_bad_weights_file_uploaded_is_refused_and_the_model_in_use_stays(weights):
    """The engine's table of bad files (tests/test_engine.py), each uploaded on the Draw page (the upload widget is
    tests/test_app_learn.py's), plus a file over the 50 MB limit; a good upload afterwards still works."""
    at = new_app()
    in_use = at.session_state["model_key"]
    too_big = b"PK\x03\x04" + bytes(cnn.weights.MAX_BYTES)
    for name, data in [*((f"{case}.npz", data) for case, (data, _) in BAD_WEIGHTS.items()), ("huge.npz", too_big)]:
        at = at.file_uploader(key="upload_model").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, (name, at.exception)
        errors = [e.value for e in at.error]
        expected = BAD_WEIGHTS[name[:-4]][1] if name != "huge.npz" else "weights files are at most 50 MB"
        assert any(e.startswith(f"Not loaded: {name}") and expected in e and "has not changed" in e
                   for e in errors), (name, errors)
        assert at.session_state["model_key"] == in_use and not at.session_state["session_models"]
    good = (weights / "default.npz").read_bytes()
    at = at.file_uploader(key="upload_model").set_value(("good.npz", good, "application/octet-stream")).run()
    assert not at.exception and at.session_state["model_key"] == "session:uploaded-good"


# ---------------------------------------------------------------- concurrency: saves, loads, two sessions

def test_concurrent_saves_and_loads_never_see_a_broken_file(tmp_path):
    """Four threads replace one file over and over while another loads it: every load gets a whole model."""
    path = tmp_path / "shared.npz"
    models = [cnn.build_model("c8pc8", seed=s) for s in range(4)]
    first_weights = {float(m.params[0]["W"].ravel()[0]) for m in models}
    save_model(models[0], path)
    done, problems, loads = threading.Event(), [], [0]

    def writer(model):
        try:
            for _ in range(25):
                save_model(model, path)
        except Exception as e:  # noqa: BLE001 - reported below
            problems.append(e)

    def reader():
        while not done.is_set():
            try:
                model = cnn.load_model(path)
                assert float(model.params[0]["W"].ravel()[0]) in first_weights
                loads[0] += 1
            except Exception as e:  # noqa: BLE001 - reported below
                problems.append(e)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(m,)) for m in models]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not problems, problems[:3]
    assert loads[0] > 10 and not list(tmp_path.glob("*.tmp")) and list(tmp_path.iterdir()) == [path]


def test_racing_first_saves_under_one_name_leave_exactly_one_winner(tmp_path, monkeypatch):
    """Eight sessions pass the name check at the same moment; only one file is created, the others are told."""
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(tmp_path))
    start, results = threading.Barrier(8), []

    def session(seed):
        model = cnn.build_model("c2p", seed=seed)
        path = state.check_save_name("same", set())                     # nobody has saved it yet
        start.wait()
        try:
            save_model(model, path, replace=False)
            results.append(seed)
        except FileExistsError:
            results.append(None)

    threads = [threading.Thread(target=session, args=(s,)) for s in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    winners = [s for s in results if s is not None]
    assert len(results) == 8 and len(winners) == 1
    loaded = cnn.load_model(tmp_path / "same.npz")
    np.testing.assert_array_equal(loaded.params[0]["W"], cnn.build_model("c2p", seed=winners[0]).params[0]["W"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.npz"]


def test_two_sessions_train_at_once_and_save_under_one_name(weights):
    """Two app sessions (two AppTests, as two browser tabs) train at the same time, then both save as "shared":
    one file, complete; the second session is told and saves under another name. (AppTest scripts cannot run in
    parallel threads, so the saves are back to back; the race itself: the test above and the browser test below.)"""
    sessions = [new_app(), new_app()]
    for at in sessions:
        number(at, "Batch size").set_value(1)                             # long runs: stopped below
    sessions = [start_training(at, arch_text="c4p", n_train=1000, epochs=100, source=SUBSET) for at in sessions]
    assert not any(at.session_state["job"].done for at in sessions)     # both train at once
    for at in sessions:                                                  # Stop keeps what each has learned
        next(b for b in at.sidebar.button if b.label == "Stop").click().run()
    sessions = [wait_for_training(at) for at in sessions]
    first, second = [save(at, "shared") for at in sessions]
    assert not first.exception and not second.exception
    assert any("Saved as weights/shared.npz" in s.value for s in first.sidebar.success)
    errors = [e.value for e in second.sidebar.error]
    assert any(e.startswith("Not saved:") and "shared.npz already exists" in e for e in errors), errors
    loaded = cnn.load_model(weights / "shared.npz")
    mine = first.session_state["session_models"]["c4p-1"]
    np.testing.assert_array_equal(loaded.params[0]["W"], mine.params[0]["W"])
    second = save(second, "shared-2")                                   # and both keep working
    assert any("Saved as weights/shared-2.npz" in s.value for s in second.sidebar.success)
    first = save(first, "shared")                                       # its own file: may be replaced
    assert any("Saved as weights/shared.npz" in s.value for s in first.sidebar.success)
    for at in (first, second):
        at.switch_page("app_pages/inside.py").run()
        assert not at.exception and at.metric[0].label == "Prediction"
    assert not [p for p in weights.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- faults: a killed save, an abandoned run

KILLED_SAVER = """
import os, sys, time
import cnn
from cnn.weights import save_model
path, mode = sys.argv[1:]
models = [cnn.build_model("c32pc64pd256", seed=s) for s in range(2)]
save_model(models[0], path)
if mode == "stall":              # stop for good between writing the temporary file and renaming it
    os.replace = lambda *args: (print("stalled", flush=True), time.sleep(60))
print("ready", flush=True)
i = 1
while True:                      # save as fast as it can until killed
    save_model(models[i % 2], path)
    i += 1
"""


def kill_saver(target, mode, delay=0.0):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(target), mode], cwd=ROOT,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == b"ready"
        if mode == "stall":
            assert proc.stdout.readline().strip() == b"stalled"
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_a_server_killed_during_saves_leaves_a_whole_file_and_the_app_ignores_leftovers(weights):
    """SIGKILL the process that saves (as the app's server does) in the middle of a save: once exactly between
    writing the temporary file and renaming it, then at random moments while it saves a ~2 MB model over and
    over. The file is always one complete model, and leftover temporary files are never listed by the app."""
    target = weights / "killed.npz"
    kill_saver(target, "stall")
    assert cnn.load_model(target).params[0]["W"].ravel()[0] == cnn.build_model("c32pc64pd256").params[0]["W"].ravel()[0]
    assert len(list(weights.glob(".killed.npz.*.tmp"))) == 1            # the stalled save's whole temporary file
    for delay in np.random.default_rng(0).uniform(0.02, 0.3, size=3):
        kill_saver(target, "loop", delay)
        assert cnn.load_model(target).arch == "c32pc64pd256"
    print(f"temporary files left by 4 kills: {len(list(weights.glob('.killed.npz.*.tmp')))}")
    assert set(state.weight_files()) == {"default", "c8p", "killed"}    # leftovers are never listed
    at = new_app()
    assert not at.exception
    assert [o.split(" ")[0] for o in at.selectbox(key="model_picker_draw").options] == ["default", "c8p", "killed"]


def test_a_training_run_whose_tab_is_gone_stops_by_itself(monkeypatch):
    """Closing (or reloading) the tab drops the session, not its training thread: the run notices the session
    is gone and stops after ORPHAN_SECONDS, keeping what it learned, so abandoned runs do not eat the CPU."""
    from cnn.data import load_subset
    monkeypatch.setattr("ui.training.ORPHAN_SECONDS", 0.3)
    connected = threading.Event()
    connected.set()
    x_train, y_train, x_test, y_test = load_subset()
    config = cnn.TrainConfig(epochs=100, n_train=1000, batch_size=1)
    job = TrainingJob("t", cnn.build_model("c4p"), (x_train, y_train, x_test[:100], y_test[:100]), config,
                      alive=connected.is_set).start()
    time.sleep(0.5)
    assert not job.done                                    # connected: keeps training
    connected.clear()                                      # the tab is closed
    assert job.wait(timeout=10) and job.snapshot()["status"] == "stopped"
    assert len(job.model.history) < 100 and job.model.history[-1]["complete"] is False


# ---------------------------------------------------------------- in a real browser (../shared/browser-testing.md)

needs_chromium = pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not os.environ.get("CI"),
                                    reason="/usr/bin/chromium is missing (install Debian's chromium); required in CI")


@pytest.fixture
def chromium():
    """One headless Chromium; each browser context in it is a separate user (a Streamlit session)."""
    from playwright.sync_api import sync_playwright
    from load_app import ARGS
    from test_browser import CHROMIUM
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield lambda: browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        browser.close()


@pytest.fixture
def server(weights):
    """`streamlit run app.py` on the private weights folder; -> a function (re)starting it. Stopped at the end."""
    from test_browser import start_server, stop_server
    procs = []

    def start():
        proc, url, _ = start_server({"CNN_ORPHAN_SECONDS": "1"})         # env: CNN_WEIGHTS_DIR from `weights`
        procs.append(proc)
        return proc, url
    yield start
    for proc in procs:
        stop_server(proc)


def sidebar_form(page, arch, **numbers):
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("textbox", name="…or type your own").fill(arch)
    for name, value in numbers.items():
        sidebar.get_by_role("spinbutton", name=name).fill(str(value))
    sidebar.get_by_text(SUBSET).click()
    return sidebar


def niced_threads(pid):
    """Threads of the server running at nice 10: the training threads (ui/training.py lowers their priority)."""
    count = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            count += stat.read_text().rsplit(")", 1)[1].split()[16] == "10"
        except OSError:                                                  # the thread just ended
            pass
    return count


BROWSER_BOUNDS = [     # (field, value typed, the message the browser shows under the field)
    ("Epochs", 0, "between 1 and 100"), ("Epochs", 101, "between 1 and 100"),
    ("Batch size", 0, "greater than or equal to 1"), ("Learning rate", -1, "greater than or equal to 0"),
    ("Seed", -1, "between 0 and 4294967295"), ("Seed", 2**32, "between 0 and 4294967295"),
    ("Training images", 0, "between 1 and 60000"),
]


@pytest.mark.browser
@needs_chromium
def test_out_of_range_settings_are_refused_by_the_form_in_the_browser(server, chromium):
    from playwright.sync_api import expect
    from test_browser import open_app
    url = server()[1]
    page = chromium()
    open_app(page, url)
    sidebar = sidebar_form(page, "c2p", **{"Training images": 300})
    for name, value, message in BROWSER_BOUNDS:
        box = sidebar.get_by_role("spinbutton", name=name)
        good = box.input_value()
        box.fill(str(value))
        sidebar.get_by_role("button", name="Start training").click()
        expect(sidebar.get_by_text(f"Please enter a value {message}")).to_be_visible()
        box.fill(good)
    page.wait_for_timeout(500)
    assert page.get_by_text("Training c2p").count() == 0                # nothing was submitted


@pytest.mark.browser
@needs_chromium
def test_two_browser_sessions_train_and_save_under_one_name_then_a_tab_closes_and_the_server_dies(
        server, chromium, weights):
    """Two users train at once and save under one name: one file, complete; the other user is told, saves under
    another name, and both keep drawing. A third user closes the tab mid-training: the run stops by itself.
    Then the server is killed (SIGKILL) and restarted: every saved model is whole and listed, nothing half-written."""
    from playwright.sync_api import expect
    from test_browser import DIGITS, draw, open_app, prediction
    proc, url = server()
    users = [chromium(), chromium()]
    for page in users:
        open_app(page, url)
        sidebar_form(page, "c4p", **{"Epochs": 2, "Training images": 1000, "Batch size": 16})
    for page in users:                                                   # both start, then both train at once
        page.get_by_test_id("stSidebar").get_by_role("button", name="Start training").click()
    for page in users:
        expect(page.get_by_test_id("stSidebar").get_by_text("c4p-1: done")).to_be_visible(timeout=60_000)
    for page in users:                                                   # both save as "shared", back to back
        page.get_by_test_id("stSidebar").get_by_role("textbox", name="Save as").fill("shared")
    for page in users:
        page.get_by_test_id("stSidebar").get_by_role("button", name="Save to weights/").click()
    outcome = []
    for page in users:
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Saved as weights/shared.npz").or_(sidebar.get_by_text("Not saved"))).to_be_visible()
        outcome.append(sidebar.get_by_text("Saved as weights/shared.npz").count() == 1)
    assert sorted(outcome) == [False, True]
    assert cnn.load_model(weights / "shared.npz").arch == "c4p"
    loser = users[outcome.index(False)].get_by_test_id("stSidebar")
    loser.get_by_role("textbox", name="Save as").fill("shared-b")
    loser.get_by_role("button", name="Save to weights/").click()
    expect(loser.get_by_text("Saved as weights/shared-b.npz")).to_be_visible()
    for page, digit in zip(users, "17"):                                 # both keep working
        draw(page, DIGITS[digit])
        expect(prediction(page)).to_have_text(re.compile(r"^[0-9]$"), timeout=15_000)
        assert page.locator('[data-testid="stException"]').count() == 0

    leaver = chromium()                                                  # a user who closes the tab mid-run
    open_app(leaver, url)
    sidebar_form(leaver, "c4p", **{"Epochs": 100, "Training images": 1000, "Batch size": 1})
    leaver.get_by_test_id("stSidebar").get_by_role("button", name="Start training").click()
    expect(leaver.get_by_test_id("stSidebar").get_by_text("Training c4p-1")).to_be_visible(timeout=15_000)
    assert niced_threads(proc.pid) > 0
    leaver.context.close()
    deadline = time.monotonic() + 20                                     # CNN_ORPHAN_SECONDS=1, then one batch
    while niced_threads(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert niced_threads(proc.pid) == 0, "the abandoned run is still training"
    assert urllib.request.urlopen(url + "/_stcore/health", timeout=5).status == 200

    proc.send_signal(signal.SIGKILL)                                     # the server dies without any cleanup
    proc.wait()
    assert not [p.name for p in weights.iterdir() if p.name.endswith(".tmp")]
    assert {p.stem: cnn.load_model(p).arch for p in weights.glob("*.npz")} == \
        {"default": "c8p", "c8p": "c8p", "shared": "c4p", "shared-b": "c4p"}
    _, url = server()                                                    # restarted on the same folder
    page = chromium()
    open_app(page, url)
    page.get_by_test_id("stMain").get_by_role("combobox", name="Model").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(4)
    assert [t.split(" ")[0] for t in options.all_inner_texts()] == ["default", "c8p", "shared", "shared-b"]


@pytest.mark.browser
@needs_chromium
def test_load_five_sessions_drawing_at_once(weights):
    """The quick variant of tests/load_app.py (20 sessions there): 5 users drawing 3 digits each, all at once."""
    r = subprocess.run([sys.executable, "tests/load_app.py", "--sessions", "5", "--strokes", "3", "--pause", "0.5",
                        "--ramp", "0.3", "--deadline", "60", "--json"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    figures = json.loads(r.stdout.splitlines()[-1])
    print(figures)
    assert figures["errors"] == [] and figures["opened"] == 5 and figures["n"] == 15
    assert figures["median_s"] < 1.0 and figures["server_alive"]
